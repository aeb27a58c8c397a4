"""Whether the database has every migration the code ships.

`Revisions.of(path)` reads the revision ids from the migration files, without
importing them; `Revisions.check(connection)` raises `MigrationsPendingError`
while the database is behind (a newer, unknown revision passes, as in a
rolling deploy); `is_missing_schema(error)` tells a missing table or column
from other database errors.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

MIGRATE = "run `make migrate` (alembic upgrade head)"
# SQLite's messages for a missing table or column, and PostgreSQL's SQLSTATEs
# (undefined_table, undefined_column).
SQLITE_MISSING = ("no such table", "no such column", "has no column named")
POSTGRESQL_MISSING = ("42P01", "42703")


class MigrationsPendingError(Exception):
    """The database lacks migrations the code ships."""


def is_missing_schema(error: DBAPIError) -> bool:
    """Whether `error` is a table or column the migrations would create."""
    if getattr(error.orig, "sqlstate", None) in POSTGRESQL_MISSING:
        return True
    return any(phrase in str(error.orig) for phrase in SQLITE_MISSING)


@dataclass(frozen=True)
class Revisions:
    """The revisions the code ships, and the newest ones (the heads)."""

    known: frozenset[str]
    heads: frozenset[str]

    @classmethod
    def of(cls, versions: Path) -> Revisions:
        """The revisions of the migration files in `versions`."""
        parents: dict[str, tuple[str, ...]] = {}
        for path in versions.glob("*.py"):
            values = _assignments(path)
            revision, down = values.get("revision"), values.get("down_revision")
            if isinstance(revision, str):
                parents[revision] = _revision_ids(down)
        replaced = {parent for found in parents.values() for parent in found}
        return cls(frozenset(parents), frozenset(parents.keys() - replaced))

    async def check(self, connection: AsyncConnection) -> None:
        """Raise MigrationsPendingError while the database is behind the code."""
        try:
            result = await connection.execute(
                text("SELECT version_num FROM alembic_version")
            )
        except DBAPIError as error:
            if not is_missing_schema(error):
                raise
            applied: set[str] = set()
        else:
            applied = set(result.scalars())
        if applied - self.known or applied == self.heads:
            return
        at = ", ".join(sorted(applied)) or None
        newest = ", ".join(sorted(self.heads))
        state = f"at revision {at}" if at else "no migration applied"
        raise MigrationsPendingError(f"{state}, {newest} needed: {MIGRATE}")


def _revision_ids(value: object) -> tuple[str, ...]:
    """A down_revision: None, one id, or the ids a merge revision joins."""
    if isinstance(value, str):
        return (value,)
    return tuple(value) if isinstance(value, tuple | list) else ()


def _assignments(path: Path) -> dict[str, object]:
    """The module-level names `path` assigns literal values to."""
    values: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target = getattr(node, "target", None) or next(
            iter(getattr(node, "targets", ())), None
        )
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and value is not None:
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    return values
