"""Bearer tokens: verifying them (tokens.py) with the keys that sign them (keys.py)."""
