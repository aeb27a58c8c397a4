"""An app module a test adds next to a bake: the bake's app with a route
that answers after 2 seconds, the request in flight when SIGTERM comes
(test_shutdown.py, test_container.py)."""

from __future__ import annotations

SLOW_APP = """\
import asyncio

from quart import Blueprint

from {slug}.asgi import app

slow = Blueprint("slow", __name__)


@slow.get("/slow")
async def sleep() -> dict[str, bool]:
    await asyncio.sleep(2)
    return {{"slept": True}}


app.register_blueprint(slow)
"""
