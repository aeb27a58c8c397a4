"""The migrations build exactly the tables the models describe, both ways."""

import asyncio
import io
import os
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Connection, Integer, Table, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from {{ cookiecutter.project_slug }}.core.database.schema_revision import (
    Revisions,
)
from {{ cookiecutter.project_slug }}.core.database.session import (
    database_url as parse_url,
)
from {{ cookiecutter.project_slug }}.models import Base
from {{ cookiecutter.project_slug }}.models.base import UTCDateTime

from tests.support.migrations import PROJECT, alembic_config

PACKAGE = PROJECT / "{{ cookiecutter.project_slug }}"
VERSIONS = PACKAGE / "migrations" / "versions"


def differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    found: list[Any] = compare_metadata(context, Base.metadata)
    return found


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_the_models_and_the_migrations_agree(database_url: str) -> None:
    """Fails when a model changed without a migration: `make migration`."""
    engine = create_async_engine(parse_url(database_url))
    async with engine.connect() as connection:
        diff = await connection.run_sync(differences)
    await engine.dispose()

    assert diff == [], "run `make migration MSG=...` for these model changes"


async def test_every_migration_goes_down_and_up_again(database_url: str) -> None:
    config = alembic_config(database_url)
    engine = create_async_engine(parse_url(database_url))
    try:
        # alembic runs its own event loop: in a thread of its own here.
        await asyncio.to_thread(command.downgrade, config, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(table_names) <= {"alembic_version"}

        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as connection:
            tables = await connection.run_sync(table_names)
        assert tables == {"alembic_version", *Base.metadata.tables}
    finally:
        await engine.dispose()


def test_alembic_prints_the_sql_offline(database_url: str) -> None:
    """`alembic upgrade head --sql`, as the alembic command runs it."""
    config = alembic_config(database_url)
    config.cmd_opts = Namespace()  # the command's own logging setup too
    config.output_buffer = io.StringIO()

    command.upgrade(config, "head", sql=True)

    assert "CREATE TABLE alembic_version" in config.output_buffer.getvalue()


def new_revision(url: str, tmp_path: Path, rev_id: str | None = None) -> Path:
    """`make migration` on the database `url` names, for a table added to the
    models for the test: the new revision, written to `tmp_path`."""
    config = alembic_config(url)
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations", os.pathsep.join(map(str, (VERSIONS, tmp_path)))
    )
    if rev_id is not None:  # as `alembic revision --rev-id` gives it
        config.cmd_opts = Namespace(rev_id=rev_id)
    table = Table(
        "scratch_events",
        Base.metadata,
        Column("id", Integer, primary_key=True),
        Column("happened_at", UTCDateTime, nullable=False),
    )
    try:
        command.revision(
            config,
            "add events",
            autogenerate=True,
            version_path=str(tmp_path),
            rev_id=rev_id,
        )
    finally:
        Base.metadata.remove(table)
    (written,) = tmp_path.glob("rev_*.py")
    return written


def test_make_migration_numbers_the_revision_after_the_newest(
    database_url: str, tmp_path: Path
) -> None:
    newest = max(Revisions.of(VERSIONS).known)
    following = f"{int(newest) + 1:04d}"

    written = new_revision(database_url, tmp_path)

    assert written.name == f"rev_{following}_add_events.py"
    source = written.read_text(encoding="utf-8")
    assert f'revision: str = "{following}"' in source
    # The models' own column type is written as the type it stores.
    assert "sa.DateTime(timezone=True)" in source
    assert "{{ cookiecutter.project_slug }}" not in source


@pytest.mark.usefixtures("restore_logging")  # the command sets up its logging
def test_a_revision_id_given_on_the_command_line_is_kept(
    database_url: str, tmp_path: Path
) -> None:
    written = new_revision(database_url, tmp_path, rev_id="0042")

    assert written.name == "rev_0042_add_events.py"
