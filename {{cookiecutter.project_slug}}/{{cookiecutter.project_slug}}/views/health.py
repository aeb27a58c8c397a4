"""Liveness and readiness probes, for the gateway, systemd or an orchestrator."""

from __future__ import annotations

from quart import Blueprint, current_app
from quart.typing import ResponseReturnValue

from ..errors import error_body
from ..lifecycle import readiness

health = Blueprint("health", __name__)


@health.get("/healthz")
async def healthz() -> ResponseReturnValue:
    """Liveness: the process answers. Cheap, and touches no dependency."""
    return {"status": "ok"}


@health.get("/readyz")
async def readyz() -> ResponseReturnValue:
    """Readiness: serving, not draining, and every readiness check passes."""
    state = readiness(current_app)
    if state.state != "ready":
        return unavailable(f"the service is {state.state}")
    timeout = current_app.config["READINESS_TIMEOUT"]
    failed = await state.failed_checks(timeout)
    if failed:
        current_app.logger.warning("readiness checks failed: %s", failed)
        return unavailable("readiness checks failed", failed)
    return {"status": "ready", "checks": dict.fromkeys(state.checks, "ok")}


def unavailable(
    message: str, failed: dict[str, str] | None = None
) -> ResponseReturnValue:
    """A 503 in the shape of every other error (see errors.py)."""
    body = error_body(503, "Service Unavailable", message)
    if failed:
        body["checks"] = failed
    return body, 503
