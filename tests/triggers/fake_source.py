"""An in-memory newest-first list read page by page, as MemberPass serves lists, plus a poll driver that can
discard the tail of a poll's checkpoints (a crash before the commit)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from connector.clock import FakeClock
from triggers.cursor import MICROS, PageToken, PollSpec, PollState, format_ts, parse_ts
from triggers.poll import FirstRun, PollResult, poll

BASE = 1_780_000_000 * MICROS


class FakeSource:
    """Records sorted by ``(ordering value, creation order)``, newest first.

    ``offset`` pages are 1-based page numbers (they drift as records come and go); ``keyset`` tokens name
    the position of the last record of the previous page (stable). ``between_pages`` runs after every page
    read, to change the list while a poll walks it; ``page_seconds`` advances the clock per page;
    ``shuffle`` serves each page's records in a random order (timestamps out of order within a page).
    """

    def __init__(
        self,
        page_size: int = 10,
        mode: Literal["offset", "keyset"] = "offset",
        clock: FakeClock | None = None,
        page_seconds: float = 0.0,
        field_name: str = "created_at",
        shuffle: bool = False,
    ) -> None:
        self.page_size, self.mode, self.clock, self.page_seconds = page_size, mode, clock, page_seconds
        self.field = field_name
        self.shuffle = random.Random(7) if shuffle else None
        self.records: dict[str, dict[str, Any]] = {}
        self.position: dict[str, tuple[int, int]] = {}
        self.seq = 0
        self.fetches = 0
        self.between_pages: Callable[[], None] | None = None
        self._order: list[str] | None = None

    def add(self, rid: str, at: int, **extra: Any) -> dict[str, Any]:
        self.seq += 1
        record = {"id": rid, self.field: format_ts(at), **extra}
        self.records[rid] = record
        self.position[rid] = (at, self.seq)
        self._order = None
        return record

    def update(self, rid: str, at: int, **changes: Any) -> None:
        """Change a record; its ordering value becomes ``at``. Ties keep breaking on creation order (as
        ``ORDER BY updated_at DESC, id DESC`` would), so a change within the same second stays in place."""
        self.records[rid] = {**self.records[rid], self.field: format_ts(at), **changes}
        self.position[rid] = (at, self.position[rid][1])
        self._order = None

    def delete(self, rid: str) -> None:
        self.records.pop(rid, None)
        self.position.pop(rid, None)
        self._order = None

    def newest_first(self) -> list[str]:
        if self._order is None:
            self._order = sorted(self.records, key=lambda rid: self.position[rid], reverse=True)
        return list(self._order)

    def fetch(self, token: PageToken) -> tuple[list[dict[str, Any]], PageToken]:
        self.fetches += 1
        if self.clock is not None:
            self.clock.advance(self.page_seconds)
        ids = self.newest_first()
        if self.mode == "offset":
            page = int(token or 1)
            start = (page - 1) * self.page_size
            chunk = ids[start : start + self.page_size]
            following: PageToken = page + 1 if start + self.page_size < len(ids) else None
        else:
            if token is not None:
                at, seq = (int(part) for part in str(token).split(":"))
                ids = [rid for rid in ids if self.position[rid] < (at, seq)]
            chunk = ids[: self.page_size]
            last = self.position[chunk[-1]] if chunk else None
            following = f"{last[0]}:{last[1]}" if last and len(ids) > self.page_size else None
        page_records = [dict(self.records[rid]) for rid in chunk]
        if self.shuffle is not None:
            self.shuffle.shuffle(page_records)
        if self.between_pages is not None:
            self.between_pages()
        return page_records, following


@dataclass
class Driver:
    """Runs polls against a source and keeps only what was committed."""

    source: FakeSource
    spec: PollSpec
    clock: FakeClock = field(default_factory=FakeClock)
    first_run: FirstRun = field(default_factory=FirstRun)
    state: PollState | None = None
    emitted: list[dict[str, Any]] = field(default_factory=list)
    states: list[PollState] = field(default_factory=list)
    results: list[PollResult] = field(default_factory=list)

    def poll(
        self, *, budget: float = 30.0, max_pages: int | None = None, keep: int | None = None
    ) -> PollResult:
        """One poll; ``keep`` commits only the first ``keep`` checkpoints (the rest is lost in a crash)."""
        result = poll(
            self.source.fetch,
            self.state,
            self.spec,
            self.clock,
            budget_seconds=budget,
            first_run=self.first_run,
            max_pages=max_pages,
        )
        assert result.error is None, result.error
        kept = result.checkpoints if keep is None else result.checkpoints[:keep]
        for checkpoint in kept:
            self.emitted.extend(checkpoint.records)
            self.states.append(checkpoint.state)
        if kept:
            self.state = kept[-1].state
        self.results.append(result)
        return result

    def settle(self, limit: int = 500) -> None:
        """Poll with no budget limit until nothing is pending and a poll brings nothing new."""
        for _ in range(limit):
            result = self.poll(budget=1e9)
            if not result.new_records and self.state is not None and not self.state.pending:
                return
        raise AssertionError("polling never settled")

    def keys(self) -> list[str]:
        return [r["id"] for r in self.emitted]


def at_of(record: dict[str, Any], field_name: str = "created_at") -> int:
    return parse_ts(record[field_name])
