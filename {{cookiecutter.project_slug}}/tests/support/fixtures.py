"""The fixtures every test gets, a pytest plugin that tests/conftest.py loads:
`app` (running inside `test_app()`) and `client` for it.
{%- if cookiecutter.database == 'none' and cookiecutter.auth == 'none' %}"""{% endif %}
{%- if cookiecutter.database == 'sqlite' %}

Every test's app uses one SQLite database for the session, migrated to the
latest revision and emptied after each test that used the `app` fixture.
{%- elif cookiecutter.database == 'postgresql' %}

Every test's app uses one PostgreSQL database for the session, migrated to
the latest revision and emptied after each test that used the `app` fixture:
a server the tests start from the machine's PostgreSQL (support/postgres.py), or the
database TEST_DATABASE_URL names (its tables are emptied: never point it at
data you keep).
{%- endif %}
{%- if cookiecutter.auth == 'jwt' %}

Every app the tests build trusts the test issuer of support/tokens.py, and every test
client (and asgi_calls.call) sends a token granting every scope its app
declares, unless the request sets Authorization itself: see
`trusted_test_issuer`. The `anonymous` client sends none.
{%- endif %}
{%- if cookiecutter.database != 'none' or cookiecutter.auth == 'jwt' %}
"""
{%- endif %}

import os
from collections.abc import AsyncIterator{% if cookiecutter.database == 'postgresql' %}, Iterator{% endif %}
{%- if cookiecutter.auth == 'jwt' %}
from typing import Any
{%- endif %}

import pytest
from quart import Quart{% if cookiecutter.auth == 'jwt' %}, Response{% endif %}
{%- if cookiecutter.auth == 'jwt' %}
from quart.testing import QuartClient
{%- endif %}
from quart.typing import TestClientProtocol as Client
{%- if cookiecutter.database != 'none' %}
from sqlalchemy import delete
{%- endif %}
{%- if cookiecutter.auth == 'jwt' %}
from werkzeug.datastructures import Headers
{%- endif %}

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core import settings
{%- if cookiecutter.database != 'none' %}
from {{ cookiecutter.project_slug }}.core.database.session import database
{%- endif %}
{%- if cookiecutter.auth == 'jwt' %}
from {{ cookiecutter.project_slug }}.core.http.application import Service
{%- endif %}
{%- if cookiecutter.database != 'none' %}
from {{ cookiecutter.project_slug }}.models import Base
{%- endif %}
{%- if cookiecutter.database != 'none' %}

from tests.support.migrations import migrate
{%- endif %}
{%- if cookiecutter.auth == 'jwt' %}{{ "\n" if cookiecutter.database == 'none' }}
from tests.support.tokens import every_scope_token, issuer_settings, without_token
{%- endif %}
{%- if cookiecutter.database != 'none' %}


@pytest.fixture(scope="session")
{%- if cookiecutter.database == 'sqlite' %}
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's database, migrated to the latest revision."""
    path = tmp_path_factory.mktemp("database") / "test.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    migrate(url)
    return url
{%- else %}
def database_url() -> Iterator[str]:
    """The session's database, migrated to the latest revision."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        migrate(given)
        yield given
        return
    from tests.support.postgres import PostgresCluster

    with PostgresCluster() as cluster:
        migrate(cluster.url)
        yield cluster.url
{%- endif %}
{%- endif %}


@pytest.fixture(autouse=True)
{%- if cookiecutter.database != 'none' %}
def packaged_settings_only(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
{%- else %}
def packaged_settings_only(monkeypatch: pytest.MonkeyPatch) -> None:
{%- endif %}
    """Keep the caller's settings file and variables out of every test
    {%- if cookiecutter.database != 'none' %}; every
    app the tests build uses the test database{% endif %}."""
    monkeypatch.delenv(settings.SETTINGS_FILE_VARIABLE, raising=False)
    for name in list(os.environ):
        if name.startswith(f"{settings.ENV_PREFIX}_"):
            monkeypatch.delenv(name)
{%- if cookiecutter.database != 'none' %}
    monkeypatch.setenv(f"{settings.ENV_PREFIX}_DATABASE_URL", database_url)
{%- endif %}
{%- if cookiecutter.auth == 'jwt' %}


class AuthorizedClient(QuartClient):
    """Quart's test client, sending a token with every scope its app declares
    unless the request sets Authorization itself (`headers` or `auth`)."""

    async def open(self, path: str, **kwargs: Any) -> Response:
        headers = Headers(kwargs.get("headers"))
        if "Authorization" not in headers and kwargs.get("auth") is None:
            headers["Authorization"] = f"Bearer {every_scope_token(self.app)}"
        return await super().open(path, **{**kwargs, "headers": headers})


@pytest.fixture(autouse=True)
def trusted_test_issuer(
    monkeypatch: pytest.MonkeyPatch, packaged_settings_only: None
) -> None:
    """The one place the tests get past authentication: every app trusts the
    test issuer's key (tokens.py) through the environment, and every test
    client is an AuthorizedClient."""
    for name, value in issuer_settings().items():
        monkeypatch.setenv(f"{settings.ENV_PREFIX}_{name}", value)
    monkeypatch.setattr(Service, "test_client_class", AuthorizedClient)
{%- endif %}


@pytest.fixture
async def app(request: pytest.FixtureRequest) -> AsyncIterator[Quart]:
    """The app with its startup and shutdown hooks run around each test.

    A test marked `@pytest.mark.settings(KEY=value, ...)` gets an app built
    with those settings changed, for that test only (and so do its `client`).
    """
    marker = request.node.get_closest_marker("settings")
    app = create_app(TESTING=True, **(marker.kwargs if marker else {}))
    async with app.test_app():
        yield app
{%- if cookiecutter.database != 'none' %}
        await empty_tables(app)


async def empty_tables(app: Quart) -> None:
    """Delete every row the test wrote, keeping the tables."""
    async with database(app).engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(delete(table))
{%- endif %}


@pytest.fixture
def client(app: Quart) -> Client:
    return app.test_client()
{%- if cookiecutter.auth == 'jwt' %}


@pytest.fixture
def anonymous(app: Quart) -> Client:
    """A client for `app` that sends no token of its own accord."""
    return without_token(app)
{%- endif %}
