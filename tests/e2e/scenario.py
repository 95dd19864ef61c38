"""A subscribed run: event triggers plus the list-backed ``new_member`` trigger, each to its own endpoint of
the receiver, and the check that what the receiver accepted is what the sandbox says happened: for each
event trigger, the events of its type that its feed did not hold before subscribing; for ``new_member``, the
project's members that did not exist before. Every record must arrive, and under one ``webhook-id`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.e2e.receiver import Receiver
from tests.e2e.service import Api
from tests.e2e.upstream import LIST_TRIGGER, Team


@dataclass
class Run:
    team: Team
    receiver: Receiver
    events: list[str]
    before: dict[str, set[str]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    api: Api | None = None

    def subscribe(self, api: Api) -> Run:
        """Remember what exists upstream, then subscribe every trigger (default first run: from now)."""
        self.api = api
        self.before = {t: self.team.feed_ids(t) for t in self.events}
        self.before[LIST_TRIGGER] = self.team.member_ids()
        for trigger in self.events:
            self.subscriptions[trigger] = api.subscribe(trigger, self.receiver.url(trigger))
        self.subscriptions[LIST_TRIGGER] = api.subscribe(
            LIST_TRIGGER, self.receiver.url(LIST_TRIGGER), inputs={"project_id": self.team.project_id}
        )
        for trigger, subscription in self.subscriptions.items():
            self.receiver.secrets[trigger] = subscription["secret"]
        return self

    def expected(self, emitted: list[dict[str, Any]]) -> dict[str, set[str]]:
        """What the sandbox says is new since subscribing, per trigger; the feed must agree with the
        events the simulation answered."""
        expected = {t: self.team.feed_ids(t) - self.before[t] for t in self.events}
        expected[LIST_TRIGGER] = self.team.member_ids() - self.before[LIST_TRIGGER]
        for trigger in self.events:
            made = {e["id"] for e in emitted if e["type"] == trigger}
            assert expected[trigger] == made, f"{trigger}: the feed and the simulation disagree"
        return expected

    def complete(self, expected: dict[str, set[str]]) -> bool:
        return all(set(self.receiver.by_record(t)) >= wanted for t, wanted in expected.items())

    def assert_each_once(self, expected: dict[str, set[str]], *, redeliveries: bool) -> None:
        """Each expected record arrived, verified, under exactly one webhook-id, and nothing else arrived;
        unless ``redeliveries`` are allowed, each webhook-id arrived once too."""
        assert self.receiver.unverified() == []
        for trigger, wanted in expected.items():
            by_record = self.receiver.by_record(trigger)
            assert set(by_record) == wanted, f"{trigger}: {len(wanted - set(by_record))} missing"
            assert [r for r, ids in by_record.items() if len(ids) != 1] == [], f"{trigger}: two webhook-ids"
            if not redeliveries:
                assert len(self.receiver.accepted(trigger)) == len(wanted), f"{trigger}: delivered twice"
