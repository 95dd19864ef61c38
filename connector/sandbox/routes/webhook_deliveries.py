"""Webhook delivery log and manual replay (endpoints.md §7, webhooks.md §6).

Abilities: the reference's `webhook-delivery:*` abilities are [later] only, so every route here needs
`webhook-endpoint:manage`, like the rest of the webhook surface. A token sees the deliveries of the
endpoints it can see (team, and C13 project scope). `GET /v1/webhook-deliveries` accepts `status`,
`endpoint_id` and `event_id` filters and pages like every page-based list (C11).
`GET /_sandbox/deliveries` lists every team's deliveries (with `team_id`) for tests and the demo.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from connector.sandbox.control import control, json_response
from connector.sandbox.errors import invalid, not_found
from connector.sandbox.framework import Ctx, api, services
from connector.sandbox.pagination import page_list
from connector.sandbox.routes.webhooks import MANAGE, current_queue
from connector.sandbox.store import Obj, public
from connector.sandbox.webhook_delivery import TABLE

STATUSES = ("pending", "delivered", "failed", "dead")


def _visible(ctx: Ctx, delivery: Obj | None) -> bool:
    if delivery is None or delivery["_team"] != ctx.team_id:
        return False
    return ctx.scope is None or delivery["_project"] in ctx.scope


def _filters(args: Any) -> dict[str, str]:
    chosen = {name: args.get(name) for name in ("status", "endpoint_id", "event_id") if args.get(name)}
    if "status" in chosen and chosen["status"] not in STATUSES:
        raise invalid(
            {"status": [f"The selected status is invalid; expected one of: {', '.join(STATUSES)}."]}
        )
    return chosen


def _matches(delivery: Obj, chosen: dict[str, str]) -> bool:
    return all(delivery[name] == value for name, value in chosen.items())


@api.route("GET", "/webhook-deliveries", MANAGE)
def list_deliveries(ctx: Ctx) -> Obj:
    chosen = _filters(ctx.args)
    rows = ctx.store.rows(TABLE, lambda d: _visible(ctx, d) and _matches(d, chosen))
    return page_list(rows, ctx.args)


@api.route("GET", "/webhook-deliveries/<delivery_id>", MANAGE)
def get_delivery(ctx: Ctx, delivery_id: str) -> Obj:
    delivery = ctx.store.get(TABLE, delivery_id)
    if delivery is None or not _visible(ctx, delivery):
        raise not_found("webhook delivery")
    return {"data": public(delivery)}


@api.route("POST", "/webhook-deliveries/<delivery_id>/retry", MANAGE)
def retry_delivery(ctx: Ctx, delivery_id: str) -> Obj:
    """Re-enqueue a `failed` or `dead` delivery as `pending` with attempts reset to 0; other statuses
    answer VALIDATION_FAILED."""
    delivery = ctx.store.get(TABLE, delivery_id)
    if delivery is None or not _visible(ctx, delivery):
        raise not_found("webhook delivery")
    if delivery["status"] not in ("failed", "dead"):
        message = f"Only failed or dead deliveries can be retried; this one is {delivery['status']}."
        raise invalid({"status": [message]}, message)
    current_queue().retry(delivery)
    return {"data": public(delivery)}


@control.get("/deliveries")
def all_deliveries() -> Response:
    chosen = _filters(request.args)
    store = services().store
    rows = store.rows(TABLE, lambda d: _matches(d, chosen))
    return json_response({"data": [{**public(d), "team_id": d["_team"]} for d in rows]})
