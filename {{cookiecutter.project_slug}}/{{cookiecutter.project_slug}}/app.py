"""The application factory."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from quart import Blueprint, Quart

from .errors import register_error_handlers
from .settings import load_settings
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
        **overrides: Settings that win over every other layer (handy in tests).
    """
    # The package's name, as Flask's docs advise for an app in a package; no
    # static folder, since the service serves JSON only.
    app = Quart("{{ cookiecutter.project_slug }}", static_folder=None)
    load_settings(app, settings, overrides)
    register_error_handlers(app)
    for blueprint in default_blueprints if blueprints is None else blueprints:
        app.register_blueprint(blueprint)
    return app
