"""The application factory."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from quart import Blueprint, Quart, Response

from .errors import register_error_handlers
from .guard import RequestGuardMiddleware
from .lifecycle import init_lifecycle
from .proxy import trust_proxies
from .request_context import RequestContextMiddleware
from .settings import load_settings
from .views import blueprints as default_blueprints
from .views.health import health
from .wrappers import ServiceRequest


class Service(Quart):
    """Quart, with the request class of wrappers.py and an OPTIONS answer
    that is a 204 with an Allow header, not an empty text/html page."""

    request_class = ServiceRequest

    async def make_default_options_response(self, *args: Any) -> Response:
        # Quart 0.23 passes the request's context, 0.22 nothing: pass it on.
        response = await super().make_default_options_response(*args)
        response.status_code = 204
        # A 204 has no content, so neither type nor length (RFC 9110).
        del response.headers["Content-Type"]
        del response.headers["Content-Length"]
        return response


def create_app(
    settings: str | os.PathLike[str] | None = None,
    blueprints: Iterable[Blueprint] | None = None,
    **overrides: Any,
) -> Quart:
    """Build the application; nothing is built at import time.

    Args:
        settings: A YAML settings file layered over the packaged defaults.
            When omitted, the file named by QUART_SETTINGS is used, if any.
        blueprints: The blueprints to register instead of `views.blueprints`.
            The /healthz and /readyz probes are registered either way.
        **overrides: Settings that win over every other layer (handy in tests).
    """
    config = load_settings(settings, overrides)
    # The package's name, as Flask's docs advise for an app in a package; no
    # static folder, since the service serves JSON only.
    app = Service("{{ cookiecutter.project_slug }}", static_folder=None)
    app.config.update(config)
    register_error_handlers(app)
    init_lifecycle(app)
    app.register_blueprint(health)
    for blueprint in default_blueprints if blueprints is None else blueprints:
        app.register_blueprint(blueprint)
    # ASGI middleware, innermost first: the guard's refusals get a request ID
    # and an access line, which see the client address proxy handling has set.
    app.asgi_app = RequestGuardMiddleware(  # type: ignore[method-assign]
        app.asgi_app,
        allow_http2=app.config["HTTP2"],
        has_websocket_routes=lambda: has_websocket_routes(app),
    )
    access_logger = logging.getLogger(f"{app.name}.access")
    app.asgi_app = RequestContextMiddleware(  # type: ignore[method-assign]
        app.asgi_app, access_logger
    )
    trust_proxies(app, app.config["TRUSTED_PROXY_HOPS"])
    return app


def has_websocket_routes(app: Quart) -> bool:
    return any(rule.websocket for rule in app.url_map.iter_rules())
