"""Subscription plans (endpoints.md §3): CRUD, publish / unpublish, provider sync.

REST uses the MCP vocabulary (C17, C19): `price` a decimal string ("29.00"), `billing_cycle` days / weeks /
months / years / lifetime with `billing_cycle_count`. Plan webhook events use the event vocabulary: a numeric
`price` and `billing_cycle` mapped from the cycle's length (days = count x 1 / 7 / 30.44 / 365.25):

    lifetime → lifetime;  < 28 days → weekly;  < 84 → monthly;  < 360 → quarterly;  otherwise yearly

so 1-3 weeks are weekly, 4 weeks to 2 months monthly, 3-11 months quarterly, 12+ months and years yearly.

Decisions where the reference is silent: a plan is created active unless `active: false` is sent;
`recurring` defaults to true except for lifetime plans, where it must be false; `price` has at most two
decimal places; `currency` (ISO 4217) and `currency_id` are both accepted and must agree when both are sent.
`plan.updated` carries `changes` keyed by REST field names with REST values, except `price`, which stays a
number as in the rest of the event (C17). The "not with crypto providers" rule on `recurring` is not
emulated: a plan has no provider of its own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Response

from connector.sandbox.control import control, json_response
from connector.sandbox.errors import invalid, not_found
from connector.sandbox.family import apply_changes, control_input, control_project, deleted, log
from connector.sandbox.framework import Ctx, api, services
from connector.sandbox.ids import new_id
from connector.sandbox.pagination import page_list
from connector.sandbox.routes.currencies import currency_by_code, currency_by_id
from connector.sandbox.store import Obj, Store, public
from connector.sandbox.validation import Field, money, validate

SUBJECT = "project-subscription-plan"
BILLING_CYCLES = ("days", "weeks", "months", "years", "lifetime")
ELIGIBILITY = ("newcomers_only", "customers_only", "churned_only")
SYNC_PROVIDERS = ("stripe", "paypal", "razorpay", "paystack")
PLAN_FIELDS: dict[str, Field] = {
    "name": Field(required=True, min_len=5, max_len=255),
    "description": Field(max_len=1000, nullable=True),
    "price": Field("decimal", required=True, minimum=0),
    "currency": Field(pattern=r"[A-Za-z]{3}", nullable=True),  # null = absent, like currency_id
    "currency_id": Field(nullable=True),
    "billing_cycle": Field(required=True, choices=BILLING_CYCLES),
    "billing_cycle_count": Field("int", minimum=1, maximum=99),
    "resources": Field("list", required=True, min_len=1),
    "trial_days": Field("int", minimum=0, maximum=365),
    "trial_cardless": Field("bool"),
    "recurring": Field("bool"),
    "active": Field("bool"),
    **{flag: Field("bool") for flag in ELIGIBILITY},
}
_NULLABLE = ("description",)
_CYCLE_DAYS = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}


# --- views ----------------------------------------------------------------------------------------------
def event_billing_cycle(cycle: str, count: int) -> str:
    if cycle == "lifetime":
        return "lifetime"
    days = count * _CYCLE_DAYS[cycle]
    for limit, name in ((28, "weekly"), (84, "monthly"), (360, "quarterly")):
        if days < limit:
            return name
    return "yearly"


def plan_event_view(plan: Obj) -> Obj:
    """The plan object of `plan.*` events (webhooks.md §9.2)."""
    return {
        "id": plan["id"],
        "name": plan["name"],
        "price": float(Decimal(plan["price"])),
        "currency": plan["currency"],
        "billing_cycle": event_billing_cycle(plan["billing_cycle"], plan["billing_cycle_count"]),
        "trial_days": plan["trial_days"],
        "active": plan["active"],
    }


def plan_view(plan: Obj) -> Obj:
    return {**public(plan), "resources": list(plan["resources"])}


def _event_changes(changes: Obj) -> Obj:
    out = dict(changes)
    if "price" in out:
        out["price"] = {side: float(Decimal(v)) for side, v in out["price"].items()}
    return out


# --- plain functions ------------------------------------------------------------------------------------
def create_plan(
    store: Store, team_id: str, project: Obj, fields: dict, *, causer_id: str | None = None
) -> Obj:
    """Insert a plan from REST-vocabulary ``fields`` (`currency` ISO code or `currency_id`), emit
    `plan.created`, log it."""
    currency = (
        currency_by_id(store, fields["currency_id"])
        if fields.get("currency_id")
        else currency_by_code(store, fields["currency"])
    )
    if currency is None:
        raise ValueError(f"unknown currency in {fields!r}")
    cycle = fields["billing_cycle"]
    now = store.iso_now()
    plan: Obj = {
        "id": new_id("pln"),
        "project_id": project["id"],
        "name": fields["name"],
        "description": fields.get("description"),
        "price": money(fields["price"]),
        "currency": currency["code"],
        "currency_id": currency["id"],
        "billing_cycle": cycle,
        "billing_cycle_count": int(fields.get("billing_cycle_count", 1)),
        "trial_days": int(fields.get("trial_days", 0)),
        "trial_cardless": bool(fields.get("trial_cardless", False)),
        "recurring": bool(fields.get("recurring", cycle != "lifetime")),
        "active": bool(fields.get("active", True)),
        **{flag: bool(fields.get(flag, False)) for flag in ELIGIBILITY},
        "resources": list(fields.get("resources", [])),
        "created_at": now,
        "updated_at": now,
        "_team": team_id,
    }
    with store.lock:
        store.insert("plans", plan)
        store.emit(team_id, project["id"], "plan.created", {"plan": plan_event_view(plan)})
        log(store, plan, SUBJECT, "created", "Plan created", causer_id=causer_id)
    return plan


def update_plan(store: Store, plan: Obj, fields: dict, *, causer_id: str | None = None) -> Obj:
    """Apply REST-vocabulary changes; `plan.updated` for field changes, activate / deactivate for
    `active`. Returns the changes."""
    fields = dict(fields)
    active = fields.pop("active", None)
    with store.lock:
        changes = apply_changes(plan, fields)
        if changes:
            plan["updated_at"] = store.iso_now()
            log(store, plan, SUBJECT, "updated", "Plan updated", changes=changes, causer_id=causer_id)
            data = {"plan": plan_event_view(plan), "changes": _event_changes(changes)}
            store.emit(plan["_team"], plan["project_id"], "plan.updated", data)
        if active is not None:
            set_plan_active(store, plan, bool(active), causer_id=causer_id)
    return changes


def set_plan_active(store: Store, plan: Obj, active: bool, *, causer_id: str | None = None) -> bool:
    """Publish / unpublish; `plan.activated` / `plan.deactivated` only on a change."""
    with store.lock:
        if plan["active"] == active:
            return False
        plan["active"] = active
        plan["updated_at"] = store.iso_now()
        event = "activated" if active else "deactivated"
        changes = {"active": {"from": not active, "to": active}}
        log(store, plan, SUBJECT, event, f"Plan {event}", changes=changes, causer_id=causer_id)
        store.emit(plan["_team"], plan["project_id"], f"plan.{event}", {"plan": plan_event_view(plan)})
    return True


def delete_plan(store: Store, plan: Obj, *, causer_id: str | None = None) -> None:
    """Hard delete with the plan's access codes; emits `plan.deleted`."""
    with store.lock:
        for code in store.rows("access_codes", lambda c: c["plan_id"] == plan["id"]):
            store.delete("access_codes", code["id"])
        store.delete("plans", plan["id"])
        log(store, plan, SUBJECT, "deleted", "Plan deleted", causer_id=causer_id)
        store.emit(plan["_team"], plan["project_id"], "plan.deleted", {"plan": plan_event_view(plan)})


def sync_plan(store: Store, plan: Obj, provider: str) -> Obj:
    """The plan was pushed to a provider's catalog: emits `plan.sync_completed` `{plan, provider}`."""
    with store.lock:
        log(store, plan, SUBJECT, "synced", f"Plan synced to {provider}", changes={"provider": provider})
        data = {"plan": plan_event_view(plan), "provider": provider}
        return store.emit(plan["_team"], plan["project_id"], "plan.sync_completed", data)


# --- validation -----------------------------------------------------------------------------------------
def _currency_errors(store: Store, clean: dict[str, Any]) -> dict[str, list[str]]:
    """Resolve `currency` / `currency_id` into both stored values; one of them is required."""
    code, cur_id = clean.get("currency"), clean.get("currency_id")
    if code is None and cur_id is None:
        return {"currency_id": ["The currency_id field is required when currency is not present."]}
    by_code = currency_by_code(store, code) if code else None
    by_id = currency_by_id(store, cur_id) if cur_id else None
    if code and by_code is None:
        return {"currency": ["The selected currency is not supported."]}
    if cur_id and by_id is None:
        return {"currency_id": ["The selected currency_id is invalid."]}
    if by_code and by_id and by_code["id"] != by_id["id"]:
        return {"currency": ["The currency does not match currency_id."]}
    currency = by_code or by_id
    assert currency is not None
    clean["currency"], clean["currency_id"] = currency["code"], currency["id"]
    return {}


def _rule_errors(
    store: Store, project: Obj, merged: dict[str, Any], plan: Obj | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if merged["billing_cycle"] == "lifetime":
        if merged.get("billing_cycle_count", 1) != 1:
            errors["billing_cycle_count"] = ["The billing_cycle_count must be 1 for a lifetime plan."]
        if merged.get("recurring"):
            errors["recurring"] = ["A lifetime plan cannot be recurring."]
    flags = [f for f in ELIGIBILITY if merged.get(f)]
    if len(flags) > 1:
        for flag in flags:
            errors[flag] = [f"The {', '.join(ELIGIBILITY)} flags are mutually exclusive."]
    price = Decimal(str(merged["price"]))
    if price != price.quantize(Decimal("0.01")):
        errors["price"] = ["The price must have at most two decimal places."]
    for i, rid in enumerate(merged["resources"]):
        res = store.get("resources", rid) if isinstance(rid, str) else None
        if res is None or res["project_id"] != project["id"]:
            errors.setdefault("resources", []).append(f"The selected resources.{i} is invalid.")
    same = [
        p
        for p in store.rows("plans", lambda p: p["project_id"] == project["id"])
        if p["name"].casefold() == str(merged["name"]).casefold() and (plan is None or p["id"] != plan["id"])
    ]
    if same:
        errors["name"] = ["The name has already been taken in this project."]
    return errors


def clean_plan_input(ctx: Ctx, project: Obj, plan: Obj | None = None) -> dict[str, Any]:
    """Validate a create (``plan`` None) or partial update into REST-vocabulary stored values."""
    clean = validate(ctx.body, PLAN_FIELDS, partial=plan is not None)
    for key in [k for k, v in clean.items() if v is None and k not in _NULLABLE]:
        del clean[key]
    if "resources" in clean:
        clean["resources"] = list(dict.fromkeys(clean["resources"]))
    merged = {**(plan or {}), **clean}
    if plan is None:
        merged.setdefault("recurring", merged["billing_cycle"] != "lifetime")
    elif clean.get("billing_cycle") == "lifetime" and "recurring" not in clean:
        clean["recurring"] = merged["recurring"] = False
    errors: dict[str, list[str]] = {}
    if plan is None or {"currency", "currency_id"} & clean.keys():
        errors.update(_currency_errors(ctx.store, clean))
    errors.update(_rule_errors(ctx.store, project, merged, plan))
    if errors:
        raise invalid(errors)
    if "price" in clean:
        clean["price"] = money(clean["price"])
    return clean


# --- routes ---------------------------------------------------------------------------------------------
def get_owned_plan(ctx: Ctx, project_id: str, plan_id: str) -> Obj:
    ctx.project(project_id)
    return ctx.owned("plans", plan_id, "plan", project_id)


@api.route("GET", "/projects/<project_id>/plans", "project-subscription-plan:view-any")
def list_plans(ctx: Ctx, project_id: str) -> Obj:
    ctx.project(project_id)
    name = (ctx.args.get("name") or "").casefold()
    items = ctx.store.rows(
        "plans", lambda p: p["project_id"] == project_id and (not name or p["name"].casefold() == name)
    )
    page = page_list(items, ctx.args)
    page["data"] = [{**p, "resources": list(p["resources"])} for p in page["data"]]
    return page


@api.route("POST", "/projects/<project_id>/plans", "project-subscription-plan:create")
def post_plan(ctx: Ctx, project_id: str) -> tuple[Obj, int]:
    project = ctx.project(project_id)
    fields = clean_plan_input(ctx, project)
    plan = create_plan(ctx.store, ctx.team_id, project, fields, causer_id=ctx.token["id"])
    return {"data": plan_view(plan)}, 201


@api.route("GET", "/projects/<project_id>/plans/<plan_id>", "project-subscription-plan:view")
def get_plan(ctx: Ctx, project_id: str, plan_id: str) -> Obj:
    return {"data": plan_view(get_owned_plan(ctx, project_id, plan_id))}


@api.route("PATCH", "/projects/<project_id>/plans/<plan_id>", "project-subscription-plan:update")
def patch_plan(ctx: Ctx, project_id: str, plan_id: str) -> Obj:
    plan = get_owned_plan(ctx, project_id, plan_id)
    fields = clean_plan_input(ctx, ctx.project(project_id), plan)
    update_plan(ctx.store, plan, fields, causer_id=ctx.token["id"])
    return {"data": plan_view(plan)}


@api.route("DELETE", "/projects/<project_id>/plans/<plan_id>", "project-subscription-plan:delete")
def delete_plan_route(ctx: Ctx, project_id: str, plan_id: str) -> Obj:
    delete_plan(ctx.store, get_owned_plan(ctx, project_id, plan_id), causer_id=ctx.token["id"])
    return deleted(plan_id)


@api.route("POST", "/projects/<project_id>/plans/<plan_id>/publish", "project-subscription-plan:update")
def publish_plan(ctx: Ctx, project_id: str, plan_id: str) -> Obj:
    plan = get_owned_plan(ctx, project_id, plan_id)
    set_plan_active(ctx.store, plan, True, causer_id=ctx.token["id"])
    return {"data": {"id": plan_id, "active": True}}


@api.route("POST", "/projects/<project_id>/plans/<plan_id>/unpublish", "project-subscription-plan:update")
def unpublish_plan(ctx: Ctx, project_id: str, plan_id: str) -> Obj:
    plan = get_owned_plan(ctx, project_id, plan_id)
    set_plan_active(ctx.store, plan, False, causer_id=ctx.token["id"])
    return {"data": {"id": plan_id, "active": False}}


@control.post("/projects/<project_id>/plans/<plan_id>/sync")
def control_sync_plan(project_id: str, plan_id: str) -> Response:
    """`{"provider"}`: the dashboard pushed the plan to a provider catalog (the project needs an active
    payment method of that provider)."""
    clean = control_input({"provider": Field(required=True, choices=SYNC_PROVIDERS)})
    store = services().store
    with store.lock:
        control_project(store, project_id)
        plan = store.get("plans", plan_id)
        if plan is None or plan["project_id"] != project_id:
            raise not_found("plan")
        methods = store.rows(
            "payment_methods",
            lambda m: m["project_id"] == project_id and m["provider"] == clean["provider"] and m["active"],
        )
        if not methods:
            raise invalid({"provider": ["The project has no active payment method for this provider."]})
        event = sync_plan(store, plan, clean["provider"])
        return json_response(
            {"data": {"plan_id": plan_id, "provider": clean["provider"], "event_id": event["id"]}}
        )
