"""The filters every analytics route shares (endpoints.md §6): window, projects, plans, statuses, methods.

Decisions where the docs are silent ([convention]):
- `period` windows end now: `7d` … `90d` and `1y` (365 days) count back from now; `mtd` / `qtd` / `ytd`
  start at the calendar boundary (UTC); `all` starts at the team's oldest subscription or payment.
- `from` / `to` (`YYYY-MM-DD`, UTC, both inclusive) override `period`, which is then reported as `custom`;
  `to` without `from` is invalid, `from` without `to` runs to today.
- `compare_period=previous` (the default) compares with the window of the same length just before.
- List filters accept `name[]=a&name[]=b`, repeated `name=a&name=b` or `name=a,b`.
- `statuses[]` are payment statuses and apply to payment figures; money figures count `successful`
  payments unless `statuses[]` says otherwise.
- Money is a decimal string; cross-currency totals are normalised to USD at fixed reference rates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from connector.sandbox.errors import invalid
from connector.sandbox.framework import Ctx
from connector.sandbox.store import Obj
from connector.sandbox.timeutil import parse_iso, ymd

DAY = 86_400.0
PERIOD_DAYS = {"7d": 7, "14d": 14, "30d": 30, "60d": 60, "90d": 90, "1y": 365}
PERIODS = ("7d", "14d", "30d", "60d", "90d", "mtd", "qtd", "ytd", "1y", "all")
PAYMENT_STATUSES = ("successful", "pending", "failed", "refunded")
# [convention] Reference rates to USD for the sandbox's currencies (unknown codes count 1:1).
USD_RATES = {
    "USD": Decimal("1"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "INR": Decimal("0.012"),
    "LKR": Decimal("0.0033"),
    "BRL": Decimal("0.18"),
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def to_usd(amount: str | Decimal, currency: str | None) -> Decimal:
    return Decimal(str(amount)) * USD_RATES.get((currency or "USD").upper(), Decimal("1"))


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    period: str

    def contains(self, iso_value: str | None) -> bool:
        return iso_value is not None and self.start <= parse_iso(iso_value) < self.end

    def range(self) -> Obj:
        return {"from": ymd(self.start), "to": ymd(max(self.start, self.end - 1))}

    def previous(self) -> Window:
        return Window(self.start - (self.end - self.start), self.start, self.period)


def list_arg(args: Any, name: str) -> list[str]:
    values = list(args.getlist(f"{name}[]")) + list(args.getlist(name))
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _date(name: str, value: str, errors: dict[str, list[str]]) -> datetime | None:
    if not _DATE.match(value):
        errors[name] = [f"The {name} field must be a date in the format YYYY-MM-DD."]
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        errors[name] = [f"The {name} field must be a valid date."]
        return None


def _calendar_start(now: datetime, period: str) -> datetime:
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if period == "mtd":
        return first
    if period == "qtd":
        return first.replace(month=(now.month - 1) // 3 * 3 + 1)
    return first.replace(month=1)


def parse_window(args: Any, now: float, earliest: float) -> Window:
    errors: dict[str, list[str]] = {}
    period = args.get("period") or "30d"
    if period not in PERIODS:
        errors["period"] = [f"The selected period is invalid; expected one of: {', '.join(PERIODS)}."]
    if args.get("compare_period", "previous") not in ("previous", "none"):
        errors["compare_period"] = [
            "The selected compare_period is invalid; expected one of: previous, none."
        ]
    start_date = _date("from", args["from"], errors) if args.get("from") else None
    end_date = _date("to", args["to"], errors) if args.get("to") else None
    if args.get("to") and not args.get("from"):
        errors["from"] = ["The from field is required when to is present."]
    if start_date and end_date and end_date < start_date:
        errors["to"] = ["The to field must be a date after or equal to from."]
    if errors:
        raise invalid(errors)
    if start_date is not None:
        end = (end_date + timedelta(days=1)).timestamp() if end_date else now
        return Window(start_date.timestamp(), end, "custom")
    if period == "all":
        return Window(min(earliest, now), now, period)
    if period in PERIOD_DAYS:
        return Window(now - PERIOD_DAYS[period] * DAY, now, period)
    return Window(_calendar_start(datetime.fromtimestamp(now, tz=UTC), period).timestamp(), now, period)


@dataclass(frozen=True)
class Scope:
    """Which rows an analytics question is about."""

    team_id: str
    window: Window
    project_ids: frozenset[str] | None
    plan_ids: frozenset[str]
    statuses: frozenset[str]
    method_ids: frozenset[str]
    compare: bool

    def sees(self, row: Obj) -> bool:
        return (
            row.get("_team") == self.team_id
            and (self.project_ids is None or row.get("project_id") in self.project_ids)
            and (not self.plan_ids or row.get("plan_id") in self.plan_ids)
        )

    def counts_payment(self, payment: Obj) -> bool:
        return (
            self.sees(payment)
            and payment["status"] in self.statuses
            and (not self.method_ids or payment.get("method_id") in self.method_ids)
        )


def _earliest(ctx: Ctx, now: float) -> float:
    stamps: Iterable[str] = [
        s["created_at"] for s in ctx.store.table("subscriptions").values() if s["_team"] == ctx.team_id
    ]
    stamps = [
        *stamps,
        *(p["occurred_at"] for p in ctx.store.table("payments").values() if p["_team"] == ctx.team_id),
    ]
    return min((parse_iso(s) for s in stamps), default=now)


def build_scope(ctx: Ctx, *, require_project: bool = False) -> Scope:
    """Validate the common filters; unknown or out-of-scope projects answer RESOURCE_NOT_FOUND."""
    project_id = ctx.args.get("project_id")
    if require_project and not project_id:
        raise invalid({"project_id": ["The project_id field is required."]})
    statuses = list_arg(ctx.args, "statuses")
    bad = [s for s in statuses if s not in PAYMENT_STATUSES]
    if bad:
        raise invalid(
            {
                "statuses": [
                    f"Unknown payment status: {', '.join(bad)}; expected {', '.join(PAYMENT_STATUSES)}."
                ]
            }
        )
    now = ctx.now
    window = parse_window(ctx.args, now, _earliest(ctx, now))
    projects: frozenset[str] | None = frozenset(ctx.scope) if ctx.scope is not None else None
    if project_id:
        ctx.project(project_id)
        projects = frozenset([project_id])
    return Scope(
        team_id=ctx.team_id,
        window=window,
        project_ids=projects,
        plan_ids=frozenset(list_arg(ctx.args, "plan_ids")),
        statuses=frozenset(statuses or ["successful"]),
        method_ids=frozenset(list_arg(ctx.args, "payment_method_ids")),
        compare=ctx.args.get("compare_period", "previous") == "previous",
    )
