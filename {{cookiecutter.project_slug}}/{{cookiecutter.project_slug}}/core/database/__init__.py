"""The database: the engine and the session of each request (session.py), and
whether the schema has every migration the code ships (schema_revision.py)."""
