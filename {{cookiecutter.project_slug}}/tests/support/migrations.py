"""Migrating a test database: alembic.ini, pointed at the database a URL names."""

from pathlib import Path

from alembic import command
from alembic.config import Config

PROJECT = Path(__file__).resolve().parent.parent.parent


def alembic_config(url: str) -> Config:
    """alembic.ini, for the database `url` names instead of DATABASE_URL."""
    config = Config(PROJECT / "alembic.ini")
    config.attributes["url"] = url
    return config


def migrate(url: str) -> None:
    """`make migrate`, on the database `url` names."""
    command.upgrade(alembic_config(url), "head")
