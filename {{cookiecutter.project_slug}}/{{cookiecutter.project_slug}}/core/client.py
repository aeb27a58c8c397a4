"""Placeholder until the outgoing client lands (being written)."""

from quart import Quart


def init_client(app: Quart) -> None:
    """Create the app's outgoing HTTP client when serving starts."""
