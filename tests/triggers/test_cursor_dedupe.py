"""Timestamps, the stored state, the bounded seen set, record keys and Zapier's polling items."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triggers.cursor import (
    MICROS,
    OrderingValueError,
    PollSpec,
    PollState,
    format_ts,
    next_floor,
    parse_ts,
)
from triggers.dedupe import SeenSet, record_key, zapier_items
from triggers.poll import FirstRun

T0 = parse_ts("2026-05-18T10:05:00Z")


@given(st.integers(0, 4_000_000_000 * MICROS))
def test_timestamps_round_trip_to_the_microsecond(micros: int) -> None:
    assert parse_ts(format_ts(micros)) == micros


def test_timestamps_compare_in_utc_whatever_the_offset() -> None:
    assert parse_ts("2026-05-18T12:05:00+02:00") == T0
    assert parse_ts("2026-05-18T10:05:00.250Z") == T0 + 250_000
    assert format_ts(T0) == "2026-05-18T10:05:00Z"
    assert format_ts(T0 + 7) == "2026-05-18T10:05:00.000007Z"


@pytest.mark.parametrize("bad", ["2026-05-18T10:05:00", "", "yesterday", None, 1716026700])
def test_naive_or_malformed_timestamps_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_ts(bad)


def test_next_floor_never_falls_and_waits_for_a_cursor_and_a_head_read() -> None:
    assert next_floor(None, None, T0, 5 * MICROS) is None
    assert next_floor(T0, T0 + 60 * MICROS, None, 5 * MICROS) == T0
    assert next_floor(None, T0 + 60 * MICROS, T0 + 10 * MICROS, 5 * MICROS) == T0 + 5 * MICROS
    assert next_floor(T0 + 20 * MICROS, T0 + 10 * MICROS, T0 + 10 * MICROS, 0) == T0 + 20 * MICROS


def test_state_round_trips_through_json() -> None:
    state = PollState(
        cursor=format_ts(T0),
        floor=format_ts(T0 - 5 * MICROS),
        head_mark=format_ts(T0),
        seen=(("mem_1", format_ts(T0)),),
        primed=True,
        pending=(None, 2, "c2VxOjQ"),
    )
    assert PollState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 9}, "version"),
        ({"seen": [["only-a-key"]]}, "seen"),
        ({"pending": [{"page": 2}]}, "pending"),
        ({"cursor": "not a time"}, "timestamp"),
    ],
)
def test_a_damaged_stored_state_is_refused_with_the_reason(change: dict, message: str) -> None:
    data = {**PollState().to_dict(), **change}
    with pytest.raises(ValueError, match=message):
        PollState.from_dict(data)


def test_spec_and_first_run_validate_their_fields() -> None:
    assert PollSpec(order_by="created_at", dedupe=["id", "status"]).dedupe == ("id", "status")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PollSpec(order_by="created_at", dedupe=())
    with pytest.raises(ValueError):
        PollSpec(order_by="created_at", max_seen=0)
    with pytest.raises(ValueError):
        FirstRun("last_n", n=0)
    with pytest.raises(ValueError):
        FirstRun("since", since="2026-05-18")
    with pytest.raises(ValueError):
        FirstRun("everything")  # type: ignore[arg-type]


def test_seen_set_drops_keys_below_the_floor() -> None:
    seen = SeenSet([("a", T0), ("b", T0 + MICROS), ("c", T0 + 2 * MICROS)])
    assert seen.prune(T0 + MICROS, 10) == T0 + MICROS
    assert "a" not in seen and "b" in seen and len(seen) == 2


def test_seen_set_overflow_drops_whole_granules_and_raises_the_floor() -> None:
    seen = SeenSet([("a", T0), ("b", T0 + MICROS), ("c", T0 + MICROS), ("d", T0 + 2 * MICROS)])
    floor = seen.prune(None, 2)
    assert floor == T0 + 2 * MICROS and [k for k, _ in seen.to_state()] == ["d"]


def test_seen_set_keeps_the_boundary_granule_whole_past_its_bound() -> None:
    seen = SeenSet([(f"k{i}", T0) for i in range(5)] + [("old", T0 - MICROS)])
    assert seen.prune(None, 2) == T0
    assert len(seen) == 5


@given(
    st.lists(st.tuples(st.text("abcdefgh", min_size=1, max_size=3), st.integers(0, 6)), max_size=30),
    st.one_of(st.none(), st.integers(0, 6)),
    st.integers(1, 8),
)
def test_pruning_keeps_every_key_at_or_after_the_floor_it_returns(pairs, floor, max_seen) -> None:
    seen = SeenSet((k, T0 + at * MICROS) for k, at in pairs)
    before = {k: seen.at(k) for k, _ in pairs}
    new_floor = seen.prune(None if floor is None else T0 + floor * MICROS, max_seen)
    kept = dict((k, parse_ts(at)) for k, at in seen.to_state())
    if new_floor is not None:
        assert all(at >= new_floor for at in kept.values())
        assert {k for k, at in before.items() if at is not None and at >= new_floor} == set(kept)
        assert floor is None or new_floor >= T0 + floor * MICROS
    newest = max(kept.values(), default=None)
    assert len(kept) <= max(max_seen, sum(1 for at in kept.values() if at == newest))


def test_record_keys_join_the_dedupe_fields() -> None:
    record = {"id": "sub_1", "updated_at": "2026-05-18T10:05:00Z", "status": "active", "amount": 12}
    assert record_key(record, ["id"]) == "sub_1"
    assert record_key(record, ["id", "updated_at"]) == "sub_1:2026-05-18T10:05:00Z"
    assert record_key(record, ["id", "amount"]) == "sub_1:12"


def test_a_missing_dedupe_field_names_the_record_and_the_field() -> None:
    with pytest.raises(OrderingValueError) as caught:
        record_key({"id": "sub_1"}, ["id", "status"])
    assert "sub_1" in caught.value.message and "status" in caught.value.message


def _rows(*specs: tuple[str, int]) -> list[dict]:
    return [
        {"id": rid, "created_at": format_ts(T0 + at * MICROS), "n": i} for i, (rid, at) in enumerate(specs)
    ]


def test_zapier_items_are_newest_first_with_upstream_order_for_ties_and_honour_limit() -> None:
    spec = PollSpec(order_by="created_at")
    rows = _rows(("b", 1), ("a", 5), ("c", 1), ("d", 3))
    assert [i["id"] for i in zapier_items(rows, spec)] == ["a", "d", "b", "c"]
    assert [i["id"] for i in zapier_items(rows, spec, limit=3)] == ["a", "d", "b"]
    assert len(zapier_items(rows, spec, limit=-1)) == 4
    assert zapier_items(rows, spec, limit=0) == []


def test_zapier_items_for_updated_triggers_carry_a_versioned_unique_id() -> None:
    spec = PollSpec(order_by="updated_at", dedupe=("id", "updated_at"))
    rows = [
        {"id": "sub_1", "updated_at": "2026-05-18T10:06:00Z", "status": "canceled"},
        {"id": "sub_1", "updated_at": "2026-05-18T10:05:00Z", "status": "active"},
        {"id": "sub_1", "updated_at": "2026-05-18T10:05:00Z", "status": "active"},
    ]
    items = zapier_items(rows, spec)
    assert [i["id"] for i in items] == ["sub_1:2026-05-18T10:06:00Z", "sub_1:2026-05-18T10:05:00Z"]
    assert all(i["record_id"] == "sub_1" for i in items)
    assert items[0]["status"] == "canceled"
    assert rows[0]["id"] == "sub_1"  # the caller's records are left alone
