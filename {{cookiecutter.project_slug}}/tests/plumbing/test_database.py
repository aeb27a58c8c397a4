"""The data layer's plumbing: the engine's lifetime, DATABASE_URL, the unit of
work per request, readiness, and an unreachable database as a JSON 503."""

{% if cookiecutter.database == 'sqlite' -%}
import asyncio
import threading
{% endif -%}
from collections.abc import AsyncIterator

import pytest
from quart import Blueprint, Quart, abort, current_app, g, request
from quart.typing import ResponseReturnValue
from quart.typing import TestClientProtocol as Client
from sqlalchemy import String, delete, func, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import QueuePool

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.database.session import (
    SESSION,
    close_session,
    database,
    database_url,
    db_session,
)
from {{ cookiecutter.project_slug }}.core.settings import (
    SettingsError,
    load_settings,
)
from {{ cookiecutter.project_slug }}.views import blueprints

SECRET = "s3cret-pa55word"
{%- if cookiecutter.database == 'sqlite' %}
# A database that cannot be opened: its directory does not exist.
UNREACHABLE = "sqlite+aiosqlite:////nonexistent/directory/data.sqlite3"
{%- else %}
# A database nobody serves: port 1 refuses every connection.
UNREACHABLE = f"postgresql+asyncpg://service:{SECRET}@127.0.0.1:1/service"
{%- endif %}


class ScratchBase(DeclarativeBase):
    """Apart from models.Base: the migrations and their drift test never see
    the tests' own table, and the tests do not depend on the example."""


class Note(ScratchBase):
    __tablename__ = "unit_of_work_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


# Views that exist only in these tests, to end a unit of work each way.
units = Blueprint("units", __name__)


@units.get("/notes")
async def count() -> ResponseReturnValue:
    return {"notes": await db_session().scalar(select(func.count(Note.id)))}


@units.post("/saved")
async def saved() -> ResponseReturnValue:
    db_session().add(Note(name="saved"))
    return {}, 201


@units.post("/refused")
async def refused() -> ResponseReturnValue:
    db_session().add(Note(name="refused"))
    await db_session().flush()
    abort(400)


@units.post("/crashed")
async def crashed() -> ResponseReturnValue:
    db_session().add(Note(name="crashed"))
    await db_session().flush()
    raise RuntimeError("after a write")


@units.post("/duplicate-at-commit")
async def duplicate_at_commit() -> ResponseReturnValue:
    db_session().add(Note(name="twin"))
    db_session().add(Note(name="twin"))  # not flushed: fails at the commit
    return {}, 201


@units.post("/changed-meanwhile/<int:note_id>")
async def changed_meanwhile(note_id: int) -> ResponseReturnValue:
    note = await db_session().get(Note, note_id)
    assert note is not None
    # Another request deletes the row between this one's read and write.
    async with database(current_app).engine.begin() as connection:
        await connection.execute(delete(Note).where(Note.id == note_id))
    note.name = "changed"
    if request.args.get("flush"):
        await db_session().flush()
    return {}, 200


@pytest.fixture
async def units_app() -> AsyncIterator[Quart]:
    """The app with the test views, and their table for the test's length."""
    app = create_app(blueprints=[*blueprints, units], TESTING=True)
    async with app.test_app():
        async with database(app).engine.begin() as connection:
            await connection.run_sync(ScratchBase.metadata.create_all)
        yield app
        async with database(app).engine.begin() as connection:
            await connection.run_sync(ScratchBase.metadata.drop_all)


def checked_out(pool: object) -> int:
    """Connections taken from the pool and not given back."""
    assert isinstance(pool, QueuePool)
    return pool.checkedout()


async def names(app: Quart) -> list[str]:
    async with database(app).sessions() as session:
        return list(await session.scalars(select(Note.name).order_by(Note.name)))


async def test_the_engine_exists_only_while_the_app_serves() -> None:
    app = create_app()
    with pytest.raises(RuntimeError, match="only while the app serves"):
        database(app)

    async with app.test_app():
        engine = database(app).engine

    assert checked_out(engine.pool) == 0
    with pytest.raises(RuntimeError):
        database(app)


async def test_a_success_commits_the_unit_of_work(units_app: Quart) -> None:
    response = await units_app.test_client().post("/saved")

    assert response.status_code == 201
    assert await names(units_app) == ["saved"]


@pytest.mark.parametrize(("path", "status"), [("/refused", 400), ("/crashed", 500)])
async def test_an_error_rolls_the_unit_of_work_back(
    units_app: Quart, path: str, status: int
) -> None:
    response = await units_app.test_client().post(path)

    assert response.status_code == status
    assert (await response.get_json())["status"] == status
    assert await names(units_app) == []


async def test_a_conflict_found_at_the_commit_is_a_json_409(units_app: Quart) -> None:
    response = await units_app.test_client().post("/duplicate-at-commit")

    assert response.status_code == 409
    assert (await response.get_json())["error"] == "Conflict"
    assert await names(units_app) == []


@pytest.mark.parametrize("flush", ["", "1"], ids=["at-the-commit", "in-the-view"])
async def test_a_row_changed_meanwhile_is_a_json_409(
    units_app: Quart, flush: str
) -> None:
    async with database(units_app).engine.begin() as connection:
        await connection.execute(insert(Note).values(id=7, name="kept"))

    response = await units_app.test_client().post(
        "/changed-meanwhile/7", query_string={"flush": flush}
    )

    assert response.status_code == 409
    message = (await response.get_json())["message"]
    assert "changed while the request was served" in message


async def test_a_session_left_open_is_closed_at_teardown(app: Quart) -> None:
    async with app.test_request_context("/"):
        session = db_session()
        await session.execute(select(1))
        await close_session(None)
        assert SESSION not in g

    assert checked_out(database(app).engine.pool) == 0


async def test_readyz_checks_the_database(client: Client) -> None:
    response = await client.get("/readyz")

    body = await response.get_json()
    assert body == {"status": "ready", "checks": {"database": "ok"}}


@pytest.fixture
async def unreachable() -> AsyncIterator[Client]:
    app = create_app(
        blueprints=[*blueprints, units], DATABASE_URL=UNREACHABLE, READINESS_TIMEOUT=5
    )
    async with app.test_app():
        yield app.test_client()
{%- if cookiecutter.database == 'sqlite' %}
    # aiosqlite stops the thread of a failed connection a moment later, and
    # reports to the event loop: wait for it before the test's loop closes.
    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join, 5)
{%- endif %}


async def test_an_unreachable_database_makes_readyz_503_not_healthz(
    unreachable: Client,
) -> None:
    ready = await unreachable.get("/readyz")
    alive = await unreachable.get("/healthz")

    assert ready.status_code == 503
    assert list((await ready.get_json())["checks"]) == ["database"]
    assert alive.status_code == 200


async def test_an_unreachable_database_is_a_json_503_without_secrets(
    unreachable: Client, caplog: pytest.LogCaptureFixture
) -> None:
    for response in (
        await unreachable.get("/notes"),  # in the view
        await unreachable.post("/saved"),  # at the commit
        await unreachable.get("/readyz"),
    ):
        assert response.status_code == 503
        body = await response.get_data(as_text=True)
        assert SECRET not in body
        assert "Traceback" not in body
    assert caplog.records
    assert not [r for r in caplog.records if r.exc_info]
    assert SECRET not in caplog.text
{%- if cookiecutter.database == 'postgresql' %}


DRIVERLESS = ["postgresql://u@h/d", "postgres://u@h/d", "postgresql+asyncpg://u@h/d"]
{%- else %}


DRIVERLESS = ["sqlite:///x.sqlite3", "sqlite+aiosqlite:///x.sqlite3"]
{%- endif %}


@pytest.mark.parametrize("given", DRIVERLESS)
def test_database_url_gets_the_async_driver(given: str) -> None:
    assert database_url(given).drivername == "{{ 'postgresql+asyncpg' if cookiecutter.database == 'postgresql' else 'sqlite+aiosqlite' }}"


@pytest.mark.parametrize(
    ("given", "rule"),
    [
        (f"not a url with {SECRET}", "is not a database URL"),
        (f"mysql://user:{SECRET}@host/db", "names 'mysql'"),
        (f"postgresql+psycopg://user:{SECRET}@host/db", "names 'postgresql.psycopg'"),
        (f"sqlite+pysqlite:///{SECRET}.db", "names 'sqlite.pysqlite'"),
    ],
)
def test_a_bad_database_url_stops_startup_without_its_password(
    given: str, rule: str
) -> None:
    with pytest.raises(SettingsError, match=rule) as caught:
        create_app(DATABASE_URL=given)

    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("DATABASE_POOL_SIZE", "greater than 0"),
        ("DATABASE_POOL_RECYCLE", "a whole number of seconds, or -1 for never"),
    ],
)
async def test_a_pool_setting_out_of_range_stops_startup(key: str, rule: str) -> None:
    with pytest.raises(SettingsError, match=f"setting {key} = 0 .*{rule}"):
        load_settings(overrides={key: 0})
