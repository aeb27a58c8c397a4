"""The models' shared column types (models/base.py)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.engine.default import DefaultDialect

from {{ cookiecutter.project_slug }}.models.base import UTCDateTime, utc_now

TOKYO = timezone(timedelta(hours=9))
COLUMN = UTCDateTime()
DIALECT = DefaultDialect()  # the type converts the same on every database


def test_a_time_is_stored_in_utc() -> None:
    stored = COLUMN.process_bind_param(datetime(2026, 12, 7, 9, tzinfo=TOKYO), DIALECT)

    assert stored == datetime(2026, 12, 7, 0, tzinfo=UTC)
    assert stored is not None
    assert stored.utcoffset() == timedelta(0)


def test_a_naive_time_is_refused_it_names_no_point_in_time() -> None:
    with pytest.raises(ValueError, match="not a datetime with a timezone"):
        COLUMN.process_bind_param(datetime(2026, 12, 7), DIALECT)


@pytest.mark.parametrize(
    "read",
    [
        datetime(2026, 12, 7, 0),  # SQLite keeps no timezone
        datetime(2026, 12, 7, 9, tzinfo=TOKYO),  # PostgreSQL's session zone
    ],
    ids=["naive", "other-zone"],
)
def test_a_stored_time_is_read_back_in_utc(read: datetime) -> None:
    value = COLUMN.process_result_value(read, DIALECT)

    assert value == datetime(2026, 12, 7, 0, tzinfo=UTC)
    assert value is not None
    assert value.tzinfo is UTC


def test_null_stays_null() -> None:
    assert COLUMN.process_bind_param(None, DIALECT) is None
    assert COLUMN.process_result_value(None, DIALECT) is None


def test_utc_now_is_aware() -> None:
    assert utc_now().tzinfo is UTC
