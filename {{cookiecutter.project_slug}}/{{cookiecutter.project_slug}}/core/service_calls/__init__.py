"""Calls to other services: the app's HTTP client{% if cookiecutter.auth == 'jwt' %} and the tokens it sends{% endif %}."""
