"""Each choice brings its files and text, and the other values of the
option leave none of them: no code, dependency, setting or doc line behind.
Each choice is checked on the context that declares it (contexts.py)."""

from __future__ import annotations

import pytest

from contexts import (
    AUTH_CONTEXTS,
    DATABASE_CONTEXTS,
    DEFAULTS,
    SERVER_CONTEXTS,
    SLUGS,
    answer,
)
from helpers import Bake

# What a bake with a database has and one without has not; postgres.py (the
# tests' own server) only with database=postgresql.
DATA_LAYER = [
    "alembic.ini",
    "{slug}/core/database/session.py",
    "{slug}/core/database/settings.py",
    "{slug}/migrations/env.py",
    "{slug}/models/item.py",
    "{slug}/schemas/fields.py",
    "{slug}/schemas/items.py",
    "{slug}/views/items.py",
    "tests/plumbing/test_database.py",
    "tests/test_items.py",
    "tests/plumbing/test_migrations.py",
]
# Text in a file every bake has, there only with a database.
DATABASE_TEXT = {
    "Makefile": ("migrate:", "migration:", "alembic"),
    "README.md": ("DATABASE_URL", "make migrate", "/items"),
    "pyproject.toml": ("sqlalchemy", "alembic", "greenlet"),
    "{slug}/settings.yml": ("DATABASE_URL", "DATABASE_POOL_SIZE"),
    "{slug}/app.py": ("database",),
    "{slug}/core/settings.py": ("DatabaseSettings",),
    "{slug}/views/__init__.py": ("items",),
    "tests/support/fixtures.py": ("database", "migrate"),
    "{slug}/core/__init__.py": ("db_session",),
    "openapi.json": ("/items",),
    "compose.yaml": ("migrate:", "DATABASE_URL"),
    "deploy/k8s/deployment.yaml": ("DATABASE_URL",),
}


@pytest.mark.parametrize("database", sorted(DATABASE_CONTEXTS))
def test_a_database_brings_its_files_and_text_and_none_leaves_none(
    pristine: Bake, database: str
) -> None:
    context = DATABASE_CONTEXTS[database]
    project = pristine(context)
    slug = SLUGS[context]
    has_data = database != "none"

    for name in DATA_LAYER:
        assert (project / name.format(slug=slug)).exists() == has_data, name
    assert not (project / slug / "models").exists() or has_data
    postgres = project / "tests/support/postgres.py"
    assert postgres.exists() == (database == "postgresql")
    for name, texts in DATABASE_TEXT.items():
        content = (project / name.format(slug=slug)).read_text(encoding="utf-8")
        for text in texts:
            assert (text in content) == has_data, (name, text)
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert ('"asyncpg' in pyproject) == (database == "postgresql")
    assert ('"aiosqlite' in pyproject) == (database == "sqlite")


def test_every_database_choice_has_its_context() -> None:
    assert sorted(DATABASE_CONTEXTS) == sorted(DEFAULTS["database"])
    for database, context in DATABASE_CONTEXTS.items():
        assert answer(context, "database") == database


AUTH_FILES = [
    "{slug}/core/auth/tokens.py",
    "{slug}/core/auth/keys.py",
    "{slug}/core/service_calls/credentials.py",
    "{slug}/dev_tokens.py",
    "tests/support/credential_calls.py",
    "tests/plumbing/test_auth.py",
    "tests/plumbing/test_auth_keys.py",
    "tests/plumbing/test_auth_tokens.py",
    "tests/plumbing/test_client_credentials.py",
    "tests/plumbing/test_client_credentials_errors.py",
    "tests/plumbing/test_dev_tokens.py",
    "tests/support/tokens.py",
]
# Text in a file every bake has, there only with auth=jwt.
AUTH_TEXT = {
    "README.md": ("auth/", "bearer tokens", "403", "make token"),
    "Makefile": ("dev_tokens", "instance/development.yml"),
    ".gitignore": ("/instance/",),
    "docs/services.md": ("## Authentication", "JWT_PUBLIC_KEY", "TOKEN_URL"),
    "pyproject.toml": ("pyjwt",),
    "{slug}/settings.yml": ("JWT_", "TOKEN_URL", "CLIENT_SECRET"),
    "{slug}/app.py": ("init_auth",),
    "{slug}/core/settings.py": ("AuthSettings",),
    "{slug}/core/__init__.py": ("require_scopes",),
    "tests/support/fixtures.py": ("trusted_test_issuer",),
    "openapi.json": ("bearer",),
}


@pytest.mark.parametrize("auth", sorted(AUTH_CONTEXTS))
def test_jwt_brings_its_files_and_text_and_none_leaves_none(
    pristine: Bake, auth: str
) -> None:
    context = AUTH_CONTEXTS[auth]
    project = pristine(context)
    slug = SLUGS[context]
    has_jwt = auth == "jwt"

    for name in AUTH_FILES:
        assert (project / name.format(slug=slug)).exists() == has_jwt, name
    for name, texts in AUTH_TEXT.items():
        content = (project / name.format(slug=slug)).read_text(encoding="utf-8")
        for text in texts:
            assert (text in content) == has_jwt, (name, text)


def test_every_auth_choice_has_its_context() -> None:
    assert sorted(AUTH_CONTEXTS) == sorted(DEFAULTS["auth"])
    for auth, context in AUTH_CONTEXTS.items():
        assert answer(context, "auth") == auth


@pytest.mark.parametrize("server", sorted(SERVER_CONTEXTS))
def test_only_hypercorn_bakes_carry_hypercorn_toml(pristine: Bake, server: str) -> None:
    project = pristine(SERVER_CONTEXTS[server])

    assert (project / "hypercorn.toml").is_file() == (server == "hypercorn")


def test_every_asgi_server_choice_has_its_context() -> None:
    assert sorted(SERVER_CONTEXTS) == sorted(DEFAULTS["asgi_server"])
    for server, context in SERVER_CONTEXTS.items():
        assert answer(context, "asgi_server") == server


# Text that belongs to one asgi_server's bake only: (file, text) -> server.
SERVER_ONLY = {
    ("Makefile", "--no-ws"): "granian",
    ("Makefile", "--ws wsproto"): "uvicorn",
    ("Makefile", "--workers $(WORKERS)"): "granian",
    ("{slug}/preflight.py", "placeholder"): "uvicorn",
    ("{slug}/preflight.py", "WORKERS is 1"): "hypercorn uvicorn",
    ("{slug}/settings.yml", "--http auto"): "granian",
    ("deploy/systemd/{slug}.service", "--workers 2"): "granian",
    # the workers' shared metrics: only granian serves from several processes
    ("Makefile", "PROMETHEUS_MULTIPROC_DIR"): "granian",
    ("deploy/systemd/{slug}.service", "PROMETHEUS_MULTIPROC_DIR"): "granian",
    ("{slug}/core/observability/metrics.py", "multiprocess"): "granian",
    ("{slug}/preflight.py", "PROMETHEUS_MULTIPROC_DIR"): "granian",
}


@pytest.mark.parametrize("server", sorted(SERVER_CONTEXTS))
def test_server_specific_text_is_in_its_bakes_only(pristine: Bake, server: str) -> None:
    context = SERVER_CONTEXTS[server]
    project = pristine(context)

    for (name, text), owners in SERVER_ONLY.items():
        content = (project / name.format(slug=SLUGS[context])).read_text()
        assert (text in content) == (server in owners.split()), (name, text)
