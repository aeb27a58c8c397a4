"""The database: one async SQLAlchemy engine per app, one session per request.

The engine opens when serving starts and is disposed when it stops; each
connection is pinged when taken from the pool. `db_session()` is the
request's session, committed when the response is below 400 and rolled back
otherwise. Unhandled integrity errors and stale rows are a JSON 409; an
unreachable database or missing tables, a 503. /readyz's `database` check
fails while the database is behind the migrations. The password is never logged.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from quart import Quart, current_app, g
from quart.typing import ResponseReturnValue, ResponseTypes
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import AsyncAdaptedQueuePool

from ..http.errors import error_body
from ..serving.lifecycle import add_readiness_check, first_line
from ..settings import Settings, SettingsError, settings_of
from . import {{ cookiecutter.database }} as dialect
from .schema_revision import MIGRATE, Revisions, is_missing_schema

EXTENSION = "database"
SESSION = "_database_session"


# A database that cannot be reached: refused or dropped connections, a host
# that does not resolve, the pool's wait for a free connection running out.
UNAVAILABLE = (
    ConnectionError,
    socket.gaierror,
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
)


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


def database_url(value: str) -> URL:
    """DATABASE_URL as SQLAlchemy's URL, with the async driver filled in
    (`postgresql://` becomes `postgresql+asyncpg://`).

    Raises SettingsError, in words that never repeat the URL (and its
    password), when it does not parse or names another driver.
    """
    try:
        url = make_url(value)
    except ArgumentError:
        raise SettingsError(
            "setting DATABASE_URL is not a database URL"
            " (dialect://user:password@host:port/database)"
        ) from None
    driver = dialect.ASYNC_DRIVERS.get(url.drivername, url.drivername)
    if driver != dialect.DRIVER:
        raise SettingsError(
            f"setting DATABASE_URL names {driver!r}: it must be {dialect.DRIVER}"
        )
    url = url.set(drivername=driver)
    return url


def create_engine(settings: Settings) -> AsyncEngine:
    """The engine DATABASE_URL names. Its errors never show SQL parameters
    (request data), and each pooled connection is pinged before use."""
    url = database_url(settings.DATABASE_URL.get_secret_value())
    engine = create_async_engine(
        url,
        hide_parameters=True,
        # A pool of open connections, for SQLite files too (some SQLAlchemy
        # 2.0 releases default to opening one per session there).
        poolclass=AsyncAdaptedQueuePool,
        pool_pre_ping=True,
        pool_size=settings.DATABASE_POOL_SIZE,
        max_overflow=settings.DATABASE_MAX_OVERFLOW,
        pool_timeout=settings.DATABASE_POOL_TIMEOUT,
        pool_recycle=settings.DATABASE_POOL_RECYCLE,
        **dialect.engine_options(settings),
    )
    dialect.prepare(engine)
    return engine


def database(app: Quart) -> Database:
    """The app's engine and session factory, while it serves."""
    if EXTENSION not in app.extensions:
        raise RuntimeError("the database is open only while the app serves")
    found: Database = app.extensions[EXTENSION]
    return found


def db_session() -> AsyncSession:
    """The current request's session, opened on first use.

    Committed when the response is a success, rolled back otherwise: a view
    never commits. Call `await session.flush()` to have the database check
    constraints or assign ids before the view returns.
    """
    session: AsyncSession | None = g.get(SESSION)
    if session is None:
        session = database(current_app).sessions()
        setattr(g, SESSION, session)
    return session


async def end_unit_of_work(response: ResponseTypes) -> ResponseTypes:
    """Commit the request's session on success; roll back otherwise."""
    session: AsyncSession | None = g.pop(SESSION, None)
    if session is None:
        return response
    try:
        if response.status_code < 400:
            await session.commit()
    except (IntegrityError, StaleDataError, *UNAVAILABLE) as error:
        # Too late for the view's answer: the change is not saved.
        return await current_app.make_response(await database_error(error))
    finally:
        await session.close()  # rolls back what is not committed
    return response


async def close_session(_error: BaseException | None) -> None:
    """Release the session of a request that ended before the response."""
    session: AsyncSession | None = g.pop(SESSION, None)
    if session is not None:
        await session.close()


async def database_error(error: Exception) -> ResponseReturnValue:
    """A JSON 409 for an integrity violation, a 503 for an unreachable
    database or one whose migrations are not applied."""
    if isinstance(error, IntegrityError):
        message = "the request conflicts with data the service holds"
        return error_body(409, "Conflict", message), 409
    if isinstance(error, StaleDataError):
        message = "the data changed while the request was served: try again"
        return error_body(409, "Conflict", message), 409
    # The first line: no SQL, no parameters (hide_parameters), no URL.
    name, reason = type(error).__name__, first_line(error)
    if isinstance(error, DBAPIError) and is_missing_schema(error):
        log = current_app.logger
        log.error("database schema behind the code: %s: %s", reason, MIGRATE)
        message = "the database schema is behind the service: migrations not applied"
        return error_body(503, "Service Unavailable", message), 503
    if isinstance(error, ProgrammingError):  # a bug to debug: Quart's 500
        raise error
    current_app.logger.error("database unavailable: %s: %s", name, reason)
    return error_body(503, "Service Unavailable", "the database is unavailable"), 503


def init_database(app: Quart) -> None:
    """Open the engine while serving; a session per request; its errors as JSON."""
    settings = settings_of(app)
    database_url(settings.DATABASE_URL.get_secret_value())  # a bad URL stops create_app
    revisions = Revisions.of(Path(app.root_path) / "migrations" / "versions")

    @app.before_serving
    async def open_engine() -> None:
        engine = create_engine(settings)
        app.extensions[EXTENSION] = Database(
            engine, async_sessionmaker(engine, expire_on_commit=False)
        )

    @app.after_serving
    async def dispose_engine() -> None:
        await app.extensions.pop(EXTENSION).engine.dispose()

    async def ready() -> None:
        async with database(app).engine.connect() as connection:
            await revisions.check(connection)

    add_readiness_check(app, "database", ready)
    app.after_request(end_unit_of_work)
    app.teardown_request(close_session)
    app.register_error_handler(IntegrityError, database_error)
    app.register_error_handler(StaleDataError, database_error)
    for unavailable in (*UNAVAILABLE, ProgrammingError):
        app.register_error_handler(unavailable, database_error)
