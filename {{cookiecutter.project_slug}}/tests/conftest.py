"""Fixtures for your tests. Every test gets `app` and `client`{% if cookiecutter.auth == 'jwt' %}
(and `anonymous`, a client that sends no token){% endif %} from
tests/support/fixtures.py; a test marked `@pytest.mark.settings(KEY=value)`
gets an app with those settings. Add your own fixtures here.
"""

pytest_plugins = ["tests.support.fixtures"]
