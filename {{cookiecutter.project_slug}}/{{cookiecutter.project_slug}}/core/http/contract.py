"""The API contract: quart-schema validates each endpoint's request and
response against pydantic models (schemas/), and documents them.

`/openapi.json` is the OpenAPI 3.1 document (`make openapi` writes it to
openapi.json); `/docs` is Swagger UI served offline from the installed
swagger-ui-bundle. Every operation documents the errors the plumbing may
answer for it: 400, 413 and 415 for a JSON body, 429 unless exempt, and
401 and 403 where its security requires a token and scopes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from quart import Blueprint, Quart, Response, abort, send_from_directory
from quart_rate_limiter import QUART_RATE_LIMITER_EXEMPT_ATTRIBUTE
from quart_schema import Info, OpenAPIProvider, QuartSchema, hide
from quart_schema.typing import Model
from swagger_ui_bundle import swagger_ui_path
from werkzeug.routing import Rule

from .errors import ErrorBody, ValidationErrorBody
from .json_encoding import ServiceJSONProvider

# Relative to /docs, so that they resolve under the gateway's prefix too.
DOCS_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css")
ASSETS_URL = "docs/assets"

docs_assets = Blueprint("docs_assets", __name__)


@docs_assets.get(f"/{ASSETS_URL}/<filename>")
@hide
async def docs_asset(filename: str) -> Response:
    """The two files /docs needs, from the installed swagger-ui-bundle."""
    if filename not in DOCS_ASSETS:
        abort(404)
    return await send_from_directory(swagger_ui_path, filename)


class NoContent(BaseModel):
    """A response without a body (204)."""


# What an operation that takes a JSON body may answer because of the body:
# not JSON or not its model, larger than MAX_CONTENT_LENGTH, not sent as JSON.
BODY_ERRORS: dict[int, type[BaseModel]] = {
    400: ValidationErrorBody,
    413: ErrorBody,
    415: ErrorBody,
}


class ServiceOpenAPI(OpenAPIProvider):
    """quart-schema's document, with bodiless responses (`NoContent`) as
    OpenAPI spells them (a description and no content), and every operation
    documenting the errors the plumbing may answer for it (`plumbing_errors`),
    a body as required."""

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        view = self._app.view_functions[rule.endpoint]
        for operations in paths.values():
            for operation in operations.values():
                if "requestBody" in operation:
                    body = operation["requestBody"] = dict(operation["requestBody"])
                    body["required"] = True
                responses = operation["responses"] = dict(operation["responses"])
                for status, model in self.plumbing_errors(operation, view).items():
                    if status not in responses:
                        response, more = self.build_response_object(model, None)
                        responses[status] = response
                        components.update(more)
        return paths, components

    def plumbing_errors(
        self, operation: dict[str, Any], view: object
    ) -> dict[int, type[BaseModel]]:
        """The statuses an operation may get from the plumbing, not its view:
        its body's errors; 400 and 401 where it needs a token and 403 where it
        needs a scope; 429 unless it is exempt from the rate limit (the service's own,
        when set, or the gateway's)."""
        errors = dict(BODY_ERRORS) if "requestBody" in operation else {}
        security = operation.get("security", self._extension.security) or []
        if any(security):  # 400: more than one Authorization header
            errors.update({400: ValidationErrorBody, 401: ErrorBody})
        if any(scopes for requirement in security for scopes in requirement.values()):
            errors[403] = ErrorBody
        if not getattr(view, QUART_RATE_LIMITER_EXEMPT_ATTRIBUTE, False):
            errors[429] = ErrorBody
        return errors

    def build_response_object(
        self, model: type[Model], headers_model: type[Model] | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if model is NoContent:
            return {"description": "No Content"}, {}
        return super().build_response_object(model, headers_model)


def init_api(app: Quart, title: str, version: str) -> None:
    """Validate and document every endpoint; serve /openapi.json and /docs."""
    app.config["QUART_SCHEMA_SWAGGER_JS_URL"] = f"{ASSETS_URL}/{DOCS_ASSETS[0]}"
    app.config["QUART_SCHEMA_SWAGGER_CSS_URL"] = f"{ASSETS_URL}/{DOCS_ASSETS[1]}"
    QuartSchema(
        app,
        info=Info(title=title, version=version),
        redoc_ui_path=None,
        scalar_ui_path=None,
        openapi_provider_class=ServiceOpenAPI,
    )
    app.json = ServiceJSONProvider(app)  # after QuartSchema, which sets its own
    app.register_blueprint(docs_assets)
