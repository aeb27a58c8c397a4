"""PostgreSQL: the asyncpg driver, and a bounded wait for a new connection."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ..settings import Settings

DRIVER = "postgresql+asyncpg"
# The driver a URL that names none gets.
ASYNC_DRIVERS = {"postgresql": DRIVER, "postgres": DRIVER}


def engine_options(settings: Settings) -> dict[str, Any]:
    """asyncpg waits 60 s for an unreachable host by default:
    DATABASE_CONNECT_TIMEOUT bounds the wait."""
    return {"connect_args": {"timeout": settings.DATABASE_CONNECT_TIMEOUT}}


def prepare(engine: AsyncEngine) -> None:
    """PostgreSQL's connections need no setting up."""
