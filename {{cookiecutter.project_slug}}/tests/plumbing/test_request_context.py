"""Request IDs on every response and log line, one access line a request, and
the request's status and duration, taken once, in its access line and its
metrics."""

import asyncio
import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from quart import Blueprint, abort
from quart.typing import ResponseReturnValue
from quart.typing import TestClientProtocol as Client

from {{ cookiecutter.project_slug }} import create_app
from {{ cookiecutter.project_slug }}.core.observability import request_context
from {{ cookiecutter.project_slug }}.core.observability.logs import (
    current_request_id,
)
from {{ cookiecutter.project_slug }}.core.observability.metrics import (
    EXTENSION,
)
from {{ cookiecutter.project_slug }}.views import blueprints

probe = Blueprint("probe", __name__)


@probe.get("/request-id")
async def request_id() -> dict[str, str | None]:
    return {"request_id": current_request_id()}


@probe.get("/teapot")
async def teapot() -> ResponseReturnValue:
    abort(418)


@probe.get("/crash")
async def crash() -> ResponseReturnValue:
    raise RuntimeError("boom")


@pytest.fixture
async def probe_client() -> AsyncIterator[Client]:
    app = create_app(blueprints=[*blueprints, probe], TESTING=True)
    async with app.test_app():
        yield app.test_client()


async def test_sane_caller_id_is_kept_and_returned(probe_client: Client) -> None:
    sent = "3f2b-9c:req_1.a"
    response = await probe_client.get("/request-id", headers={"X-Request-ID": sent})

    assert response.headers["X-Request-ID"] == sent
    assert await response.get_json() == {"request_id": sent}


@pytest.mark.parametrize(
    "sent",
    ["", "a" * 129, "has space", "semi;colon", "quote'd", "é", "back\\slash"],
    ids=["empty", "129-chars", "space", "semicolon", "quote", "non-ascii", "backslash"],
)
async def test_unsafe_caller_id_is_replaced(probe_client: Client, sent: str) -> None:
    response = await probe_client.get("/request-id", headers={"X-Request-ID": sent})

    made = response.headers["X-Request-ID"]
    assert made != sent
    assert len(made) == 32
    assert int(made, 16) >= 0  # 32 random hex digits
    assert await response.get_json() == {"request_id": made}


async def test_each_request_gets_its_own_id(probe_client: Client) -> None:
    first = await probe_client.get("/request-id")
    second = await probe_client.get("/request-id")

    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize(("path", "status"), [("/missing", 404), ("/teapot", 418)])
async def test_error_responses_carry_the_id(
    probe_client: Client, path: str, status: int
) -> None:
    response = await probe_client.get(path, headers={"X-Request-ID": "err-1"})

    assert response.status_code == status
    assert response.headers["X-Request-ID"] == "err-1"


async def test_a_crash_carries_the_id_on_its_500_and_its_log_line(
    probe_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    response = await probe_client.get("/crash", headers={"X-Request-ID": "crash-1"})

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "crash-1"
    error = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert error.exc_info is not None
    assert current_request_id() is None  # reset once the request is done


async def test_one_access_line_per_request(
    probe_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    await probe_client.get("/missing?token=secret", headers={"X-Request-ID": "acc-1"})

    lines = [r for r in caplog.records if r.name.endswith(".access")]
    assert len(lines) == 1
    assert lines[0].getMessage() == "GET /missing 404"  # no query string
    fields = vars(lines[0])
    assert fields["request_id"] == "acc-1"
    assert (fields["method"], fields["path"], fields["status"]) == (
        "GET",
        "/missing",
        404,
    )
    assert 0 <= fields["duration_ms"] < 10_000
    assert fields["remote_addr"] is None  # the test client has no address


async def test_one_pass_times_a_request_for_its_access_line_and_metrics(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """One clock read as the request arrives and one when it is done, shared
    by the access line and the metrics."""
    readings = [10.0, 10.25]  # a third read fails the request
    clock = SimpleNamespace(perf_counter=lambda: readings.pop(0))
    monkeypatch.setattr(request_context, "time", clock)
    app = create_app(blueprints=[*blueprints, probe])
    caplog.set_level(logging.INFO)

    response = await app.test_client().get("/request-id")

    assert response.status_code == 200
    assert readings == []
    (line,) = [r for r in caplog.records if r.name.endswith(".access")]
    assert vars(line)["duration_ms"] == 250.0
    sample = app.extensions[EXTENSION].registry.get_sample_value
    labels = {"method": "GET", "route": "/request-id"}
    assert sample("http_request_duration_seconds_sum", labels) == 0.25
    assert sample("http_requests_total", {**labels, "status": "200"}) == 1


def test_one_middleware_around_the_guard_does_it() -> None:
    """The app's ASGI stack: request context (IDs, access line, metrics) in
    one layer, then the guard, then Quart."""
    layer: Any = create_app().asgi_app
    layers = []
    while hasattr(layer, "app"):
        layers.append(type(layer).__name__)
        layer = layer.app

    assert layers == ["RequestContextMiddleware", "RequestGuardMiddleware"]


async def test_no_access_line_above_info(
    probe_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)

    await probe_client.get("/request-id")

    assert not [r for r in caplog.records if r.name.endswith(".access")]


# The body-wait, at the ASGI level: an app that answers at once, without
# reading the request body, and a client that sends that body slowly.
SCOPE: dict[str, Any] = {
    "type": "http",
    "method": "POST",
    "path": "/",
    "headers": [(b"content-length", b"5120")],
    "client": ("192.0.2.1", 5000),
}


async def answer_at_once(scope: Any, receive: Any, send: Any) -> None:
    async def read_everything() -> None:  # as Quart does, in the background
        while (await receive()).get("more_body"):
            pass

    reader = asyncio.create_task(read_everything())
    await send({"type": "http.response.start", "status": 405, "headers": []})
    await send({"type": "http.response.body", "body": b"{}", "more_body": False})
    reader.cancel()


async def run_slow_upload(chunks: int) -> list[str]:
    events: list[str] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(0.01)
        sent = len([e for e in events if e.startswith("chunk")])
        events.append(f"chunk {sent + 1}")
        more = sent + 1 < chunks
        return {"type": "http.request", "body": b"x" * 1024, "more_body": more}

    async def send(message: dict[str, Any]) -> None:
        events.append(message["type"])

    middleware = request_context.RequestContextMiddleware(
        answer_at_once, logging.getLogger("t")
    )
    await middleware(SCOPE, receive, send)  # type: ignore[arg-type]
    return events


async def test_the_response_ends_after_the_request_body_has_arrived() -> None:
    events = await run_slow_upload(chunks=5)

    assert events.index("http.response.body") > events.index("chunk 5")


async def answer_despite(receive: Any) -> list[str]:
    """What the middleware sends for an app that answers at once, while the
    client's body arrives through `receive`; fails if it takes 5 s."""
    sent: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    middleware = request_context.RequestContextMiddleware(
        answer_at_once, logging.getLogger("t")
    )
    answered = middleware(SCOPE, receive, send)  # type: ignore[arg-type]
    await asyncio.wait_for(answered, timeout=5)
    return sent


async def test_a_body_that_never_ends_delays_the_answer_boundedly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(request_context, "BODY_WAIT", 0.05)

    async def never_done() -> dict[str, Any]:
        await asyncio.sleep(0.01)
        return {"type": "http.request", "body": b"x", "more_body": True}

    sent = await answer_despite(never_done)

    assert sent == ["http.response.start", "http.response.body"]


async def test_an_announced_body_that_never_comes_is_not_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A GET with Content-Length and no body: answered once nothing has come
    for BODY_IDLE, not after the whole BODY_WAIT."""
    monkeypatch.setattr(request_context, "BODY_WAIT", 30.0)
    monkeypatch.setattr(request_context, "BODY_IDLE", 0.05)

    async def silent() -> dict[str, Any]:
        await asyncio.Event().wait()  # the client sends nothing
        raise AssertionError("unreachable")

    sent = await answer_despite(silent)

    assert sent == ["http.response.start", "http.response.body"]


async def test_a_body_nothing_reads_is_not_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refusal before the app (core/http/request_guard.py) leaves the body
    unread: its answer goes out at once."""
    monkeypatch.setattr(request_context, "BODY_IDLE", 5.0)
    sent: list[str] = []

    async def refuse(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def never_called() -> dict[str, Any]:
        raise AssertionError("the body is not read")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    middleware = request_context.RequestContextMiddleware(
        refuse, logging.getLogger("t")
    )
    waiting = middleware(SCOPE, never_called, send)  # type: ignore[arg-type]
    await asyncio.wait_for(waiting, timeout=2)  # well under BODY_IDLE

    assert sent == ["http.response.start", "http.response.body"]


async def test_other_scopes_pass_through_untouched() -> None:
    seen: list[str] = []

    async def lifespan_app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    middleware = request_context.RequestContextMiddleware(
        lifespan_app, logging.getLogger("t")
    )
    await middleware({"type": "lifespan"}, None, None)  # type: ignore[arg-type]

    assert seen == ["lifespan"]
