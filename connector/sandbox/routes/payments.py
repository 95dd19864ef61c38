"""Payments: the recent-payments list and the row-level transactions list (endpoints.md §5-§6).

[convention] MemberPass documents recent payments only as the MCP tool `list_recent_payments`, with no REST
path. The sandbox serves it as `GET /v1/projects/{project}/payments` (ability
`project-subscription:view-any`): `status` filter, `limit` 1-200 (default 50), newest first, meta
`{project_id, total, limit}`.

`GET /v1/analytics/transactions` is keyset-paginated (`cursor`, `limit` 1-200): `project_id` required, the
analytics window (`period` / `from` / `to`, default `30d`) and the filters `statuses[]`, `provider_ids[]`
(provider slugs or payment-method ids), `plan_ids[]`, `currency_ids[]` (`cur_` ids or ISO codes). With no
`statuses[]` every status is listed.
"""

from __future__ import annotations

from connector.sandbox.analytics_scope import PAYMENT_STATUSES, build_scope, list_arg
from connector.sandbox.framework import Ctx, api
from connector.sandbox.pagination import capped_list, keyset_list
from connector.sandbox.store import Obj
from connector.sandbox.validation import Field, validate


@api.route("GET", "/projects/<project_id>/payments", "project-subscription:view-any")
def recent_payments(ctx: Ctx, project_id: str) -> Obj:
    ctx.project(project_id)
    status = validate(ctx.args.to_dict(), {"status": Field(choices=PAYMENT_STATUSES)}).get("status")
    rows = ctx.store.rows(
        "payments", lambda p: p["project_id"] == project_id and (status is None or p["status"] == status)
    )
    return capped_list(rows, ctx.args, extra_meta={"project_id": project_id})


def _matches_any(payment: Obj, wanted: list[str], *keys: str) -> bool:
    return not wanted or any(payment.get(key) in wanted for key in keys)


@api.route("GET", "/analytics/transactions", "project-subscription:view-any")
def transactions(ctx: Ctx) -> Obj:
    scope = build_scope(ctx, require_project=True)
    explicit = list_arg(ctx.args, "statuses")
    providers = list_arg(ctx.args, "provider_ids")
    currencies = list_arg(ctx.args, "currency_ids")

    def keep(payment: Obj) -> bool:
        return (
            scope.sees(payment)
            and (not explicit or payment["status"] in scope.statuses)
            and scope.window.contains(payment["occurred_at"])
            and _matches_any(payment, providers, "provider", "method_id")
            and _matches_any(payment, currencies, "currency_id", "currency")
        )

    meta = {
        "project_id": ctx.args["project_id"],
        "period": scope.window.period,
        "range": scope.window.range(),
    }
    return keyset_list(ctx.store.rows("payments", keep), ctx.args, extra_meta=meta)
