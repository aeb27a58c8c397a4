"""Placeholder until CORS lands (being written)."""

from quart import Quart


def init_cors(app: Quart) -> None:
    """Answer CORS for CORS_ALLOWED_ORIGINS, when any is set."""
