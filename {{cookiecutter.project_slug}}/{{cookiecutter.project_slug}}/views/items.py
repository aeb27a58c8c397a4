"""The example resource: create, read, list, update and delete items.

An endpoint as written here: a blueprint route, its models (schemas/items.py)
validated by quart-schema, and the request's database session.
{%- if cookiecutter.auth == 'jwt' %} Each route
declares the scope it needs (`@require_scopes`).{% endif %} Remove it as
README.md says.
"""

from typing import NoReturn

from quart import Blueprint, abort{% if cookiecutter.auth == 'jwt' %}, current_app{% endif %}, url_for
from quart_schema import (
    document_response,
    validate_querystring,
    validate_request,
    validate_response,
)
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from ..core import (
    ErrorBody,
    NoContent,
    ValidationErrorBody,
{%- if cookiecutter.auth == 'jwt' %}
    current_claims,
{%- endif %}
    db_session,
{%- if cookiecutter.auth == 'jwt' %}
    require_scopes,
{%- endif %}
)
from ..models.base import ID_MAX
from ..models.item import Item
from ..schemas.items import ItemIn, ItemOut, ItemPage, ItemQuery, ItemUpdate

items = Blueprint("items", __name__, url_prefix="/items")

# ASCII digits only (core/http/application.py); an id beyond what the table can hold
# is simply not found, whatever the method.
ITEM = "/<int:item_id>"


@items.post("")
{%- if cookiecutter.auth == 'jwt' %}
@require_scopes("items:write")
{%- endif %}
@validate_request(ItemIn)
@validate_response(ItemOut, 201)
@document_response(ValidationErrorBody, 400)
@document_response(ErrorBody, 409)
async def create_item(data: ItemIn) -> tuple[ItemOut, int, dict[str, str]]:
    """Create an item; its URL is in the Location header."""
    session = db_session()
    item = Item(**data.model_dump())
    session.add(item)
    await save(session, item)  # assigns the id
{%- if cookiecutter.auth == 'jwt' %}
    who = current_claims().get("sub")
    current_app.logger.info("item %d created by %s", item.id, who)
{%- endif %}
    location = url_for("items.read_item", item_id=item.id)
    return ItemOut.model_validate(item), 201, {"Location": location}


@items.get("")
{%- if cookiecutter.auth == 'jwt' %}
@require_scopes("items:read")
{%- endif %}
@validate_querystring(ItemQuery)
@validate_response(ItemPage)
@document_response(ValidationErrorBody, 400)
async def list_items(query_args: ItemQuery) -> ItemPage:
    """List items by id, a page at a time."""
    statement = (
        select(Item)
        .where(Item.id > query_args.after)
        .order_by(Item.id)
        .limit(query_args.limit + 1)  # one more tells whether a page follows
    )
    found = list(await db_session().scalars(statement))
    page = found[: query_args.limit]
    more = len(found) > query_args.limit
    return ItemPage(
        items=[ItemOut.model_validate(item) for item in page],
        next=page[-1].id if more else None,
    )


@items.get(ITEM)
{%- if cookiecutter.auth == 'jwt' %}
@require_scopes("items:read")
{%- endif %}
@validate_response(ItemOut)
@document_response(ErrorBody, 404)
async def read_item(item_id: int) -> ItemOut:
    """One item."""
    return ItemOut.model_validate(await get_or_404(db_session(), item_id))


@items.patch(ITEM)
{%- if cookiecutter.auth == 'jwt' %}
@require_scopes("items:write")
{%- endif %}
@validate_request(ItemUpdate)
@validate_response(ItemOut)
@document_response(ValidationErrorBody, 400)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
async def update_item(item_id: int, data: ItemUpdate) -> ItemOut:
    """Change an item's fields."""
    session = db_session()
    item = await get_or_404(session, item_id)
    for field, value in data.model_dump(exclude_none=True).items():
        setattr(item, field, value)
    await save(session, item)
    return ItemOut.model_validate(item)


@items.delete(ITEM)
{%- if cookiecutter.auth == 'jwt' %}
@require_scopes("items:write")
{%- endif %}
@document_response(NoContent, 204)
@document_response(ErrorBody, 404)
async def delete_item(item_id: int) -> tuple[str, int]:
    """Delete an item."""
    # One statement that says whether it deleted: of two deletes at once,
    # one gets the 204 and the other the 404.
    statement = delete(Item).where(Item.id == item_id).returning(Item.id)
    if item_id > ID_MAX or await db_session().scalar(statement) is None:
        not_found(item_id)
    return "", 204


async def get_or_404(session: AsyncSession, item_id: int) -> Item:
    item = await session.get(Item, item_id) if item_id <= ID_MAX else None
    if item is None:
        not_found(item_id)
    return item


def not_found(item_id: int) -> NoReturn:
    abort(404, f"there is no item {item_id}")


async def save(session: AsyncSession, item: Item) -> None:
    """Write the changes now, so that a taken name is this request's 409, and
    an item deleted meanwhile (by a request served at the same time) a 404."""
    name, item_id = item.name, item.id  # a failed flush expires them
    try:
        await session.flush()
    except IntegrityError:
        abort(409, f"an item named {name!r} exists already")
    except StaleDataError:
        not_found(item_id)
