"""Placeholder until the in-service rate limit lands (being written)."""

from quart import Quart


def init_rate_limits(app: Quart) -> None:
    """Limit each client address's requests, when RATE_LIMIT_REQUESTS is set."""
