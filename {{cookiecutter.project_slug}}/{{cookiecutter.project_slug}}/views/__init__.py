"""The service's endpoints: one blueprint per module.

`create_app` registers every blueprint in `blueprints`. To add endpoints, write
a module with its own Blueprint next to `home.py` and list it here. The
/healthz and /readyz probes (core/serving/probes.py) are not listed: `create_app`
registers them whatever blueprints it is given.
"""

from quart import Blueprint

from .home import home
{%- if cookiecutter.database != 'none' %}
from .items import items
{%- endif %}

blueprints: list[Blueprint] = [home{% if cookiecutter.database != 'none' %}, items{% endif %}]
