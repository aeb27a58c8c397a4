"""The plumbing's front door: every name your views, schemas, models and tests
need from it. Import them from here (`from ..core import ErrorBody`), never
from a module inside: what lies behind this list may change with the template.
docs/architecture.md says what each sub-package holds.
"""

{% if cookiecutter.auth == 'jwt' -%}
from .auth.tokens import current_claims, public, require_scopes
{% endif -%}
{% if cookiecutter.database != 'none' -%}
from .database.session import db_session
{% endif -%}
from .http.contract import NoContent
from .http.errors import ErrorBody, FieldError, ValidationErrorBody, error_body
from .service_calls.client import service_client
from .serving.lifecycle import add_readiness_check
from .settings import Settings, SettingsError, current_settings

__all__ = [
    "ErrorBody",
    "FieldError",
    "NoContent",
    "Settings",
    "SettingsError",
    "ValidationErrorBody",
    "add_readiness_check",
    "current_settings",
    "error_body",
    "service_client",
]
{%- if cookiecutter.auth == 'jwt' %}
__all__ += ["current_claims", "public", "require_scopes"]
{%- endif %}
{%- if cookiecutter.database != 'none' %}
__all__ += ["db_session"]
{%- endif %}
