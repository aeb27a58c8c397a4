"""The {{ cookiecutter.project_slug }} service.

`create_app` builds the Quart application; `QUART_APP={{ cookiecutter.project_slug }} quart run`
finds it here. Servers import the ready-built app from `{{ cookiecutter.project_slug }}.asgi`.
"""

from {{ cookiecutter.project_slug }}.app import create_app

__all__ = ["create_app"]
