"""Worked examples of the polling core: each first-run policy, a 5,000-record backlog, ties, deletions,
re-created subscriptions, out-of-order pages, updated-record triggers, the poll log and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connector.clock import FakeClock
from connector.errors import RateLimitedError
from tests.triggers.fake_source import BASE, Driver, FakeSource, at_of
from triggers import poll as poll_module
from triggers.cursor import MICROS, OrderingValueError, PollSpec, PollState, format_ts, parse_ts
from triggers.poll import Checkpoint, FirstRun, poll

SPEC = PollSpec(order_by="created_at", overlap_seconds=5)


def seeded(count: int, *, page_size: int = 10, mode: str = "offset", step: int = 1) -> FakeSource:
    source = FakeSource(page_size=page_size, mode=mode)  # type: ignore[arg-type]
    for i in range(count):
        source.add(f"old{i:03d}", BASE + i * step * MICROS)
    return source


def add_new(source: FakeSource, count: int, at: int, prefix: str = "new") -> list[str]:
    ids = [f"{prefix}{i:04d}" for i in range(count)]
    for rid in ids:
        source.add(rid, at)
    return ids


def test_from_now_primes_the_head_and_commits_the_seed_with_the_first_result() -> None:
    source = seeded(30)
    driver = Driver(source, SPEC)
    first = driver.poll()
    assert first.new_records == ()
    assert first.decision.first_run == "from_now"
    assert first.new_state.primed and first.new_state.cursor == format_ts(BASE + 29 * MICROS)
    assert {k for k, _ in first.new_state.seen} >= {f"old{i:03d}" for i in range(24, 30)}
    ids = add_new(source, 3, BASE + 40 * MICROS)
    second = driver.poll()
    assert [r["id"] for r in second.new_records] == ids
    assert second.decision.first_run is None
    assert driver.poll().new_records == ()


def test_last_n_emits_the_n_newest_oldest_first_and_nothing_else_from_before() -> None:
    source = seeded(30, page_size=4)
    driver = Driver(source, SPEC, first_run=FirstRun("last_n", n=7))
    first = driver.poll()
    assert [r["id"] for r in first.new_records] == [f"old{i:03d}" for i in range(23, 30)]
    later = add_new(source, 2, BASE + 31 * MICROS)
    driver.settle()
    assert driver.keys() == [f"old{i:03d}" for i in range(23, 30)] + later


def test_since_emits_everything_at_or_after_the_timestamp_oldest_first() -> None:
    source = seeded(50, page_size=7)
    since = FirstRun("since", since=format_ts(BASE + 20 * MICROS))
    driver = Driver(source, SPEC, first_run=since)
    first = driver.poll()
    assert first.decision.first_run == "since"
    assert [r["id"] for r in first.new_records] == [f"old{i:03d}" for i in range(20, 50)]
    assert driver.poll().new_records == ()


def test_since_seed_is_committed_even_when_the_first_poll_only_starts_a_drain() -> None:
    source = seeded(60, page_size=5)
    driver = Driver(source, SPEC, first_run=FirstRun("since", since=format_ts(BASE)))
    first = driver.poll(budget=0, max_pages=2)
    assert first.new_records == () and first.new_state.primed
    assert first.new_state.floor == format_ts(BASE) and first.new_state.pending
    driver.settle()
    assert driver.keys() == [f"old{i:03d}" for i in range(60)]


def test_a_backlog_of_5000_records_drains_across_budgeted_polls_in_order_and_survives_a_crash() -> None:
    clock = FakeClock()
    source = FakeSource(page_size=100, clock=clock, page_seconds=0.5)
    add_new(source, 10, BASE, prefix="old")
    driver = Driver(source, SPEC, clock=clock)
    driver.poll(budget=5)
    backlog = [f"r{i:04d}" for i in range(5000)]
    for i, rid in enumerate(backlog):
        source.add(rid, BASE + MICROS * (1 + i // 7))  # seven records per second: many ties
    polls = 0
    while polls == 0 or driver.state.pending or driver.results[-1].new_records:
        keep = 3 if polls == 12 else None  # one poll crashes after its third checkpoint
        result = driver.poll(budget=5, keep=keep)
        polls += 1
        assert result.decision.pages <= 11
        assert len(result.checkpoints) >= 1
    assert driver.keys() == backlog
    exhausted = [r for r in driver.results if r.decision.budget_exhausted]
    assert len(exhausted) >= 10
    assert max(r.decision.backlog_pages for r in driver.results) >= 49


def test_identical_timestamps_across_pages_and_polls() -> None:
    source = FakeSource(page_size=100)
    driver = Driver(source, SPEC)
    driver.poll()
    at = BASE + 3 * MICROS
    batches = [add_new(source, 120, at, prefix=f"b{n}-") for n in range(3)]
    for _ in range(3):
        driver.poll()
    add_new(source, 1, at + 60 * MICROS, prefix="after-")
    driver.settle()
    assert driver.keys() == [rid for batch in batches for rid in batch] + ["after-0000"]


def test_deleted_records_reopen_nothing() -> None:
    """Activepieces' LAST_ITEM bug: deleting the remembered newest record must not re-emit older ones."""
    source = seeded(20, page_size=3)
    driver = Driver(source, SPEC)
    driver.poll()
    fresh = add_new(source, 4, BASE + 30 * MICROS)
    driver.poll()
    for rid in [fresh[-1], fresh[-2], "old019", "old005"]:
        source.delete(rid)
    more = add_new(source, 2, BASE + 31 * MICROS, prefix="more")
    driver.settle()
    assert driver.keys() == fresh + more


def test_records_deleted_inside_a_pending_backlog_are_skipped_and_nothing_else_is() -> None:
    source = FakeSource(page_size=5)
    driver = Driver(source, SPEC)
    driver.poll()
    ids = [f"r{i:03d}" for i in range(60)]
    for i, rid in enumerate(ids):
        source.add(rid, BASE + i * MICROS)
    driver.poll(budget=0, max_pages=3)
    gone = set(ids[10:40:3])
    for rid in gone:
        source.delete(rid)
    driver.settle()
    assert driver.keys() == [rid for rid in ids if rid not in gone]


def test_a_recreated_subscription_starts_from_its_own_first_run_policy() -> None:
    source = seeded(10)
    driver = Driver(source, SPEC)
    driver.poll()
    before_delete = add_new(source, 3, BASE + 20 * MICROS)
    driver.poll()
    assert driver.keys() == before_delete
    while_gone = add_new(source, 2, BASE + 30 * MICROS, prefix="gap")
    again = Driver(source, SPEC, first_run=FirstRun("since", since=format_ts(BASE + 25 * MICROS)))
    again.poll()
    assert again.keys() == while_gone
    fresh = Driver(source, SPEC)
    fresh.poll()
    assert fresh.keys() == []
    later = add_new(source, 1, BASE + 40 * MICROS, prefix="later")
    fresh.poll()
    assert fresh.keys() == later


def test_out_of_order_timestamps_within_pages() -> None:
    source = FakeSource(page_size=6, shuffle=True)
    driver = Driver(source, SPEC)
    driver.poll()
    ids = [f"r{i:03d}" for i in range(40)]
    for i, rid in enumerate(ids):
        source.add(rid, BASE + (i // 3) * MICROS)
    driver.poll(budget=0, max_pages=2)
    driver.settle()
    assert sorted(driver.keys()) == ids
    assert [at_of(r) for r in driver.emitted] == sorted(at_of(r) for r in driver.emitted)


def test_late_record_within_the_overlap_is_caught_and_older_than_it_is_not() -> None:
    source = seeded(5, step=10)
    driver = Driver(source, SPEC)
    driver.poll()
    newest = BASE + 40 * MICROS
    source.add("late-equal", newest)
    source.add("late-4s", newest - 4 * MICROS)
    source.add("too-late", newest - 6 * MICROS)
    result = driver.poll()
    assert [r["id"] for r in result.new_records] == ["late-4s", "late-equal"]
    assert result.decision.too_old >= 1


def test_the_walk_from_the_head_rereads_the_whole_window_past_records_already_handed_over() -> None:
    """The newest handed-over record is on the first page; a record written late 4 s behind it lands
    on the last page, still inside the 5 s overlap: the re-read goes on to the floor and finds it."""
    source = FakeSource(page_size=2)
    driver = Driver(source, SPEC)
    driver.poll()
    ids = add_new(source, 8, BASE + 10 * MICROS)
    driver.poll()
    source.add("late", BASE + 6 * MICROS)
    result = driver.poll()
    assert [r["id"] for r in result.new_records] == ["late"]
    assert result.decision.window_complete is True and result.decision.pages == 5
    assert driver.keys() == [*ids, "late"]


def test_updated_record_trigger_fires_once_per_version() -> None:
    spec = PollSpec(order_by="updated_at", dedupe=("id", "updated_at"))
    source = FakeSource(page_size=3, field_name="updated_at")
    for i in range(5):
        source.add(f"sub{i}", BASE + i * MICROS, status="active")
    driver = Driver(source, spec)
    driver.poll()
    source.update("sub1", BASE + 10 * MICROS, status="canceled")
    driver.poll()
    driver.poll()
    source.update("sub1", BASE + 11 * MICROS, status="active")
    driver.settle()
    versions = [(r["id"], r["updated_at"], r["status"]) for r in driver.emitted]
    assert versions == [
        ("sub1", format_ts(BASE + 10 * MICROS), "canceled"),
        ("sub1", format_ts(BASE + 11 * MICROS), "active"),
    ]


def test_status_trigger_ignores_an_update_that_keeps_the_status_even_inside_a_backlog() -> None:
    """Keyed on id + status: the same status at a new `updated_at` is a repeat. Its key is seen, but at
    another time, so meeting it while climbing is no proof of having reached what was handed over."""
    spec = PollSpec(order_by="updated_at", dedupe=("id", "status"), overlap_seconds=60)
    source = FakeSource(page_size=1, field_name="updated_at")
    driver = Driver(source, spec)
    driver.poll()
    ids = [f"m{i:02d}" for i in range(20)]
    for i, rid in enumerate(ids):
        source.add(rid, BASE + i * MICROS, status="active")
    while not driver.emitted:
        driver.poll(budget=0, max_pages=2)
    assert driver.state is not None and driver.state.pending and driver.keys()[0] == "m00"
    source.update("m00", BASE + 6 * MICROS + 500_000, status="active")  # lands among the backlog
    driver.settle()
    assert driver.keys() == ids


def test_poll_decision_reports_the_window_and_counts() -> None:
    source = seeded(10, step=2)
    driver = Driver(source, SPEC)
    driver.poll()
    before = driver.state
    assert before is not None
    add_new(source, 2, BASE + 30 * MICROS)
    decision = driver.poll().decision
    assert decision.window_from == before.floor
    assert decision.window_to == format_ts(BASE + 30 * MICROS)
    assert (decision.pages, decision.fetched, decision.new) == (1, 10, 2)
    assert decision.suppressed == 3 and decision.too_old == 5
    assert decision.cursor_before == format_ts(BASE + 18 * MICROS)
    assert decision.cursor_after == format_ts(BASE + 30 * MICROS)
    assert not decision.budget_exhausted and decision.backlog_pages == 0 and decision.error is None
    assert json.loads(json.dumps(decision.to_dict()))["new"] == 2


def test_state_survives_a_json_round_trip_mid_drain() -> None:
    source = FakeSource(page_size=4, mode="keyset")
    driver = Driver(source, SPEC)
    driver.poll()
    ids = add_new(source, 30, BASE + MICROS)
    while driver.state is not None and not driver.emitted:
        driver.poll(budget=0, max_pages=2)
        driver.state = PollState.from_dict(json.loads(json.dumps(driver.state.to_dict())))
    driver.settle()
    assert driver.keys() == ids


def test_checkpoints_reach_the_callback_after_every_page_of_a_descent() -> None:
    source = FakeSource(page_size=2)
    seen: list[Checkpoint] = []
    state = poll(source.fetch, None, SPEC, FakeClock(), budget_seconds=1)
    add_new(source, 20, BASE + MICROS)
    result = poll(
        source.fetch, state.new_state, SPEC, FakeClock(), budget_seconds=0, on_checkpoint=seen.append
    )
    assert list(result.checkpoints) == seen and len(seen) == 1
    assert seen[-1].state.pending == (None, 2, 3)


def test_an_upstream_error_stops_the_poll_and_keeps_the_checkpoints_made_before_it() -> None:
    source = FakeSource(page_size=2)
    for i in range(6):
        source.add(f"r{i}", BASE + i * MICROS)
    calls = {"n": 0}

    def flaky(token: Any) -> tuple[list[dict[str, Any]], Any]:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RateLimitedError("slow down", retry_after=5)
        return source.fetch(token)

    since = FirstRun("since", since=format_ts(BASE))
    first = poll(flaky, None, SPEC, FakeClock(), budget_seconds=0, first_run=since)
    result = poll(flaky, first.new_state, SPEC, FakeClock(), budget_seconds=10, first_run=since)
    assert isinstance(result.error, RateLimitedError) and result.decision.error == "RATE_LIMITED"
    assert result.new_state == result.checkpoints[-1].state
    assert result.checkpoints


def test_a_record_without_its_ordering_value_is_reported_not_guessed() -> None:
    def fetch(token: Any) -> tuple[list[dict[str, Any]], Any]:
        return [{"id": "r1", "created_at": "2026-05-18T10:00:00"}], None

    result = poll(fetch, None, SPEC, FakeClock(), budget_seconds=1)
    assert isinstance(result.error, OrderingValueError)
    assert "r1" in result.error.message and result.new_state == PollState()


def test_a_seed_cut_short_by_its_page_cap_treats_the_unread_window_as_before_the_first_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(poll_module, "SEED_MAX_PAGES", 2)
    spec = PollSpec(order_by="created_at", overlap_seconds=60)
    source = seeded(30, page_size=3)
    driver = Driver(source, spec)
    driver.poll(budget=0, max_pages=2)
    assert driver.state is not None
    assert parse_ts(driver.state.floor or "") == BASE + 24 * MICROS + 1
    fresh = add_new(source, 2, BASE + 29 * MICROS)
    driver.settle()
    assert driver.keys() == fresh


def test_max_pages_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="max_pages"):
        poll(FakeSource().fetch, None, SPEC, FakeClock(), budget_seconds=1, max_pages=1)
