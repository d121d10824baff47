"""The shops API: every shop's settings, changed without a restart (admin role, all shops).

    GET    /api/v1/shops             {"shops": [Shop, ...]}, by name
    GET    /api/v1/shops/{name}      one Shop; 404 if no source defines it
    PUT    /api/v1/shops/{name}      the whole document (ShopBody; ``name`` may be left out,
                                     else it must be the path's): 201 new, 200 replaced;
                                     400 bad JSON, 422 naming the field
    DELETE /api/v1/shops/{name}      the API's document removed: {"name", "deleted": true,
                                     "shop": what the file or DOZVON_SHOPS still says, or
                                     null}; 404 if nothing defines it; 409 if only the file or
                                     DOZVON_SHOPS do (edit those instead)

Secrets (``api_token``, ``webhook_secret``) are never answered in full: ``"****"`` and, for
ones of 16 characters or more, their last four. A PUT that sends such a masked value back
keeps the stored secret, so a document read with GET can be edited and saved as it is.
What a PUT stores reaches every worker's registry at once (robot.adapters.shop_registry).
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, create_model

from robot.adapters.shop_registry import (
    ShopRegistry,
    mask_secret,
    public_document,
    shop_secrets,
)
from robot.core.shops import ShopConfig, parse_shops
from robot.web.access import AUDIT, INSTALLATION, Routes
from robot.web.api import models as m
from robot.web.errors import HttpError, invalid_field, json_object, not_found
from robot.web.shops import writable_registry

SECRET_FIELDS = ("api_token", "webhook_secret")
# A shop name in a path: ShopConfig's names less "/" and the dot segments a URL resolves away.
PATH_NAME = r"^(?!\.{1,2}$)[^\x00-\x1f\x7f/]{1,100}$"
SOURCE = Literal["env", "file", "api"]


def _body_model() -> type[BaseModel]:
    """A shop's document as PUT sends it: ShopConfig's fields, ``name`` optional."""
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in ShopConfig.model_fields.items()
    }
    fields["name"] = (str | None, Field(default=None, min_length=1, max_length=100))
    for key in SECRET_FIELDS:
        fields[key] = (str | None, Field(default=None, max_length=1000))
    return create_model("ShopBody", __config__=ConfigDict(extra="forbid"), **fields)


def _view_model() -> type[BaseModel]:
    """A shop as the API answers: every field, secrets masked, and where it comes from."""
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in ShopConfig.model_fields.items()
    }
    for key in SECRET_FIELDS:
        fields[key] = (str | None, Field(default=None, examples=["****ab12"]))
    fields["source"] = (SOURCE, ...)
    fields["defined_in"] = (list[SOURCE], ...)
    return create_model("Shop", __config__=ConfigDict(extra="forbid"), **fields)


ShopBody = _body_model()
ShopView = _view_model()


class ShopList(BaseModel):
    shops: list[ShopView]  # type: ignore[valid-type]


class ShopDeleted(BaseModel):
    name: str
    deleted: bool
    shop: ShopView | None  # type: ignore[valid-type]


def view(registry: ShopRegistry, shop: ShopConfig) -> dict[str, Any]:
    return m.dump(
        ShopView,
        {
            **public_document(shop),
            "source": registry.source(shop.name) or "api",
            "defined_in": registry.defined_in(shop.name),
        },
    )


async def list_shops(request: web.Request) -> web.StreamResponse:
    registry = writable_registry(request)
    await registry.refresh()
    doc = {"shops": [view(registry, s) for s in registry.all()]}
    return web.json_response(m.dump(ShopList, doc))


async def get_shop(request: web.Request) -> web.StreamResponse:
    registry = writable_registry(request)
    await registry.refresh()
    name = request.match_info["name"]
    shop = registry.get(name)
    if shop is None:
        raise not_found(f"no shop {name!r}", field="name")
    return web.json_response(view(registry, shop))


def _merge_secrets(doc: dict[str, Any], current: ShopConfig | None) -> dict[str, Any]:
    """A masked secret sent back (as GET shows it) keeps the stored one."""
    if current is None:
        return doc
    stored = shop_secrets(current)
    for key in SECRET_FIELDS:
        given = doc.get(key)
        if isinstance(given, str) and given and given == mask_secret(stored[key]):
            doc[key] = stored[key]
    return doc


async def put_shop(request: web.Request) -> web.StreamResponse:
    registry = writable_registry(request)
    name = request.match_info["name"]
    body = await json_object(request)
    if body.get("name") not in (None, name):
        raise invalid_field("name", f"the body's name must be the path's ({name!r}) or absent")
    await registry.refresh()
    current = registry.get(name)
    doc = _merge_secrets({**body, "name": name}, current)
    try:
        shop = parse_shops({"shops": [doc]})[name]
    except ValueError as e:
        text = str(e)
        # "shops.<name>.<field>: message" (robot.core.shops.parse_shops)
        where, _, message = text.partition(": ")
        field = where.removeprefix(f"shops.{name}").lstrip(".") or "body"
        raise invalid_field(field.split(".")[0], message or text) from None
    created = current is None
    try:
        saved = await registry.put(shop)
    except ValueError as e:  # its token is another shop's, or the installation's
        raise invalid_field("api_token", str(e).partition(": ")[2] or str(e)) from None
    request[AUDIT] = {"action": "shop_put", "shop": name, "created": created}
    return web.json_response(view(registry, saved), status=201 if created else 200)


async def delete_shop(request: web.Request) -> web.StreamResponse:
    registry = writable_registry(request)
    name = request.match_info["name"]
    await registry.refresh()
    where = registry.defined_in(name)
    if not where:
        raise not_found(f"no shop {name!r}", field="name")
    if "api" not in where:
        raise HttpError(
            409, "not_from_api",
            f"shop {name!r} comes from {' and '.join(where)}: change it there",
            field="name",
        )  # fmt: skip
    await registry.delete(name)
    request[AUDIT] = {"action": "shop_delete", "shop": name}
    left = registry.get(name)
    doc = {"name": name, "deleted": True, "shop": view(registry, left) if left else None}
    return web.json_response(m.dump(ShopDeleted, doc))


def add_shop_routes(app: web.Application) -> None:
    r = Routes(app)
    r.get("/api/v1/shops", list_shops, INSTALLATION)
    r.get("/api/v1/shops/{name}", get_shop, INSTALLATION)
    r.put("/api/v1/shops/{name}", put_shop, INSTALLATION)
    r.delete("/api/v1/shops/{name}", delete_shop, INSTALLATION)
