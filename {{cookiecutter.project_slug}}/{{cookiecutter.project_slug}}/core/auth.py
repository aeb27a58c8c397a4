"""Placeholder until bearer-token authentication lands (being written)."""

from quart import Quart


def init_auth(app: Quart) -> None:
    """Require a valid bearer token on every endpoint but the public ones."""
