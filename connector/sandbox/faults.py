"""Injected faults (`PUT /_sandbox/faults`): status answers, 429 storms, latency, dropped connections."""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass
from typing import Any

from connector.sandbox.errors import ApiError

_FIELDS = {"route", "status", "count", "ratio", "latency_ms", "retry_after", "drop"}


@dataclass
class Rule:
    route: str
    status: int | None = None
    count: int | None = None
    ratio: float | None = None
    latency_ms: int = 0
    retry_after: int | None = None
    drop: str | None = None

    def matches(self, method: str, path: str, template: str | None) -> bool:
        if self.route == "*":
            return True
        rule_method, _, rule_path = self.route.partition(" ")
        if rule_method.upper() not in (method.upper(), "*"):
            return False
        if rule_path in (path, template):
            return True
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(rule_path)) + "$"
        return re.match(pattern, path) is not None


@dataclass
class Plan:
    status: int | None = None
    retry_after: int | None = None
    latency_ms: int = 0
    drop: str | None = None


def parse_rules(payload: Any) -> list[Rule]:
    if isinstance(payload, dict):
        payload = payload.get("rules", payload.get("data"))
    if not isinstance(payload, list):
        raise ApiError(
            "VALIDATION_FAILED", "Send a JSON list of fault rules.", fields={"body": ["must be a list"]}
        )
    rules = []
    for index, raw in enumerate(payload):
        where = f"[{index}]"
        if not isinstance(raw, dict):
            raise ApiError("VALIDATION_FAILED", fields={where: ["must be an object"]})
        unknown = set(raw) - _FIELDS
        if unknown:
            raise ApiError("VALIDATION_FAILED", fields={f"{where}.{k}": ["unknown field"] for k in unknown})
        if not isinstance(raw.get("route"), str):
            raise ApiError(
                "VALIDATION_FAILED", fields={f"{where}.route": ["required: 'METHOD /v1/path' or '*'"]}
            )
        if raw.get("drop") not in (None, "before", "after"):
            raise ApiError("VALIDATION_FAILED", fields={f"{where}.drop": ["must be 'before' or 'after'"]})
        if "count" in raw and "ratio" in raw:
            raise ApiError("VALIDATION_FAILED", fields={where: ["give count or ratio, not both"]})
        rules.append(
            Rule(
                route=raw["route"],
                status=raw.get("status"),
                count=raw.get("count"),
                ratio=raw.get("ratio"),
                latency_ms=int(raw.get("latency_ms", 0)),
                retry_after=raw.get("retry_after"),
                drop=raw.get("drop"),
            )
        )
    return rules


class Faults:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._rng = rng or random.Random()

    def set(self, rules: list[Rule]) -> None:
        with self._lock:
            self._rules = list(rules)

    def clear(self) -> None:
        self.set([])

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(vars(r)) for r in self._rules]

    def take(self, method: str, path: str, template: str | None) -> Plan:
        """Merge every rule that fires for this request; rules with a count are consumed."""
        plan = Plan()
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path, template):
                    continue
                if rule.count is not None:
                    if rule.count <= 0:
                        continue
                    rule.count -= 1
                elif rule.ratio is not None and self._rng.random() >= rule.ratio:
                    continue
                plan.latency_ms += rule.latency_ms
                if rule.status is not None and plan.status is None:
                    plan.status, plan.retry_after = rule.status, rule.retry_after
                if rule.drop is not None and plan.drop is None:
                    plan.drop = rule.drop
            self._rules = [r for r in self._rules if r.count is None or r.count > 0]
        return plan
