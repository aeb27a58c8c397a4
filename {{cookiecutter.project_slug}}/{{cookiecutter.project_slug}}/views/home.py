{%- set claims_shown = cookiecutter.auth == 'jwt' and cookiecutter.database == 'none' -%}
"""The root endpoint."""

from quart import Blueprint{% if claims_shown %}, current_app{% endif %}
from quart_schema import validate_response

{% if claims_shown -%}
from ..core import current_claims
{% endif -%}
from ..schemas.home import Home

home = Blueprint("home", __name__)


@home.get("/")
@validate_response(Home)
async def index() -> Home:
    """An empty JSON object, as in the book's skeleton."""
{%- if claims_shown %}
    # Any valid token will do (no @require_scopes); its claims are at hand.
    current_app.logger.debug("called by %s", current_claims().get("sub"))
{%- endif %}
    return Home()
