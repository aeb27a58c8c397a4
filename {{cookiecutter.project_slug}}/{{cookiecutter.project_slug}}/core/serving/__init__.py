"""Serving: readiness and draining on SIGTERM (lifecycle.py) and the /healthz
and /readyz probes (probes.py)."""
