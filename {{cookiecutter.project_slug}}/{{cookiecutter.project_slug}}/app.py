"""The application factory: which parts make up the service, in order."""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Iterable
from typing import Any

from quart import Blueprint, Quart

{% if cookiecutter.auth == 'jwt' -%}
from .core.auth.tokens import init_auth
{% endif -%}
{% if cookiecutter.database != 'none' -%}
from .core.database.session import init_database
{% endif -%}
from .core.http.application import Service
from .core.http.contract import init_api
from .core.http.cors import init_cors
from .core.http.errors import register_error_handlers
from .core.http.proxies import trust_proxies
from .core.http.rate_limits import init_rate_limits
from .core.http.request_guard import RequestGuardMiddleware
from .core.observability.metrics import init_metrics
from .core.observability.request_context import RequestContextMiddleware
from .core.service_calls.client import init_client
{%- if cookiecutter.auth == 'jwt' %}
from .core.service_calls.credentials import init_client_credentials
{%- endif %}
from .core.serving.lifecycle import init_lifecycle
from .core.serving.probes import health
from .core.settings import EXTENSION as SETTINGS
from .core.settings import load_settings, quart_config, split_overrides
from .views import blueprints as default_blueprints


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
        **overrides: Settings that win over every other layer (handy in tests),
            and other keys of Quart's own (TESTING), for app.config.
    """
    setting_overrides, quart_overrides = split_overrides(overrides)
    config = load_settings(settings, setting_overrides)
    # The package's name, as Flask's docs advise for an app in a package; no
    # static folder, since the service serves JSON only.
    app = Service("{{ cookiecutter.project_slug }}", static_folder=None)
    app.extensions[SETTINGS] = config
    app.config.update(quart_config(config), **quart_overrides)
    register_error_handlers(app)
    init_lifecycle(app)
    init_api(app, config.API_TITLE, importlib.metadata.version(app.name))
{%- if cookiecutter.database != 'none' %}
    init_database(app)
{%- endif %}
    app.register_blueprint(health)
    request_metrics = init_metrics(app)
    for blueprint in default_blueprints if blueprints is None else blueprints:
        app.register_blueprint(blueprint)
    init_client(app)
{%- if cookiecutter.auth == 'jwt' %}
    init_client_credentials(app)
{%- endif %}
    # Before-request hooks run in order: a client over its rate limit is
    # refused before its token is verified.
    init_rate_limits(app)
{%- if cookiecutter.auth == 'jwt' %}
    init_auth(app)
{%- endif %}
    init_cors(app)
    # ASGI middleware, innermost first: the guard's refusals are counted and
    # get a request ID and an access line (one pass over each request), which
    # see the client address proxy handling has set.
    app.asgi_app = RequestGuardMiddleware(  # type: ignore[method-assign]
        app.asgi_app,
        allow_http2=config.HTTP2,
        has_websocket_routes=lambda: has_websocket_routes(app),
    )
    access_logger = logging.getLogger(f"{app.name}.access")
    app.asgi_app = RequestContextMiddleware(  # type: ignore[method-assign]
        app.asgi_app, access_logger, request_metrics
    )
    trust_proxies(app, config.TRUSTED_PROXY_HOPS)
    return app


def has_websocket_routes(app: Quart) -> bool:
    return any(rule.websocket for rule in app.url_map.iter_rules())
