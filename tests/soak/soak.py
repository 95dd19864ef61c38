"""The soak and fault run: MemberPass traffic, sandbox faults, a flapping receiver and SIGKILLs, all at once,
then a count of what was lost or duplicated.

:func:`run_soak` starts its own sandbox (its faults and request log touch nothing else), a signature-checking
receiver and ``memberpass-connector serve`` in a subprocess, subscribes the ``tests.e2e`` scenario's
triggers (four event triggers and ``new_member``) and, for ``seconds``, runs side by side:

- traffic: ``POST /_sandbox/simulate`` bursts of lifecycle changes;
- faults (``PUT /_sandbox/faults``) on the routes the connector polls and on the action route: 10 % 500s
  the whole time, plus a rotating burst of 429s with ``retry_after``, latency spikes, connections dropped
  before handling or after committing;
- a flapping receiver: endpoints answer 500, or stall past the connector's 15 s read timeout, or the
  receiver refuses connections, for a second or three at a time;
- SIGKILL of the connector at random moments, restarted on the same database;
- a caller (as Zapier would) running ``create_plan`` through ``POST /api/actions/create_plan`` with an
  ``Idempotency-Key`` and retrying failures with the same key.

Then it settles: faults cleared, receiver healthy, the connector running. Failed rows due within
:data:`NATURAL_WAIT` are left to the retry schedule (``webhooks/schedule.py``: 10 s, then 1 min…); rows due
later are replayed with ``POST /api/deliveries/<id>/retry``, as an operator would (the connector has no
setting that shortens the schedule). The report compares what the receiver accepted with what the sandbox
says happened (its event feed and member list) and the plans upstream with the action keys.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from connector.sandbox import SandboxServer, SandboxSettings
from tests.e2e.receiver import Receiver
from tests.e2e.scenario import Run
from tests.e2e.service import Api, ConnectorProcess
from tests.e2e.upstream import SUBSCRIBED_EVENTS, Team, seeded_team, settle
from webhooks.outbox import LEASE_SECONDS

POLL_INTERVAL = 0.5
POLLED_ROUTES = ("GET /v1/webhook-events", "GET /v1/projects/{project_id}/members")
ACTION_ROUTES = ("POST /v1/projects/{project_id}/plans",)
FAULTED_ROUTES = POLLED_ROUTES + ACTION_ROUTES
BACKGROUND_FAULTS = [{"route": r, "status": 500, "ratio": 0.1} for r in FAULTED_ROUTES]
BURSTS: dict[str, list[dict[str, Any]]] = {
    "429": [{"route": r, "status": 429, "retry_after": 1, "count": 4} for r in FAULTED_ROUTES],
    "latency": [{"route": r, "latency_ms": 1500, "count": 3} for r in FAULTED_ROUTES],
    "drop_before": [{"route": r, "drop": "before", "count": 3} for r in FAULTED_ROUTES],
    "drop_after": [{"route": r, "drop": "after", "count": 3} for r in FAULTED_ROUTES],
}
PHASE_SECONDS = 3.0  # each burst kind holds this long before the next replaces it
STALL_SECONDS = 16.0  # longer than the delivery worker's 15 s read timeout
NATURAL_WAIT = 15.0  # at settling, failed rows due sooner than this are left to the retry schedule
ACTION_CLAIM_LEASE = 120.0  # actions/idempotency.py: how long a killed process's claim blocks its key
SETTLE_SECONDS = 60.0 + LEASE_SECONDS  # a claim of a killed worker is not always handed back at once


@dataclass
class SoakReport:
    mode: str
    seconds: float
    seed: int
    produced: int = 0
    delivered: int = 0
    missing: int = 0
    unexpected: int = 0
    duplicated_by_record: int = 0
    duplicated_by_webhook_id: int = 0
    redeliveries: int = 0
    unverified: int = 0
    dead_rows: int = 0
    operator_retries: int = 0
    actions_attempted: int = 0
    action_calls: int = 0
    actions_created: int = 0
    actions_duplicated: int = 0
    actions_missing: int = 0
    max_lag_s: float = 0.0
    kills: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    flaps: dict[str, int] = field(default_factory=dict)
    action_answers: dict[str, int] = field(default_factory=dict)
    upstream_disabled: int = 0
    settled: bool = False
    settle_s: float = 0.0
    wall_s: float = 0.0

    @property
    def passed(self) -> bool:
        faults = (
            self.missing, self.unexpected, self.duplicated_by_record, self.duplicated_by_webhook_id,
            self.unverified, self.actions_duplicated, self.actions_missing,
        )  # fmt: skip
        return self.settled and not any(faults)

    def rows(self) -> list[tuple[str, str]]:
        faults = ", ".join(f"{k} {v}" for k, v in self.faults.items())
        flaps = ", ".join(f"{k} {v}" for k, v in self.flaps.items())
        answers = ", ".join(f"{k} {v}" for k, v in self.action_answers.items())
        return [
            ("mode / chaos seconds / seed", f"{self.mode} / {self.seconds:g} / {self.seed}"),
            ("records produced", str(self.produced)),
            ("delivered", str(self.delivered)),
            ("missing", str(self.missing)),
            ("unexpected (never produced)", str(self.unexpected)),
            ("duplicated by record", str(self.duplicated_by_record)),
            ("duplicated by webhook-id", str(self.duplicated_by_webhook_id)),
            ("redeliveries (same webhook-id)", str(self.redeliveries)),
            ("unverified signatures", str(self.unverified)),
            ("dead rows / operator retries", f"{self.dead_rows} / {self.operator_retries}"),
            ("actions attempted (calls)", f"{self.actions_attempted} ({self.action_calls})"),
            ("connector answers to the caller", answers),
            ("records created upstream", str(self.actions_created)),
            ("action keys duplicated / missing", f"{self.actions_duplicated} / {self.actions_missing}"),
            ("max delivery lag", f"{self.max_lag_s:.1f} s"),
            ("SIGKILLs", str(self.kills)),
            ("faults injected", faults),
            ("receiver flaps", flaps),
            ("MemberPass endpoints auto-disabled", str(self.upstream_disabled)),
            (
                "settled / settling / wall clock",
                f"{self.settled} / {self.settle_s:.1f} s / {self.wall_s:.1f} s",
            ),
            ("result", "PASS" if self.passed else "FAIL"),
        ]

    def table(self) -> str:
        rows = self.rows()
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


class FlappingReceiver(Receiver):
    """The e2e receiver whose endpoints can fail (answer 500) or stall (answer after the sender gave up)."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: set[str] = set()
        self.stalled: set[str] = set()
        self.respond = lambda name, before: 500 if name in self.failing else 200

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int | None:
        status = super().handle(path, headers, body)
        if status is not None and path.rsplit("/", 1)[-1] in self.stalled:
            time.sleep(STALL_SECONDS)
        return status

    def heal(self) -> None:
        self.failing.clear()
        self.stalled.clear()
        if self._server is None:
            self.up()


@dataclass
class Action:
    key: str
    name: str
    calls: int = 0
    done: bool = False


class Chaos:
    """The side-by-side workers of one run and what they did; a worker's crash is kept for the end."""

    def __init__(self, soak: Soak, seconds: float) -> None:
        self.soak, self.seconds = soak, seconds
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []

    def spawn(self, work: Callable[[], None]) -> None:
        def guarded() -> None:
            try:
                work()
            except BaseException as err:  # re-raised by join()
                self.errors.append(err)
                self.stop.set()

        thread = threading.Thread(target=guarded, daemon=True, name=work.__name__)
        self.threads.append(thread)
        thread.start()

    def run(self) -> None:
        soak = self.soak
        for work in (soak.traffic, soak.faults, soak.flaps, soak.kills, soak.actions):
            self.spawn(lambda work=work: work(self.stop))  # type: ignore[misc]
        self.stop.wait(self.seconds)
        self.stop.set()
        for thread in self.threads:
            thread.join(ACTION_CLAIM_LEASE + 60)
        if self.errors:
            raise self.errors[0]


class Soak:
    def __init__(
        self, sandbox: SandboxServer, workdir: Path, seed: int, mode: str, kill_during_actions: bool
    ) -> None:
        self.sandbox, self.seed, self.mode = sandbox, seed, mode
        self.team: Team = seeded_team(sandbox)
        self.receiver = FlappingReceiver()
        self.receiver.up()
        self.connector = ConnectorProcess(
            sandbox.base_url, workdir, poll_interval=POLL_INTERVAL, public=mode == "webhook"
        ).start()
        api = Api(self.connector.url).connect(self.team.token)
        self.run = Run(self.team, self.receiver, SUBSCRIBED_EVENTS).subscribe(api)
        self.events: list[dict[str, Any]] = []
        self.action_list: list[Action] = []
        self.action_lock = threading.Lock()  # held by a call in flight when kills must not land mid-action
        self.kill_during_actions = kill_during_actions
        self.counters: dict[str, int] = {}
        self.counter_lock = threading.Lock()
        self.operator_retries = 0

    @property
    def api(self) -> Api:
        assert self.run.api is not None
        return self.run.api

    def count(self, what: str, n: int = 1) -> None:
        with self.counter_lock:
            self.counters[what] = self.counters.get(what, 0) + n

    # --- the workers -------------------------------------------------------------------------------------
    def rng(self, worker: str) -> random.Random:
        """Each worker draws from its own seeded generator (threads interleave, so one shared generator
        would hand out different numbers on every run)."""
        return random.Random(f"{self.seed}:{worker}")

    def traffic(self, stop: threading.Event) -> None:
        rng, first = self.rng("traffic"), True
        while not stop.is_set():
            self.events += self.team.simulate(rng.randint(4, 10), seed=self.seed if first else None)
            first = False
            stop.wait(rng.uniform(0.2, 0.5))

    def faults(self, stop: threading.Event) -> None:
        rng, kinds = self.rng("faults"), list(BURSTS)
        while not stop.is_set():
            rng.shuffle(kinds)
            for kind in kinds:
                put_faults(self.sandbox, BURSTS[kind] + BACKGROUND_FAULTS)
                stop.wait(PHASE_SECONDS)
                self.count(f"fault {kind}", consumed(self.sandbox, BURSTS[kind]))
                if stop.is_set():
                    return

    def flaps(self, stop: threading.Event) -> None:
        """One flap of each kind first (so a short run has them all), then kinds at random."""
        rng, kinds, endpoints = self.rng("flaps"), ["500", "stall", "down"], list(self.run.subscriptions)
        flapped = 0
        while not stop.wait(rng.uniform(1.0, 3.0)):
            kind = kinds[flapped] if flapped < len(kinds) else rng.choice(kinds)
            chosen = set(rng.sample(endpoints, rng.randint(1, 2)))
            flapped += 1
            self.count(f"flap {kind}")
            with self.flap(kind, chosen):
                stop.wait(rng.uniform(0.5, 1.0) if kind == "stall" else rng.uniform(1.0, 2.5))

    @contextmanager
    def flap(self, kind: str, endpoints: set[str]) -> Iterator[None]:
        if kind == "down":
            self.receiver.down()
        else:
            (self.receiver.failing if kind == "500" else self.receiver.stalled).update(endpoints)
        try:
            yield
        finally:
            self.receiver.failing.clear()
            self.receiver.stalled.clear()
            if kind == "down":
                self.receiver.up()

    def kills(self, stop: threading.Event) -> None:
        rng = self.rng("kills")
        while not stop.wait(rng.uniform(1.0, 3.0)):
            lock: AbstractContextManager[Any] = (
                nullcontext() if self.kill_during_actions else self.action_lock
            )
            with lock:
                self.connector.kill()
            time.sleep(rng.uniform(0.0, 0.5))
            self.connector.start()

    def actions(self, stop: threading.Event) -> None:
        rng = self.rng("actions")
        while not stop.is_set():
            n = len(self.action_list)
            action = Action(f"soak-{self.seed}-{n}", f"Soak plan {self.seed}-{n}")
            self.action_list.append(action)
            self.finish(action, deadline=time.monotonic() + ACTION_CLAIM_LEASE + 30)
            stop.wait(rng.uniform(0.1, 0.4))

    def finish(self, action: Action, deadline: float) -> None:
        """Call until MemberPass's answer comes back (the same key every time), as Zapier retries a step."""
        while not action.done:
            assert time.monotonic() < deadline, f"action {action.key} never succeeded"
            with self.action_lock:
                action.calls += 1
                action.done = self.call_action(action)
            if not action.done:
                time.sleep(0.2)

    def call_action(self, action: Action) -> bool:
        body = {
            "project_id": self.team.project_id, "name": action.name, "price": 9, "currency": "USD",
            "billing_cycle": "months", "resources": [self.resource_id()],
        }  # fmt: skip
        headers = {"Authorization": f"Bearer {self.api.key}", "Idempotency-Key": action.key}
        try:
            answer = requests.post(
                self.api.url + "/api/actions/create_plan", json=body, headers=headers, timeout=40
            )
        except requests.RequestException:
            self.count("action no answer")
            return False  # the connector was killed mid-call, or was down
        if answer.status_code in (200, 201):
            self.count(f"action {answer.status_code}")
            return True
        self.count(f"action {answer.status_code} {error_code(answer)}")
        assert answer.status_code in (409, 429) or answer.status_code >= 500, answer.text
        return False

    def resource_id(self) -> str:
        resources = self.team.store.rows("resources", lambda r: r["project_id"] == self.team.project_id)
        return str(resources[0]["id"])


def error_code(answer: requests.Response) -> str:
    try:
        return str(answer.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "?"


# --- faults ----------------------------------------------------------------------------------------------
def put_faults(sandbox: SandboxServer, rules: list[dict[str, Any]]) -> None:
    answer = requests.put(sandbox.url + "/_sandbox/faults", json=rules, timeout=10)
    assert answer.status_code == 200, answer.text


def consumed(sandbox: SandboxServer, burst: list[dict[str, Any]]) -> int:
    """How many of the burst's counted rules fired (exhausted rules leave the list)."""
    live = requests.get(sandbox.url + "/_sandbox/faults", timeout=10).json()["data"]
    left = {r["route"]: r["count"] for r in live if r.get("count") is not None}
    return sum(rule["count"] - left.get(rule["route"], 0) for rule in burst)


def logged_faults(sandbox: SandboxServer, since: float) -> dict[str, int]:
    """Faulted answers the connector received, from the sandbox's request log (rate limits are lifted, so
    every 429 is injected; a dropped connection is logged without a status)."""
    log = requests.get(sandbox.url + "/_sandbox/requests", params={"since": since}, timeout=30).json()["data"]
    statuses = [r["status"] for r in log]
    return {
        "requests": len(log),
        "500": statuses.count(500),
        "429": statuses.count(429),
        "dropped": statuses.count(None),
    }


# --- settling --------------------------------------------------------------------------------------------
class Settler:
    """Faults cleared and the receiver healthy: wait until every record has arrived and every outbox row is
    booked as delivered, replaying rows whose next attempt is far off (an operator's retry button)."""

    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.replayed: set[str] = set()

    def calm(self) -> None:
        soak = self.soak
        requests.delete(soak.sandbox.url + "/_sandbox/faults", timeout=10)
        soak.receiver.heal()
        if soak.connector.process is None:
            soak.connector.start()
        for action in soak.action_list:
            soak.finish(action, deadline=time.monotonic() + ACTION_CLAIM_LEASE + 30)

    def settled(self, expected: dict[str, set[str]]) -> bool:
        api = self.soak.api
        failed = api.deliveries(status="failed")
        now = time.time()
        for row in failed:
            far = row["next_attempt_at"] and parse_time(row["next_attempt_at"]) > now + NATURAL_WAIT
            if far and api.call("POST", f"/api/deliveries/{row['id']}/retry").status_code == 200:
                self.replayed.add(row["id"])
        if failed or api.deliveries(status="pending"):
            return False
        return self.soak.run.complete(expected)

    def wait(self, expected: dict[str, set[str]], seconds: float) -> bool:
        """True once settled; False after ``seconds`` (the report then shows what is missing)."""
        deadline = time.monotonic() + seconds
        while not self.settled(expected):
            if time.monotonic() > deadline:
                return False
            time.sleep(1.0)
        settle(lambda: len(self.soak.receiver.accepted()), quiet=1.5, seconds=30)  # room for a duplicate
        return True


def parse_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# --- the report ------------------------------------------------------------------------------------------
def delivery_counts(receiver: Receiver, expected: dict[str, set[str]], report: SoakReport) -> None:
    for trigger, wanted in expected.items():
        by_record = receiver.by_record(trigger)
        report.produced += len(wanted)
        report.delivered += len(wanted & set(by_record))
        report.missing += len(wanted - set(by_record))
        report.unexpected += len(set(by_record) - wanted)
        report.duplicated_by_record += sum(1 for ids in by_record.values() if len(ids) > 1)
        report.duplicated_by_webhook_id += sum(len(ids) - 1 for ids in by_record.values())
    report.redeliveries = receiver.redeliveries()
    report.unverified = len(receiver.unverified())


def max_lag(receiver: Receiver) -> float:
    """Seconds from a record's upstream ``created_at`` (``joined_at`` for a member) to its first arrival."""
    lag = 0.0
    seen: set[tuple[str, str]] = set()
    for arrival in receiver.accepted():
        if (arrival.endpoint, str(arrival.record_id)) in seen or not isinstance(arrival.payload, dict):
            continue
        seen.add((arrival.endpoint, str(arrival.record_id)))
        made = arrival.payload.get("created_at") or arrival.payload.get("joined_at")
        if made:
            lag = max(lag, arrival.at - parse_time(made))
    return lag


def action_counts(soak: Soak, report: SoakReport) -> None:
    """Exactly one plan upstream per distinct action key (each key names its plan)."""
    prefix = f"Soak plan {soak.seed}-"
    names = [p["name"] for p in soak.team.store.rows("plans", lambda p: p["name"].startswith(prefix))]
    report.actions_attempted = len(soak.action_list)
    report.action_calls = sum(a.calls for a in soak.action_list)
    report.actions_created = len(names)
    report.actions_duplicated = len(names) - len(set(names))
    report.actions_missing = len({a.name for a in soak.action_list} - set(names))


def grouped(counters: dict[str, int], prefix: str) -> dict[str, int]:
    return {k.removeprefix(prefix): v for k, v in sorted(counters.items()) if k.startswith(prefix)}


def build_report(soak: Soak, expected: dict[str, set[str]], settler: Settler, started: float) -> SoakReport:
    report = SoakReport(soak.mode, 0.0, soak.seed, operator_retries=len(settler.replayed))
    delivery_counts(soak.receiver, expected, report)
    report.dead_rows = len(soak.api.deliveries(status="dead"))
    report.max_lag_s = max_lag(soak.receiver)
    action_counts(soak, report)
    report.kills = soak.connector.kills
    report.upstream_disabled = len(soak.team.store.rows("webhook_endpoints", lambda e: not e["is_active"]))
    report.faults = grouped(soak.counters, "fault ") | logged_faults(soak.sandbox, started)
    report.flaps = grouped(soak.counters, "flap ")
    report.action_answers = grouped(soak.counters, "action ")
    report.flaps["answered 500"] = sum(1 for a in soak.receiver.arrivals() if a.status == 500)
    return report


# --- the run ---------------------------------------------------------------------------------------------
SOAK_SETTINGS = SandboxSettings(per_minute=1_000_000, per_hour=100_000_000)  # every 429 is an injected one


def run_soak(
    seconds: float,
    seed: int,
    *,
    workdir: Path,
    mode: str = "polling",
    kill_during_actions: bool = True,
    settings: SandboxSettings = SOAK_SETTINGS,
    settle_seconds: float = SETTLE_SECONDS,
) -> SoakReport:
    """One soak of ``seconds`` of chaos in ``mode`` (``polling`` or ``webhook``), then settling; the report.
    ``kill_during_actions=False`` keeps SIGKILLs out of action calls in flight (see ACTION_CLAIM_LEASE)."""
    started_wall, started = time.time(), time.monotonic()
    with SandboxServer(settings) as sandbox:
        soak = Soak(sandbox, workdir, seed, mode, kill_during_actions)
        try:
            Chaos(soak, seconds).run()
            calm_at = time.monotonic()
            settler = Settler(soak)
            settler.calm()
            expected = soak.run.expected(soak.events)
            settled = settler.wait(expected, settle_seconds)
            report = build_report(soak, expected, settler, started_wall)
            report.settled = settled
            report.seconds, report.settle_s = seconds, time.monotonic() - calm_at
            report.wall_s = time.monotonic() - started
            return report
        finally:
            soak.connector.stop()
            soak.receiver.down()
