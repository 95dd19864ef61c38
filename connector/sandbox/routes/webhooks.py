"""Webhook endpoints and REST-hook subscriptions (endpoints.md §7, webhooks.md §5, §7, §8).

`/webhook-subscriptions` is the same controller as `/webhook-endpoints`: both create, list and delete the
same objects. Responses where the reference leaves the shape open:

- create (either path): 201 `{"data": {…endpoint}, "secret": "…"}`; the secret is shown only here and on
  rotation. Rotation answers 200 with the same shape.
- DELETE (either path): 204 without a body; an unknown id is RESOURCE_NOT_FOUND.
- test fire: 202 `{"data": {"delivery_id": "whd_…"}}`: the delivery is queued, not yet sent. It goes even
  when the endpoint is not subscribed to `subscription.created`, and waits while the endpoint is inactive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flask import Response, current_app

from connector.sandbox.control import control, json_body, json_response
from connector.sandbox.errors import ApiError, invalid
from connector.sandbox.framework import Ctx, api, services
from connector.sandbox.pagination import page_list
from connector.sandbox.store import Obj
from connector.sandbox.webhook_delivery import DeliveryQueue, test_envelope
from connector.sandbox.webhook_dispatcher import Dispatcher
from connector.sandbox.webhook_endpoints import (
    TABLE,
    create_endpoint,
    endpoint_view,
    find_endpoint,
    rotate_secret,
    update_endpoint,
    visible,
)

if TYPE_CHECKING:
    from connector.sandbox.app import Sandbox

MANAGE = "webhook-endpoint:manage"
QUEUE_KEY = "webhook_queue"


def init_sandbox(sandbox: Sandbox) -> None:
    """Attach the fan-out listener and, unless deliveries are switched off, the dispatcher worker."""
    queue = DeliveryQueue(sandbox.store, sandbox.settings)
    sandbox.store.event_listeners.append(queue.on_event)
    sandbox.extensions[QUEUE_KEY] = queue
    if sandbox.settings.deliver_webhooks:
        sandbox.workers.append(Dispatcher(queue, sandbox.settings.delivery_timeout))


def current_queue() -> DeliveryQueue:
    return cast(DeliveryQueue, current_app.extensions["sandbox_root"].extensions[QUEUE_KEY])


def _created(ctx: Ctx) -> tuple[Obj, int]:
    endpoint, secret = create_endpoint(ctx)
    return {"data": endpoint_view(endpoint), "secret": secret}, 201


def _listed(ctx: Ctx) -> Obj:
    return page_list(ctx.store.rows(TABLE, lambda e: visible(ctx, e)), ctx.args)


def _deleted(ctx: Ctx, endpoint_id: str) -> tuple[None, int]:
    endpoint = find_endpoint(ctx, endpoint_id)
    ctx.store.delete(TABLE, endpoint["id"])
    current_queue().drop_endpoint(endpoint["id"])
    return None, 204


@api.route("GET", "/webhook-endpoints", MANAGE)
def list_endpoints(ctx: Ctx) -> Obj:
    return _listed(ctx)


@api.route("POST", "/webhook-endpoints", MANAGE)
def create(ctx: Ctx) -> tuple[Obj, int]:
    return _created(ctx)


@api.route("GET", "/webhook-endpoints/<endpoint_id>", MANAGE)
def get_endpoint(ctx: Ctx, endpoint_id: str) -> Obj:
    return {"data": endpoint_view(find_endpoint(ctx, endpoint_id))}


@api.route("POST", "/webhook-endpoints/<endpoint_id>", MANAGE)
@api.route("PATCH", "/webhook-endpoints/<endpoint_id>", MANAGE)
def update(ctx: Ctx, endpoint_id: str) -> Obj:
    endpoint = find_endpoint(ctx, endpoint_id)
    if update_endpoint(ctx, endpoint):
        current_queue().resume_endpoint(endpoint["id"])
    return {"data": endpoint_view(endpoint)}


@api.route("DELETE", "/webhook-endpoints/<endpoint_id>", MANAGE)
def delete(ctx: Ctx, endpoint_id: str) -> tuple[None, int]:
    return _deleted(ctx, endpoint_id)


@api.route("POST", "/webhook-endpoints/<endpoint_id>/rotate-secret", MANAGE)
def rotate(ctx: Ctx, endpoint_id: str) -> Obj:
    """API rotation: signing switches to the new secret at once (`v1` only)."""
    endpoint = find_endpoint(ctx, endpoint_id)
    secret = rotate_secret(endpoint, ctx.now)
    return {"data": endpoint_view(endpoint), "secret": secret}


@api.route(
    "POST", "/webhook-endpoints/<endpoint_id>/test", MANAGE, bucket=("test-fire", "test_fire_per_minute")
)
def test_fire(ctx: Ctx, endpoint_id: str) -> tuple[Obj, int]:
    endpoint = find_endpoint(ctx, endpoint_id)
    delivery = current_queue().enqueue(endpoint, test_envelope(ctx.store, endpoint))
    return {"data": {"delivery_id": delivery["id"]}}, 202


@api.route("GET", "/webhook-subscriptions", MANAGE)
def list_subscriptions(ctx: Ctx) -> Obj:
    return _listed(ctx)


@api.route("POST", "/webhook-subscriptions", MANAGE)
def subscribe(ctx: Ctx) -> tuple[Obj, int]:
    return _created(ctx)


@api.route("DELETE", "/webhook-subscriptions/<endpoint_id>", MANAGE)
def unsubscribe(ctx: Ctx, endpoint_id: str) -> tuple[None, int]:
    return _deleted(ctx, endpoint_id)


@control.post("/webhook-endpoints/<endpoint_id>/rotate-secret")
def dashboard_rotate(endpoint_id: str) -> Response:
    """Dashboard-style rotation: with `{"dual_sign": true}` deliveries carry `v0` (old) and `v1` (new)
    for 24 h of sandbox time; without it, the same as the API rotation."""
    body: Any = json_body()
    dual_sign = body.get("dual_sign", False) if isinstance(body, dict) else None
    if not isinstance(dual_sign, bool):
        raise invalid({"dual_sign": ["must be true or false"]})
    store = services().store
    with store.lock:
        endpoint = store.get(TABLE, endpoint_id)
        if endpoint is None:
            raise ApiError("RESOURCE_NOT_FOUND", "No webhook endpoint with that id.")
        secret = rotate_secret(endpoint, store.clock.now(), dual_sign=dual_sign)
        return json_response({"data": endpoint_view(endpoint), "secret": secret})
