"""SQLite: the aiosqlite driver; foreign keys enforced and the write-ahead log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from ..settings import Settings

DRIVER = "sqlite+aiosqlite"
# The driver a URL that names none gets.
ASYNC_DRIVERS = {"sqlite": DRIVER}


def engine_options(settings: Settings) -> dict[str, Any]:
    """SQLite's engine takes the pool's options only."""
    return {}


def prepare(engine: AsyncEngine) -> None:
    """Set each new connection up as `pragmas` says."""
    event.listen(engine.sync_engine, "connect", pragmas)


def pragmas(connection: Any, _record: Any) -> None:
    """Enforce foreign keys (off by default in SQLite), and let readers
    proceed while one request writes (write-ahead log)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()
