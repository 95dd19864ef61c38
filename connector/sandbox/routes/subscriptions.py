"""Subscriptions (endpoints.md §5): team-wide list, one subscription, asynchronous cancel.

Cancel answers at once with `cancellation_queued`; the state change and `subscription.cancelled` follow
after `settings.job_delay` sandbox seconds, as the provider-side cancel would. A second cancel, while queued
or once cancelled (or expired), answers 409 SUBSCRIPTION_ALREADY_ACTIVE (the documented, if odd, code).
"""

from __future__ import annotations

from connector.sandbox import lifecycle
from connector.sandbox.errors import ApiError
from connector.sandbox.framework import Ctx, api
from connector.sandbox.pagination import page_list
from connector.sandbox.store import Obj, Store, public
from connector.sandbox.validation import Field, validate

# C18 wire values.
SUBSCRIPTION_STATUSES = (
    "trialing",
    "active",
    "incomplete",
    "expired",
    "past_due",
    "canceled",
    "unpaid",
    "paused",
    "processing",
    "succeeded",
    "capturable",
    "failed",
    "pending",
)
ENDED = ("canceled", "expired")


@api.route("GET", "/subscriptions", "project-subscription:view-any")
def list_subscriptions(ctx: Ctx) -> Obj:
    args = validate(
        ctx.args.to_dict(),
        {"status": Field(choices=SUBSCRIPTION_STATUSES), "plan_id": Field(), "project_id": Field()},
    )
    if "project_id" in args:
        ctx.project(args["project_id"])

    def keep(sub: Obj) -> bool:
        return (
            sub["_team"] == ctx.team_id
            and ctx.in_scope(sub["project_id"])
            and all(sub[name] == value for name, value in args.items())
        )

    return page_list(ctx.store.rows("subscriptions", keep), ctx.args)


@api.route("GET", "/subscriptions/<subscription_id>", "project-subscription:view")
def get_subscription(ctx: Ctx, subscription_id: str) -> Obj:
    return {"data": public(ctx.owned("subscriptions", subscription_id, "subscription"))}


@api.route("POST", "/subscriptions/<subscription_id>/cancel", "project-subscription:update")
def cancel_subscription(ctx: Ctx, subscription_id: str) -> Obj:
    sub = ctx.owned("subscriptions", subscription_id, "subscription")
    at_period_end = validate(ctx.body, {"at_period_end": Field(kind="bool")}).get("at_period_end", True)
    if sub["status"] in ENDED or sub.get("_cancel_queued"):
        state = "being cancelled" if sub.get("_cancel_queued") else sub["status"]
        raise ApiError("SUBSCRIPTION_ALREADY_ACTIVE", f"Subscription {sub['id']} is already {state}.")
    sub["_cancel_queued"] = True
    _queue_cancel(ctx.store, ctx.team_id, ctx.token["id"], sub["id"], at_period_end, ctx.settings.job_delay)
    return {"data": {"subscription_id": sub["id"], "status": "cancellation_queued"}}


def _queue_cancel(
    store: Store, team_id: str, token_id: str, sub_id: str, at_period_end: bool, delay: float
) -> None:
    def job() -> None:
        with store.lock:
            sub = store.get("subscriptions", sub_id)
            if sub is None:
                return
            sub.pop("_cancel_queued", None)
            if sub["status"] not in ENDED:
                ops = lifecycle.Ops(store, team_id, causer_id=token_id, actor_kind="api_token")
                lifecycle.cancel(ops, sub, at_period_end=at_period_end)

    store.scheduler.call_later(delay, job)
