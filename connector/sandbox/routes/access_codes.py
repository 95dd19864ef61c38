"""Access codes (endpoints.md §3): masked listing, asynchronous bulk generation, cost preview, revoke.

The plaintext code (`_code`) never leaves the sandbox through the API: lists show `code_masked` (first 4 +
asterisks + last 4) and events the last 5 characters only (:func:`webhook_mask`). Each listed code also
carries its computed `status` (`unredeemed`, `redeemed`, `expired`).

Decisions where the reference is silent:
- Bulk generation answers 202 `{job_id: "mjb_…", status: "queued", enqueued_at, batch_id: "btc_…",
  plan_id, quantity, export_type, expires_at, preview}`; after `settings.job_delay` sandbox seconds the
  batch is stored and ONE `access_code.generated` is emitted. The job row is kept in table `jobs`.
- Expiry presets count days: 1_day 1, 1_week 7, 1_month 30, 1_year 365; custom units days 1, weeks 7,
  months 30. `expires_at` is fixed when the job is queued. The n8n node's `expires_in_days` is accepted
  when `expiry_preset` is absent. Expiry is checked when each batch expires (scheduled on the sandbox clock)
  and whenever :func:`expire_due_codes` runs.
- Quota (abilities-and-enums §8): free 5, starter 200, growth 500 per cycle, counted on redemption (the
  current /payments/access-codes wording); the cycle is the calendar month (UTC) of the sandbox clock.
  Generation is never refused for quota; the preview shows what a batch would leave, and cost is "0.00".
- Revoking (DELETE) removes the code whatever its state and answers `{"data": {"id", "deleted": true}}`.
"""

from __future__ import annotations

import secrets
from typing import Any

from connector.sandbox.errors import invalid, not_found
from connector.sandbox.family import deleted, log, team_tier
from connector.sandbox.framework import Ctx, api
from connector.sandbox.ids import new_id
from connector.sandbox.pagination import page_list
from connector.sandbox.routes.plans import get_owned_plan
from connector.sandbox.store import Obj, Store
from connector.sandbox.timeutil import iso, parse_iso
from connector.sandbox.validation import Field, validate

SUBJECT = "project-access-code"
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: codes are typed by people
CODE_LENGTH = 12
QUOTAS = {"free": 5, "starter": 200, "growth": 500}
STATUSES = ("unredeemed", "redeemed", "expired", "all")
DAY = 86_400
PRESET_DAYS: dict[str, int | None] = {
    "no_expiry": None,
    "1_day": 1,
    "1_week": 7,
    "1_month": 30,
    "1_year": 365,
}
UNIT_DAYS = {"days": 1, "weeks": 7, "months": 30}
BULK_FIELDS: dict[str, Field] = {
    "quantity": Field("int", required=True, minimum=1, maximum=1000),
    "export_type": Field(choices=("file", "messages"), nullable=True),
    "expiry_preset": Field(choices=(*PRESET_DAYS, "custom"), nullable=True),
    "custom_expiry_amount": Field("int", minimum=1, maximum=999, nullable=True),
    "custom_expiry_type": Field(choices=tuple(UNIT_DAYS), nullable=True),
    "expires_in_days": Field("int", minimum=1, maximum=3650, nullable=True),
}


# --- masking and status ---------------------------------------------------------------------------------
def mask_code(code: str) -> str:
    return code[:4] + "*" * (len(code) - 8) + code[-4:]


def webhook_mask(code: str) -> str:
    """Events reveal the last 5 characters only (webhooks.md §9.6)."""
    return "*" * (len(code) - 5) + code[-5:]


def code_status(code: Obj, now_iso: str) -> str:
    if code["redeemed_at"]:
        return "redeemed"
    if code.get("_expired") or (code["expires_at"] and code["expires_at"] <= now_iso):
        return "expired"
    return "unredeemed"


def _new_code(taken: set[str]) -> str:
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            taken.add(code)
            return code


# --- plain functions ------------------------------------------------------------------------------------
def generate_codes(
    store: Store,
    team_id: str,
    plan: Obj,
    quantity: int,
    expires_at: str | None,
    *,
    batch_id: str | None = None,
    causer_id: str | None = None,
) -> tuple[str, list[Obj]]:
    """Store a batch of codes now; emit one `access_code.generated`; schedule the batch's expiry."""
    batch_id = batch_id or new_id("btc")
    with store.lock:
        now = store.iso_now()
        codes = []
        taken = {c["_code"] for c in store.table("access_codes").values()}
        for _ in range(quantity):
            plaintext = _new_code(taken)
            code = {
                "id": new_id("acc"),
                "plan_id": plan["id"],
                "project_id": plan["project_id"],
                "code_masked": mask_code(plaintext),
                "redeemed_at": None,
                "expires_at": expires_at,
                "redeemed_by": None,
                "created_at": now,
                "batch_id": batch_id,
                "_code": plaintext,
                "_team": team_id,
            }
            codes.append(store.insert("access_codes", code))
        batch = {"id": batch_id, "_team": team_id, "project_id": plan["project_id"]}
        changes = {"plan_id": plan["id"], "count": quantity, "expires_at": expires_at}
        log(
            store, batch, SUBJECT, "generated", "Access codes generated", changes=changes, causer_id=causer_id
        )
        data = {"batch_id": batch_id, "plan_id": plan["id"], "count": quantity, "expires_at": expires_at}
        store.emit(team_id, plan["project_id"], "access_code.generated", data)
    if expires_at is not None:

        def expire() -> None:
            expire_due_codes(store)

        store.scheduler.call_at(parse_iso(expires_at), expire)
    return batch_id, codes


def redeem_code(store: Store, code_obj: Obj, member_id: str) -> None:
    """Mark a code redeemed by a subscriber (the caller emits `access_code.redeemed` with its
    subscription)."""
    with store.lock:
        code_obj["redeemed_at"] = store.iso_now()
        code_obj["redeemed_by"] = member_id
        changes = {"redeemed_by": {"from": None, "to": member_id}}
        log(store, code_obj, SUBJECT, "redeemed", "Access code redeemed", changes=changes)


def expire_due_codes(store: Store) -> list[Obj]:
    """Mark unredeemed codes past `expires_at` expired; one `access_code.expired` per code, once."""
    expired = []
    with store.lock:
        now = store.iso_now()
        due = store.rows(
            "access_codes",
            lambda c: (
                not c["redeemed_at"]
                and not c.get("_expired")
                and bool(c["expires_at"])
                and c["expires_at"] <= now
            ),
        )
        for code in reversed(due):  # oldest first
            code["_expired"] = True
            log(store, code, SUBJECT, "expired", "Access code expired")
            data = {
                "subscription_id": None,
                "plan_id": code["plan_id"],
                "access_code": webhook_mask(code["_code"]),
                "expires_at": code["expires_at"],
            }
            store.emit(code["_team"], code["project_id"], "access_code.expired", data)
            expired.append(code)
    return expired


def quota_preview(store: Store, team_id: str, quantity: int) -> Obj:
    tier = team_tier(store, team_id)
    quota = QUOTAS.get(tier, QUOTAS["growth"])
    cycle = store.iso_now()[:7]
    used = len(
        store.rows(
            "access_codes",
            lambda c: c["_team"] == team_id and bool(c["redeemed_at"]) and c["redeemed_at"][:7] == cycle,
        )
    )
    remaining = max(0, quota - used)
    return {
        "quantity": quantity,
        "tier": tier,
        "quota": quota,
        "quota_used": used,
        "quota_remaining": remaining,
        "quota_after": max(0, remaining - quantity),
        "over_quota": max(0, quantity - remaining),
        "cost": "0.00",
    }


# --- bulk generation job --------------------------------------------------------------------------------
def expiry_days(clean: dict[str, Any]) -> int | None:
    preset = clean.get("expiry_preset")
    if preset is None:
        return clean.get("expires_in_days")
    if clean.get("expires_in_days") is not None:
        raise invalid(
            {"expires_in_days": ["The expires_in_days field cannot be combined with expiry_preset."]}
        )
    if preset != "custom":
        return PRESET_DAYS[preset]
    errors = {
        k: [f"The {k} field is required when expiry_preset is custom."]
        for k in ("custom_expiry_amount", "custom_expiry_type")
        if clean.get(k) is None
    }
    if errors:
        raise invalid(errors)
    return int(clean["custom_expiry_amount"]) * UNIT_DAYS[clean["custom_expiry_type"]]


def run_bulk_job(store: Store, job_id: str) -> None:
    """The queued job: generate the batch unless the plan is gone (then the job fails, silently)."""
    with store.lock:
        job = store.get("jobs", job_id)
        if job is None or job["status"] != "queued":
            return
        plan = store.get("plans", job["plan_id"])
        if plan is not None:
            generate_codes(
                store, job["_team"], plan, job["quantity"], job["expires_at"], batch_id=job["batch_id"]
            )
        job["status"] = "completed" if plan is not None else "failed"
        job["completed_at"] = store.iso_now()


def queue_bulk_job(ctx: Ctx, plan: Obj, clean: dict[str, Any]) -> Obj:
    days = expiry_days(clean)
    job = {
        "id": new_id("mjb"),
        "type": "access_codes.bulk_generate",
        "status": "queued",
        "enqueued_at": ctx.store.iso_now(),
        "completed_at": None,
        "batch_id": new_id("btc"),
        "plan_id": plan["id"],
        "project_id": plan["project_id"],
        "quantity": clean["quantity"],
        "export_type": clean.get("export_type") or "file",
        "expires_at": None if days is None else iso(ctx.now + days * DAY),
        "_team": ctx.team_id,
    }
    ctx.store.insert("jobs", job)
    ctx.store.scheduler.call_later(ctx.settings.job_delay, lambda: run_bulk_job(ctx.store, job["id"]))
    return job


# --- routes ---------------------------------------------------------------------------------------------
ROOT = "/projects/<project_id>/plans/<plan_id>/access-codes"


@api.route("GET", ROOT, "project-access-code:view-any")
def list_codes(ctx: Ctx, project_id: str, plan_id: str) -> Obj:
    get_owned_plan(ctx, project_id, plan_id)
    status = ctx.args.get("status") or "all"
    if status not in STATUSES:
        raise invalid(
            {"status": [f"The selected status is invalid; expected one of: {', '.join(STATUSES)}."]}
        )
    now = ctx.store.iso_now()
    rows = [
        {**c, "status": code_status(c, now)}
        for c in ctx.store.rows("access_codes", lambda c: c["plan_id"] == plan_id)
    ]
    rows = [c for c in rows if status == "all" or c["status"] == status]
    return page_list(rows, ctx.args, extra_meta={"status": status})


@api.route("POST", ROOT + "/bulk-generate", "project-access-code:create")
def bulk_generate(ctx: Ctx, project_id: str, plan_id: str) -> tuple[Obj, int]:
    plan = get_owned_plan(ctx, project_id, plan_id)
    clean = validate(ctx.body, BULK_FIELDS)
    job = queue_bulk_job(ctx, plan, clean)
    preview = quota_preview(ctx.store, ctx.team_id, clean["quantity"])
    keys = ("status", "enqueued_at", "batch_id", "plan_id", "quantity", "export_type", "expires_at")
    return {"data": {"job_id": job["id"], **{k: job[k] for k in keys}, "preview": preview}}, 202


@api.route("GET", ROOT + "/preview", "project-access-code:create")
def preview_codes(ctx: Ctx, project_id: str, plan_id: str) -> Obj:
    get_owned_plan(ctx, project_id, plan_id)
    raw = ctx.args.get("quantity")
    quantity = int(raw) if raw and raw.isdigit() else 0
    if not 1 <= quantity <= 1000:
        raise invalid(
            {"quantity": ["The quantity field is required and must be an integer between 1 and 1000."]}
        )
    return {"data": quota_preview(ctx.store, ctx.team_id, quantity)}


@api.route("DELETE", ROOT + "/<code_id>", "project-access-code:delete")
def revoke_code(ctx: Ctx, project_id: str, plan_id: str, code_id: str) -> Obj:
    get_owned_plan(ctx, project_id, plan_id)
    code = ctx.owned("access_codes", code_id, "access code", project_id)
    if code["plan_id"] != plan_id:
        raise not_found("access code")
    with ctx.store.lock:
        ctx.store.delete("access_codes", code_id)
        log(ctx.store, code, SUBJECT, "deleted", "Access code revoked", causer_id=ctx.token["id"])
    return deleted(code_id)
