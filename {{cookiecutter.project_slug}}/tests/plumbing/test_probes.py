"""Liveness, readiness and draining on SIGTERM."""

import asyncio
import logging
import os
import signal
import threading

import pytest
from quart import Blueprint, Quart
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.observability.logs import (
    current_request_id,
)
from {{ cookiecutter.project_slug }}.core.serving.lifecycle import (
    add_readiness_check,
    readiness,
)


async def test_healthz_is_ok(client: Client) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}


async def test_readyz_is_ready_once_serving(app: Quart, client: Client) -> None:
    async def database() -> None:
        return None

    add_readiness_check(app, "database", database)

    response = await client.get("/readyz")

    assert response.status_code == 200
    assert await response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok"},
    }


async def test_readyz_is_503_while_starting() -> None:
    app = create_app()  # before_serving has not run: no test_app()

    response = await app.test_client().get("/readyz")

    assert response.status_code == 503
    body = await response.get_json()
    assert body["status"] == 503
    assert body["message"] == "the service is starting"


async def test_failing_and_slow_checks_make_readyz_503() -> None:
    app = create_app(READINESS_TIMEOUT=0.05)

    async def broken() -> None:
        raise ConnectionError("refused")

    async def slow() -> None:
        await asyncio.sleep(5)

    async def fine() -> None:
        return None

    add_readiness_check(app, "cache", broken)
    add_readiness_check(app, "queue", slow)
    add_readiness_check(app, "database", fine)
    async with app.test_app():
        response = await app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.mimetype == "application/json"
    body = await response.get_json()
    assert body["message"] == "readiness checks failed"
    assert body["checks"] == {
        "cache": "ConnectionError: refused",
        "queue": "timed out",
    }


async def test_sigterm_turns_readyz_to_503_and_keeps_serving(
    app: Quart, client: Client
) -> None:
    os.kill(os.getpid(), signal.SIGTERM)

    response = await client.get("/readyz")

    assert response.status_code == 503
    assert (await response.get_json())["message"] == "the service is draining"
    assert (await client.get("/")).status_code == 200  # requests still served


async def test_responses_while_draining_close_the_connection(
    app: Quart, client: Client
) -> None:
    assert "Connection" not in (await client.get("/")).headers

    os.kill(os.getpid(), signal.SIGTERM)

    assert (await client.get("/")).headers["Connection"] == "close"
    assert (await client.get("/readyz")).headers["Connection"] == "close"


async def test_sigterm_handler_is_restored_after_serving() -> None:
    before = signal.getsignal(signal.SIGTERM)
    app = create_app()

    async with app.test_app():
        assert signal.getsignal(signal.SIGTERM) is not before

    assert signal.getsignal(signal.SIGTERM) is before
    assert readiness(app).state == "stopped"


async def test_sigterm_is_passed_on_to_the_servers_handler() -> None:
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _: received.append(signum))
    try:
        app = create_app()
        async with app.test_app():
            os.kill(os.getpid(), signal.SIGTERM)
            assert readiness(app).state == "draining"
            os.kill(os.getpid(), signal.SIGTERM)  # a second one: still draining
            assert readiness(app).state == "draining"
    finally:
        signal.signal(signal.SIGTERM, previous)

    assert received == [signal.SIGTERM, signal.SIGTERM]


async def test_the_draining_line_belongs_to_no_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SIGTERM interrupts whatever runs, a request here: its line must not
    carry that request's ID."""
    caplog.set_level(logging.INFO)
    ids_at_log_time: list[str | None] = []

    class RecordRequestId(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "draining" in record.getMessage():
                ids_at_log_time.append(current_request_id())

    stopping = Blueprint("stopping", __name__)

    @stopping.get("/stop")
    async def stop() -> dict[str, str | None]:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.01)  # the line is logged from the event loop
        return {"request_id": current_request_id()}

    app = create_app(blueprints=[stopping])
    handler = RecordRequestId()
    app.logger.addHandler(handler)
    try:
        async with app.test_app():
            response = await app.test_client().get("/stop")
    finally:
        app.logger.removeHandler(handler)

    assert (await response.get_json())["request_id"]  # it ran in a request
    assert ids_at_log_time == [None]


def test_outside_the_main_thread_signals_are_left_alone() -> None:
    before = signal.getsignal(signal.SIGTERM)
    seen: list[object] = []

    async def serve_briefly() -> None:
        app = create_app()
        async with app.test_app():
            seen.append(readiness(app).state)
            seen.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=asyncio.run, args=(serve_briefly(),))
    thread.start()
    thread.join()

    assert seen == ["ready", before]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_probes_answer_head(client: Client, path: str) -> None:
    assert (await client.head(path)).status_code == 200
