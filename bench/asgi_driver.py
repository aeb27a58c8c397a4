"""A minimal ASGI driver, and the measuring passes of bench/layers.py.

A scope as a server makes it for wrk's `GET`, a `receive` that gives the
request and then waits as a server's does until the client goes, a `send`
that checks the answer, the lifespan protocol around it, and passes of one
task per request whose CPU time (process time: threads count) is kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]
App = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]

REQUEST: Message = {"type": "http.request", "body": b"", "more_body": False}


def http_scope(headers: Sequence[tuple[bytes, bytes]] = (), path: str = "/") -> Message:
    """A `GET` scope as a server makes it for wrk's request."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "extensions": {},
    }


class Exchange:
    """One request's receive and send."""

    __slots__ = ("delivered", "done", "status")

    def __init__(self) -> None:
        self.delivered = False
        self.status = 0
        self.done = False

    async def receive(self) -> Message:
        if not self.delivered:
            self.delivered = True
            return REQUEST
        # Nothing more until the client goes: the app cancels this wait.
        await asyncio.get_running_loop().create_future()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            self.done = True


async def one_request(app: App, scope: Message) -> Exchange:
    exchange = Exchange()
    await app(dict(scope), exchange.receive, exchange.send)
    return exchange


class Lifespan:
    """The ASGI lifespan protocol, as a server runs it around serving."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        await self.app(scope, self.inbox.get, self.outbox.put)

    async def _step(self, event: str) -> None:
        await self.inbox.put({"type": f"lifespan.{event}"})
        answer = await self.outbox.get()
        if answer["type"] != f"lifespan.{event}.complete":
            raise RuntimeError(f"lifespan {event}: {answer}")

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run())
        await self._step("startup")

    async def stop(self) -> None:
        await self._step("shutdown")
        if self.task is not None:
            await self.task


@dataclass
class Variant:
    label: str
    app: App
    scope: Message
    best: float = float("inf")  # CPU seconds per request
    lifespan: Lifespan | None = field(default=None, repr=False)
    # What its "added" column compares with: the variant before it if None.
    baseline: Variant | None = field(default=None, repr=False)


async def check(variant: Variant) -> None:
    """The variant answers GET / with a 200 and a complete body."""
    exchange = await asyncio.create_task(one_request(variant.app, variant.scope))
    if exchange.status != 200 or not exchange.done:
        raise SystemExit(
            f"layers: {variant.label} answered {exchange.status}"
            f" ({'complete' if exchange.done else 'incomplete'})"
        )


async def one_pass(variant: Variant, count: int) -> None:
    """`count` requests, one task each; keep the best CPU time per request."""
    loop = asyncio.get_running_loop()
    app, scope = variant.app, variant.scope
    started = time.process_time()
    for _ in range(count):
        await loop.create_task(one_request(app, scope))
    spent = (time.process_time() - started) / count
    variant.best = min(variant.best, spent)


async def measure(variants: list[Variant], count: int, passes: int) -> None:
    """Start each variant, warm it up, then interleave the passes."""
    for variant in variants:
        variant.lifespan = Lifespan(variant.app)
        await variant.lifespan.start()
        await check(variant)
        await one_pass(variant, max(count // 5, 1))  # warm-up, not kept
        variant.best = float("inf")
    for number in range(passes):
        for variant in variants if number % 2 == 0 else variants[::-1]:
            await one_pass(variant, count)
    for variant in variants:
        assert variant.lifespan is not None
        await variant.lifespan.stop()


def run(work: Coroutine[Any, Any, None]) -> None:
    """On uvloop, as the template's servers run the app, when it is there."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(work)
    else:
        uvloop.run(work)
