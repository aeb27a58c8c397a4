"""A database behind the code's migrations: /readyz says so and what to run,
and a request that meets a missing table is a 503 that says so."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
from alembic import command
from quart import Blueprint, Quart
from quart.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.database.schema_revision import (
    MigrationsPendingError,
    Revisions,
    is_missing_schema,
)
from {{ cookiecutter.project_slug }}.core.database.session import db_session
from {{ cookiecutter.project_slug }}.views import blueprints

from tests.support.migrations import PROJECT, alembic_config

PACKAGE = PROJECT / "{{ cookiecutter.project_slug }}"
VERSIONS = PACKAGE / "migrations" / "versions"
HEAD = max(Revisions.of(VERSIONS).heads)

broken = Blueprint("broken", __name__)


@broken.get("/unmigrated")
async def unmigrated() -> ResponseReturnValue:
    # A table no migration has made yet.
    await db_session().execute(text("SELECT * FROM not_migrated_yet"))
    return {}


@broken.get("/broken-sql")
async def broken_sql() -> ResponseReturnValue:
    # A placeholder with no value: the driver's ProgrammingError, a bug.
    await db_session().execute(text("SELECT ?"))
    return {}


async def downgrade(database_url: str, revision: str) -> None:
    # alembic runs its own event loop: in a thread of its own here.
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), revision)


@pytest.fixture
async def behind(database_url: str) -> AsyncIterator[Quart]:
    """An app on the test database with no migration applied (restored after)."""
    await downgrade(database_url, "base")
    app = create_app(blueprints=[*blueprints, broken], TESTING=True)
    try:
        async with app.test_app():
            yield app
    finally:
        await asyncio.to_thread(command.upgrade, alembic_config(database_url), "head")


async def test_readyz_says_no_migration_is_applied_and_what_to_run(
    behind: Quart,
) -> None:
    response = await behind.test_client().get("/readyz")

    assert response.status_code == 503
    reason = (await response.get_json())["checks"]["database"]
    assert "no migration applied" in reason
    assert HEAD in reason
    assert "make migrate" in reason


async def test_readyz_fails_a_database_one_revision_behind(
    database_url: str,
) -> None:
    await downgrade(database_url, "-1")
    try:
        app = create_app(TESTING=True)
        async with app.test_app():
            response = await app.test_client().get("/readyz")
    finally:
        await asyncio.to_thread(command.upgrade, alembic_config(database_url), "head")

    assert response.status_code == 503
    reason = (await response.get_json())["checks"]["database"]
    assert f"{HEAD} needed: run `make migrate`" in reason


class Rows:
    def __init__(self, *values: str) -> None:
        self.values = values

    def scalars(self) -> tuple[str, ...]:
        return self.values


class AtRevision:
    """A connection to a database whose alembic_version holds `values`."""

    def __init__(self, *values: str) -> None:
        self.values = values

    async def execute(self, *_: object) -> Rows:
        return Rows(*self.values)


@pytest.mark.parametrize(
    ("applied", "reason"),
    [
        ((), "no migration applied, 0003 needed"),
        (("0001",), "at revision 0001, 0003 needed"),
        (("0002",), "at revision 0002, 0003 needed"),
        (("0003",), None),
        (("0004",), None),  # newer than the code: a newer release migrated it
    ],
)
async def test_the_check_names_where_the_database_is_and_what_it_needs(
    applied: tuple[str, ...], reason: str | None
) -> None:
    revisions = Revisions(frozenset({"0001", "0002", "0003"}), frozenset({"0003"}))
    connection = cast(AsyncConnection, AtRevision(*applied))

    if reason is None:
        await revisions.check(connection)
    else:
        with pytest.raises(MigrationsPendingError, match=reason):
            await revisions.check(connection)


async def run_sql(app: Quart, statement: str) -> None:
    async with app.test_request_context("/"):
        await db_session().execute(text(statement))
        await db_session().commit()


async def test_a_database_without_alembics_table_is_not_ready(app: Quart) -> None:
    await run_sql(app, "ALTER TABLE alembic_version RENAME TO alembic_version_kept")
    try:
        response = await app.test_client().get("/readyz")
    finally:
        await run_sql(app, "ALTER TABLE alembic_version_kept RENAME TO alembic_version")

    assert response.status_code == 503
    assert "no migration applied" in (await response.get_json())["checks"]["database"]


async def test_a_missing_table_is_a_503_that_says_migrations_are_pending(
    behind: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    response = await behind.test_client().get("/unmigrated")

    assert response.status_code == 503
    body = await response.get_json()
    assert body["message"] == (
        "the database schema is behind the service: migrations not applied"
    )
    assert "make migrate" in caplog.text
    assert not [record for record in caplog.records if record.exc_info]


async def test_another_programming_error_stays_a_500_with_its_traceback(
    behind: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    response = await behind.test_client().get("/broken-sql")

    assert response.status_code == 500
    assert (await response.get_json())["error"] == "Internal Server Error"
    assert [record for record in caplog.records if record.exc_info]


async def set_revision(app: Quart, revision: str) -> None:
    async with app.test_request_context("/"):
        await db_session().execute(
            text("UPDATE alembic_version SET version_num = :revision"),
            {"revision": revision},
        )
        await db_session().commit()


async def test_a_database_ahead_of_the_code_is_ready(app: Quart) -> None:
    """A newer release migrated it first (a rolling deploy): still ready."""
    await set_revision(app, "9999")
    try:
        response = await app.test_client().get("/readyz")
    finally:
        await set_revision(app, HEAD)

    assert response.status_code == 200


def write(folder: Path, name: str, source: str) -> None:
    (folder / name).write_text(source, encoding="utf-8")


def test_revisions_are_read_from_the_files_without_importing_them(
    tmp_path: Path,
) -> None:
    write(tmp_path, "a.py", 'revision = "a"\ndown_revision = None\n')
    write(tmp_path, "b.py", 'revision: str = "b"\ndown_revision: str | None = "a"\n')
    write(tmp_path, "c.py", 'revision = "c"\ndown_revision = "a"\nraise SystemExit\n')
    write(tmp_path, "m.py", 'revision = "m"\ndown_revision = ("b", "c")\n')
    write(tmp_path, "x.py", "revision = make_one()\nimport os\n")
    write(tmp_path, "notes.txt", 'revision = "n"\n')

    revisions = Revisions.of(tmp_path)

    assert revisions.known == {"a", "b", "c", "m"}
    assert revisions.heads == {"m"}


def test_the_shipped_migrations_have_one_head() -> None:
    assert Revisions.of(VERSIONS).heads == {HEAD}


class DriverError(Exception):
    """A driver's error, as SQLAlchemy wraps it (`DBAPIError.orig`)."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("orig", "missing"),
    [
        (DriverError("no such table: items"), True),
        (DriverError("no such column: items.created_at"), True),
        (DriverError("table items has no column named created_at"), True),
        (DriverError('relation "items" does not exist', "42P01"), True),
        (DriverError('column "created_at" does not exist', "42703"), True),
        (DriverError("syntax error", "42601"), False),
        (DriverError("database is locked"), False),
    ],
)
def test_a_missing_table_or_column_is_told_from_other_errors(
    orig: DriverError, missing: bool
) -> None:
    assert is_missing_schema(DBAPIError("SELECT", {}, orig)) is missing


class FailingConnection:
    async def execute(self, *_: object) -> None:
        raise DBAPIError("SELECT", {}, DriverError("disk I/O error"))


async def test_another_database_error_fails_the_check_as_it_is() -> None:
    revisions = Revisions.of(VERSIONS)
    connection = cast(AsyncConnection, FailingConnection())

    with pytest.raises(DBAPIError, match="disk I/O error"):
        await revisions.check(connection)
