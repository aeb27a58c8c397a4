"""Liveness and readiness probes (/healthz, /readyz), for the gateway,
systemd or an orchestrator. Exempt from the rate limit: a probe answered 429
would count as failed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel
from quart import Blueprint, current_app
from quart_rate_limiter import rate_exempt
from quart_schema import validate_response

from ..http.errors import ErrorBody, error_body
from ..settings import current_settings
from .lifecycle import readiness

health = Blueprint("health", __name__)


class Alive(BaseModel):
    """The process answers."""

    status: Literal["ok"]


class Ready(BaseModel):
    """Serving, and every readiness check passed."""

    status: Literal["ready"]
    checks: dict[str, Literal["ok"]]


class Unready(ErrorBody):
    """Starting or draining (no checks run), or the checks that failed, with why."""

    checks: dict[str, str]


@health.get("/healthz")
@rate_exempt
@validate_response(Alive)
async def healthz() -> Alive:
    """Liveness: the process answers. Cheap, and touches no dependency."""
    return Alive(status="ok")


@health.get("/readyz")
@rate_exempt
@validate_response(Ready)
@validate_response(Unready, 503)
async def readyz() -> Ready | tuple[Unready, int]:
    """Readiness: serving, not draining, and every readiness check passes."""
    state = readiness(current_app)
    if state.state != "ready":
        return unavailable(f"the service is {state.state}")
    timeout = current_settings().READINESS_TIMEOUT
    failed = await state.failed_checks(timeout)
    if failed:
        current_app.logger.warning("readiness checks failed: %s", failed)
        return unavailable("readiness checks failed", failed)
    return Ready(status="ready", checks=dict.fromkeys(state.checks, "ok"))


def unavailable(
    message: str, failed: dict[str, str] | None = None
) -> tuple[Unready, int]:
    """A 503 in the shape of every other error (see errors.py)."""
    body = error_body(503, "Service Unavailable", message)
    return Unready(**body, checks=failed or {}), 503
