"""The ASGI entry point for servers: `hypercorn {{ cookiecutter.project_slug }}.asgi:app`.

This is the one module that builds an app when imported.
"""

from {{ cookiecutter.project_slug }}.app import create_app

app = create_app()
