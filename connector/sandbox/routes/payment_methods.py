"""Payment methods (endpoints.md §4): read-only over the API, secrets never returned.

Gateways are connected in the dashboard; here that is :func:`add_payment_method` (seeds) and the control
route `POST /_sandbox/projects/<project_id>/payment-methods {provider, mode?, active?}`. Telegram Stars and
Access Codes exist in live mode only (abilities-and-enums §5). The list is unpaginated with meta
`{project_id, total}`, newest first; `active_only` accepts true/false/1/0.
"""

from __future__ import annotations

from flask import Response

from connector.sandbox.control import control, json_response
from connector.sandbox.errors import invalid
from connector.sandbox.family import control_input, control_project, log
from connector.sandbox.framework import Ctx, api, services
from connector.sandbox.ids import new_id, random_alnum
from connector.sandbox.pagination import unpaginated
from connector.sandbox.store import Obj, Store, public
from connector.sandbox.validation import Field

SUBJECT = "project-payment-method"
PROVIDERS = (
    "stripe",
    "paypal",
    "razorpay",
    "paystack",
    "skrill",
    "coinpayments",
    "ceypay",
    "telegram_stars",
    "access_codes",
)
LIVE_ONLY = ("telegram_stars", "access_codes")
_FLAGS = {"true": True, "1": True, "false": False, "0": False, "": False}


def add_payment_method(
    store: Store, team_id: str, project_id: str, provider: str, mode: str = "test", active: bool = True
) -> Obj:
    """Connect a gateway to a project (dashboard-side). Its credentials stay private."""
    now = store.iso_now()
    method: Obj = {
        "id": new_id("pmt"),
        "project_id": project_id,
        "provider": provider,
        "mode": mode,
        "active": active,
        "created_at": now,
        "updated_at": now,
        "_team": team_id,
        "_credentials": {"secret_key": f"sk_{mode}_{random_alnum(24)}"},
    }
    with store.lock:
        store.insert("payment_methods", method)
        log(store, method, SUBJECT, "created", f"Payment method {provider} connected")
    return method


@api.route("GET", "/projects/<project_id>/payment-methods", "project-payment-method:view-any")
def list_payment_methods(ctx: Ctx, project_id: str) -> Obj:
    ctx.project(project_id)
    raw = (ctx.args.get("active_only") or "").lower()
    if raw not in _FLAGS:
        raise invalid({"active_only": ["The active_only field must be true or false."]})
    active_only = _FLAGS[raw]
    items = ctx.store.rows(
        "payment_methods", lambda m: m["project_id"] == project_id and (m["active"] or not active_only)
    )
    return unpaginated(items, extra_meta={"project_id": project_id})


@api.route("GET", "/projects/<project_id>/payment-methods/<method_id>", "project-payment-method:view")
def get_payment_method(ctx: Ctx, project_id: str, method_id: str) -> Obj:
    ctx.project(project_id)
    return {"data": public(ctx.owned("payment_methods", method_id, "payment method", project_id))}


@control.post("/projects/<project_id>/payment-methods")
def control_add_payment_method(project_id: str) -> Response:
    clean = control_input(
        {
            "provider": Field(required=True, choices=PROVIDERS),
            "mode": Field(choices=("live", "test"), nullable=True),
            "active": Field("bool", nullable=True),
        }
    )
    provider = clean["provider"]
    mode = clean.get("mode") or ("live" if provider in LIVE_ONLY else "test")
    if provider in LIVE_ONLY and mode != "live":
        raise invalid({"mode": [f"The {provider} payment method exists in live mode only."]})
    store = services().store
    with store.lock:
        project = control_project(store, project_id)
        active = clean.get("active")
        method = add_payment_method(
            store, project["_team"], project_id, provider, mode, True if active is None else active
        )
        return json_response({"data": public(method)}, 201)
