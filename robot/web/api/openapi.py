"""``GET /api/v1/openapi.json``: the CRM API described in OpenAPI 3.1, generated.

The schemas come from the pydantic models the handlers validate with and answer with
(``robot.core.models.Order`` for intake, ``robot.core.records.OrderRecord`` read back, the rest
in ``robot.web.api.models``), through pydantic's JSON Schema (2020-12, which OpenAPI 3.1
uses as is). Only the list of operations below is written here: method, path, which model is
the body, which answers each status. A test checks that it names exactly the ``/api/v1``
routes the application serves, and schemathesis checks the server against the document.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from robot.core.models import Order
from robot.core.records import OrderRecord
from robot.web.access import CRM, Routes
from robot.web.api import models as m
from robot.web.api import shops as shop_api

REF = "#/components/schemas/{model}"
ORDER_ID = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$",
            "example": "1234"}  # fmt: skip
PHONE = {"type": "string", "example": "+79161234567",
         "description": "E.164 (URL-encode + as %2B) or a national number"}  # fmt: skip
DELIVERY_ID = {"type": "string", "example": "1234:final"}
SHOP_NAME = {"type": "string", "pattern": shop_api.PATH_NAME, "example": "Ромашка"}


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    responses: dict[int, type[BaseModel] | None]  # None: documented, no body model
    body: type[BaseModel] | str | None = None  # a model, "text/csv", or None
    body_required: bool = True
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    public: bool = False
    links: dict[int, dict[str, Any]] = field(default_factory=dict)


_PAGE = {"offset": {"type": "integer", "minimum": 0, "maximum": 10**9, "default": 0},
         "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}  # fmt: skip
_ORDER_LINKS = {
    "GetOrder": {"operationId": "get_order",
                 "parameters": {"order_id": "$response.body#/order_id"}},
    "ExplainOrder": {"operationId": "explain_order",
                     "parameters": {"order_id": "$response.body#/order_id"}},
    "PatchOrder": {"operationId": "patch_order",
                   "parameters": {"order_id": "$response.body#/order_id"}},
    "CancelOrder": {"operationId": "cancel_order",
                    "parameters": {"order_id": "$response.body#/order_id"}},
}  # fmt: skip
_DNC_LINKS = {
    "GetDnc": {"operationId": "get_dnc", "parameters": {"phone": "$response.body#/phone"}},
    "DeleteDnc": {"operationId": "delete_dnc", "parameters": {"phone": "$response.body#/phone"}},
}

E = m.ApiError
OPERATIONS: tuple[Op, ...] = (
    Op("post", "/api/v1/orders", "Submit an order for confirmation by phone",
       {201: m.OrderAccepted, 200: m.OrderAccepted, 400: E, 409: E, 413: E, 422: E, 503: E},
       body=Order, links={201: _ORDER_LINKS, 200: _ORDER_LINKS}),
    Op("get", "/api/v1/orders/{order_id}", "An order, its status and its calls",
       {200: OrderRecord, 404: E}),
    Op("patch", "/api/v1/orders/{order_id}", "Change order fields (or cancel)",
       {200: m.ControlResult, 400: E, 404: E, 409: m.OrderFinalError, 413: E, 422: E},
       body=m.OrderPatch),
    Op("post", "/api/v1/orders/{order_id}/cancel", "Cancel: no further calls",
       {200: m.ControlResult, 400: E, 404: E, 409: m.OrderFinalError, 413: E, 422: E},
       body=m.ReasonBody, body_required=False),
    Op("post", "/api/v1/orders/{order_id}/status", "A CRM status event: call, stop or record",
       {200: m.StatusResult, 400: E, 404: E, 413: E}, body=m.StatusBody),
    Op("get", "/api/v1/orders/{order_id}/explain", "Why the order is (not) being called",
       {200: m.Explain, 404: E, 422: E},
       query={"now": {"type": "string", "format": "date-time"}}),
    Op("get", "/api/v1/dnc", "The do-not-call list, newest first",
       {200: m.DncPage, 422: E}, query=_PAGE),
    Op("post", "/api/v1/dnc/import", "Add phones from CSV (phone[,reason] per row)",
       {200: m.ImportReport, 400: E, 413: E}, body="text/csv"),
    Op("put", "/api/v1/dnc/{phone}", "Put a phone on the do-not-call list",
       {201: m.DncPut, 200: m.DncPut, 400: E, 413: E, 422: E},
       body=m.ReasonBody, body_required=False, links={201: _DNC_LINKS, 200: _DNC_LINKS}),
    Op("get", "/api/v1/dnc/{phone}", "Is the phone on the list", {200: m.DncEntry, 404: E, 422: E}),
    Op("delete", "/api/v1/dnc/{phone}", "Take a phone off the list",
       {200: m.DncRemoved, 404: E, 422: E}),
    Op("get", "/api/v1/webhooks/failed", "Webhook deliveries given up on (dead letters)",
       {200: m.FailedPage, 422: E}, query=_PAGE),
    Op("get", "/api/v1/webhooks/failed/{delivery_id}", "One failed delivery",
       {200: m.FailedDelivery, 404: E}),
    Op("post", "/api/v1/webhooks/failed/{delivery_id}/retry", "Deliver it again",
       {200: m.FailedAction, 404: E}),
    Op("delete", "/api/v1/webhooks/failed/{delivery_id}", "Drop it", {200: m.FailedAction, 404: E}),
    Op("get", "/api/v1/shops", "Every shop's settings (secrets masked)",
       {200: shop_api.ShopList}),
    Op("get", "/api/v1/shops/{name}", "One shop's settings", {200: shop_api.ShopView, 404: E}),
    Op("put", "/api/v1/shops/{name}", "Create or replace a shop (applies without a restart)",
       {201: shop_api.ShopView, 200: shop_api.ShopView, 400: E, 404: E, 413: E, 422: E},
       body=shop_api.ShopBody),
    Op("delete", "/api/v1/shops/{name}", "Remove the API's settings of a shop",
       {200: shop_api.ShopDeleted, 404: E, 409: E}),
    Op("get", "/healthz", "Redis and this process's background tasks",
       {200: m.Health, 503: m.Health}, public=True),
)  # fmt: skip

_PATH_PARAMS = {"order_id": ORDER_ID, "phone": PHONE, "delivery_id": DELIVERY_ID,
                "name": SHOP_NAME}  # fmt: skip


def _operation_id(op: Op) -> str:
    names = {("post", "/api/v1/orders"): "create_order",
             ("get", "/api/v1/orders/{order_id}"): "get_order",
             ("patch", "/api/v1/orders/{order_id}"): "patch_order",
             ("post", "/api/v1/orders/{order_id}/cancel"): "cancel_order",
             ("post", "/api/v1/orders/{order_id}/status"): "post_status",
             ("get", "/api/v1/orders/{order_id}/explain"): "explain_order",
             ("get", "/api/v1/dnc"): "list_dnc", ("post", "/api/v1/dnc/import"): "import_dnc",
             ("put", "/api/v1/dnc/{phone}"): "put_dnc", ("get", "/api/v1/dnc/{phone}"): "get_dnc",
             ("delete", "/api/v1/dnc/{phone}"): "delete_dnc"}  # fmt: skip
    if (op.method, op.path) in names:
        return names[(op.method, op.path)]
    tail = op.path.removeprefix("/api/v1/").replace("/{delivery_id}", "").replace("/", "_")
    return f"{op.method}_{tail}" if "{" not in op.path else f"{op.method}_{tail}_one"


Mode = Literal["validation", "serialization"]


def _models() -> list[tuple[type[BaseModel], Mode]]:
    seen: dict[tuple[type[BaseModel], Mode], None] = {}
    for op in OPERATIONS:
        if isinstance(op.body, type):
            seen[(op.body, "validation")] = None
        for model in op.responses.values():
            if model is not None:
                seen[(model, "serialization")] = None
    return list(seen)


def _content(schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {media: {"schema": schema}}


def build_document(title: str = "Dozvon CRM API", version: str = "1") -> dict[str, Any]:
    models = _models()
    refs, defs = models_json_schema(models, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        params: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": _PATH_PARAMS[name]}
            for name in _PATH_PARAMS
            if "{" + name + "}" in op.path
        ]
        params += [{"name": n, "in": "query", "required": False, "schema": s}
                   for n, s in op.query.items()]  # fmt: skip
        responses: dict[str, Any] = {}
        for status, model in sorted(op.responses.items()):
            resp: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "")}
            if model is not None:
                resp["content"] = _content(refs[(model, "serialization")])
            if status in op.links:
                resp["links"] = op.links[status]
            responses[str(status)] = resp
        if not op.public:
            error = _content(refs[(E, "serialization")])
            responses["401"] = {"description": "no or wrong bearer token", "content": error}
            responses["403"] = {"description": _FORBIDDEN, "content": error}
        doc: dict[str, Any] = {"operationId": _operation_id(op), "summary": op.summary,
                               "responses": responses}  # fmt: skip
        if params:
            doc["parameters"] = params
        if op.body == "text/csv":
            doc["requestBody"] = {"required": True, "content": _content({"type": "string"},
                                                                         "text/csv")}  # fmt: skip
        elif isinstance(op.body, type):
            doc["requestBody"] = {"required": op.body_required,
                                  "content": _content(refs[(op.body, "validation")])}  # fmt: skip
        if op.public:
            doc["security"] = []
        paths.setdefault(op.path, {})[op.method] = doc
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Orders in, confirmations out. Errors are JSON "
            "{error, message, field} (ApiError).",
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


_FORBIDDEN = (
    "the token may not do this: a shop's token on another shop's order (field "
    "shop_name), or on what covers every shop (don't-call list, dead letters)"
)
_STATUS_TEXT = {
    200: "OK", 201: "created", 400: "malformed body (not JSON, too deep, bad number)",
    401: "no or wrong bearer token", 404: "not found (also another shop's order, for a shop's "
    "token)", 409: "the order is already final (POST /orders: the id is another shop's order; "
    "DELETE /shops: the shop is the file's, not the API's)",
    413: "body too large", 422: "a field is invalid (named in field)",
    503: "the store is unreachable: retry later",
}  # fmt: skip


@functools.cache
def document() -> dict[str, Any]:
    return build_document()


async def openapi_json(request: web.Request) -> web.StreamResponse:
    return web.json_response(document())


def add_openapi_route(app: web.Application) -> None:
    """Mount ``GET /api/v1/openapi.json`` (for every caller of the API it describes)."""
    Routes(app).get("/api/v1/openapi.json", openapi_json, CRM)
