"""The API's request and response bodies: pydantic models, one module per
resource. quart-schema validates each endpoint against them and builds the
OpenAPI document (/openapi.json) from them, docstrings included."""
