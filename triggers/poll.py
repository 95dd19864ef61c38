"""The polling core: read a newest-first source and hand every new record over exactly once, oldest first.

``poll(fetch_page, state, spec, clock, budget_seconds=…, first_run=…)`` is pure apart from ``fetch_page``
(``token -> (records, next_token)``; ``None`` asks for the head, a ``None`` next token ends the list) and
the injected clock. It returns the records to put in the outbox and the state to store with them, as a
list of checkpoints: each checkpoint is ``(records, state)`` to commit in one transaction, in order. Any
prefix of the checkpoints may be committed (a crash or a budget stop loses work, never records), and
``on_checkpoint`` lets the caller commit each one as soon as it exists.

How it reads. A *walk* starts at a page token and reads down (following next tokens) until it is
*anchored*. A walk from the head re-reads the overlap window: it goes below the floor (or to the end of
the list), so records that arrive late with equal or slightly older timestamps are caught (compared with
``>=``; ``seen`` drops repeats). When the window is denser than ``reread_pages`` pages past the first
record already handed over, or the budget runs out after such a record, it stops there and the poll log
says ``window_complete: false``. A walk climbing a backlog anchors below the floor or on a record already
handed over at the same ordering value (same key *and* time: a later version elsewhere proves nothing).

An anchored walk hands over its records at or after the floor whose keys are not in ``seen``, oldest
first, and the cursor moves to the newest of them. A walk that the budget stops before it anchors hands
over nothing: its page tokens join ``pending``, the backlog still to climb, and the next poll walks from
the deepest of them. So a backlog of thousands is found top-down across polls and handed over bottom-up,
each climbing step starting one to ``walk_pages`` pages higher and reading down into what is already
handed over; every step is a checkpoint. Offset pages drift as records come and go; a step never trusts a
stored token's position, only the anchor it reads. A poll may always read two pages, so a climbing step
(its page and the anchor below) always fits and a drain always progresses.

Model: the source is sorted newest first by ``order_by``, ties in a stable order (e.g. by id), disorder
inside a page is fine; consecutive pages of one walk are contiguous (exact for keyset cursors; on offset
lists a deletion *during* a walk can let an older record slip onto a page already read, and only the
overlap window recovers it). A record written *late* lands below records already listed; it is caught if
its timestamp is within the overlap of the newest one (and the window is re-read in full, see above).

Invariants (each holds in every committed state; tests/triggers/test_poll_properties.py checks them):

- I1 seen covers the window: every record handed over or seeded with ordering value >= ``floor`` has its
  key in ``seen``. Pruning keeps whole granules and raises the floor to the oldest kept one.
- I2 handed-over prefix: every record listed below the newest handed-over one, and written before the walk
  over its position, was handed over (or seeded, or precedes the first-run point): a walk anchors only
  inside what is already handed over, and the pages of a walk are contiguous.
- I3 no duplicates: a record is handed over only if its key is not in ``seen`` and its value is >=
  ``floor``; once handed over, I1 keeps it out until it falls below the floor, which never goes down.
- I4 late records: ``floor <= min(cursor, head_mark) - overlap``, where ``head_mark`` is the newest value
  read by the last anchored walk from the head; a record written late after that walk is at or after this
  floor, so the next anchored walk from the head reads and hands it over. Exceptions, both reported in the
  poll log: a re-read cut short (``window_complete: false``) and a full seen set (``seen_overflow``).
- I5 cursor: never above the newest record handed over (or seeded); it never goes down.
- I6 memory: ``len(seen) <= max(max_seen, keys at the newest granule)``; ``pending`` holds one token per
  backlog page still to climb.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from connector.clock import Clock
from connector.errors import ConnectorError, PaginationLoopError
from triggers.cursor import (
    PageToken,
    PollSpec,
    PollState,
    next_floor,
    opt_format,
    opt_parse,
    ordering_value,
    parse_ts,
)
from triggers.dedupe import SeenSet, record_key

FetchPage = Callable[[PageToken], tuple[Sequence[Any], PageToken]]
Policy = Literal["from_now", "last_n", "since"]
POLICIES = ("from_now", "last_n", "since")
MAX_LAST_N = 1000
MIN_PAGES = 2  # a poll may always read two pages: one climbing step needs its page and the anchor below
SEED_MAX_PAGES = 100  # the first-run seed reads its window past the budget, up to this many pages


@dataclass(frozen=True)
class FirstRun:
    """What a new subscription emits first: ``from_now`` (nothing; the head is recorded as seen),
    ``last_n`` (the ``n`` newest, oldest first) or ``since`` (every record at or after ``since``)."""

    policy: Policy = "from_now"
    n: int = 0
    since: str | None = None

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"first_run must be one of {', '.join(POLICIES)}")
        if self.policy == "last_n" and not 1 <= self.n <= MAX_LAST_N:
            raise ValueError(f"last_n needs n between 1 and {MAX_LAST_N}")
        if self.policy == "since":
            parse_ts(self.since)


@dataclass(frozen=True)
class Checkpoint:
    records: tuple[dict[str, Any], ...]
    state: PollState


@dataclass(frozen=True)
class PollDecision:
    """One line of the per-subscription poll log: the window read (``window_from`` is the floor, ``to`` the
    newest value read), pages and records fetched, records handed over (``new``), repeats dropped by the
    seen set (``suppressed``) and records below the floor (``too_old``), the cursor before and after,
    whether the budget stopped work (``budget_exhausted``; ``backlog_pages`` still to climb), whether the
    walk from the head re-read the whole window, whether the seen set's bound raised the floor, and the
    error code that stopped the poll."""

    first_run: str | None
    window_from: str | None
    window_to: str | None
    pages: int
    fetched: int
    new: int
    suppressed: int
    too_old: int
    cursor_before: str | None
    cursor_after: str | None
    budget_exhausted: bool
    backlog_pages: int
    window_complete: bool | None
    seen_overflow: bool
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PollResult:
    new_records: tuple[dict[str, Any], ...]
    new_state: PollState
    decision: PollDecision
    checkpoints: tuple[Checkpoint, ...]
    error: ConnectorError | None = None


@dataclass(frozen=True)
class _Row:
    key: str
    at: int
    record: dict[str, Any]


@dataclass
class _Walk:
    tokens: list[PageToken] = field(default_factory=list)
    rows: list[_Row] = field(default_factory=list)
    next_token: PageToken = None
    anchored: bool = False
    full: bool = False  # reached the end of the list or below the floor: the whole window was re-read
    evidence: int | None = None  # pages read when a record already handed over (same key and time) showed


@dataclass
class _Tally:
    suppressed: int = 0
    too_old: int = 0
    new: int = 0
    window_complete: bool | None = None
    seen_overflow: bool = False


class _Reader:
    """Fetches pages under the time budget (and an optional page cap), counting what it read."""

    def __init__(
        self, fetch_page: FetchPage, spec: PollSpec, clock: Clock, budget: float, max_pages: int | None
    ) -> None:
        if max_pages is not None and max_pages < MIN_PAGES:
            raise ValueError(f"max_pages must be at least {MIN_PAGES}")
        self.fetch_page, self.spec, self.clock, self.max_pages = fetch_page, spec, clock, max_pages
        self.started = clock.monotonic()
        self.deadline = self.started + budget
        self.pages = 0
        self.fetched = 0
        self.newest: int | None = None

    def can_read(self) -> bool:
        if self.max_pages is not None and self.pages >= self.max_pages:
            return False
        return self.pages < MIN_PAGES or self.clock.monotonic() < self.deadline

    def pages_left(self) -> int:
        """A guess at how many more pages fit, from the pace so far."""
        left = self.max_pages - self.pages if self.max_pages is not None else 1_000_000
        now = self.clock.monotonic()
        pace = (now - self.started) / self.pages if self.pages else 0.0
        if pace > 0:
            left = min(left, int((self.deadline - now) / pace))
        return left

    def read(self, token: PageToken) -> tuple[list[_Row], PageToken]:
        records, next_token = self.fetch_page(token)
        rows = [
            _Row(record_key(r, self.spec.dedupe), ordering_value(r, self.spec.order_by), r) for r in records
        ]
        self.pages += 1
        self.fetched += len(rows)
        for row in rows:
            self.newest = row.at if self.newest is None else max(self.newest, row.at)
        return rows, next_token


Anchor = Callable[[_Walk, list[_Row]], bool]


def _walk(
    reader: _Reader,
    start: PageToken,
    anchored: Anchor,
    more: Callable[[_Walk], bool] | None = None,
    settle_on_evidence: bool = False,
) -> _Walk:
    """Read down from ``start`` until anchored, or until neither the budget nor ``more`` allows a page.
    With ``settle_on_evidence`` a walk the budget stops after it met handed-over records counts as
    anchored (it joined them; only the rest of its re-read window is left unread)."""
    walk = _Walk()
    token = start
    while reader.can_read() or (walk.rows and more is not None and more(walk)):
        rows, next_token = reader.read(token)
        walk.tokens.append(token)
        walk.rows.extend(rows)
        walk.next_token = next_token
        if not rows or next_token is None:
            walk.anchored = walk.full = True
            return walk
        if anchored(walk, rows):
            walk.anchored = True
            return walk
        if next_token in walk.tokens:
            raise PaginationLoopError(
                "The source answered a page token it had already answered; stopping to avoid a loop.",
                context={"token": str(next_token)},
            )
        token = next_token
    walk.anchored = settle_on_evidence and walk.evidence is not None
    return walk


class _Book:
    """The working copy of a :class:`PollState` during one poll."""

    def __init__(self, state: PollState, spec: PollSpec) -> None:
        self.spec = spec
        self.cursor = opt_parse(state.cursor)
        self.floor = opt_parse(state.floor)
        self.head_mark = opt_parse(state.head_mark)
        self.seen = SeenSet.from_state(state.seen)
        self.primed = state.primed
        self.pending: list[PageToken] = list(state.pending)

    def snapshot(self) -> PollState:
        return PollState(
            cursor=opt_format(self.cursor),
            floor=opt_format(self.floor),
            head_mark=opt_format(self.head_mark),
            seen=self.seen.to_state(),
            primed=self.primed,
            pending=tuple(self.pending),
        )

    def mark_head(self, walk: _Walk) -> None:
        if walk.rows:
            newest = max(row.at for row in walk.rows)
            self.head_mark = newest if self.head_mark is None else max(self.head_mark, newest)

    def settle(self) -> bool:
        """Move the floor up and prune ``seen``; True when the bound on ``seen`` pushed the floor higher."""
        floor = next_floor(self.floor, self.cursor, self.head_mark, self.spec.overlap)
        self.floor = self.seen.prune(floor, self.spec.max_seen)
        return self.floor != floor

    def _below_floor(self, walk: _Walk, rows: list[_Row]) -> bool:
        walk.full = self.floor is not None and rows[-1].at < self.floor
        if walk.evidence is None and any(self.seen.at(row.key) == row.at for row in rows):
            walk.evidence = len(walk.tokens)
        return walk.full

    def head_anchor(self) -> Anchor:
        """From the head: down below the floor (the overlap re-read), or ``reread_pages`` pages past the
        first record already handed over when the window is denser than that."""
        cap = self.spec.reread_pages

        def anchored(walk: _Walk, rows: list[_Row]) -> bool:
            if self._below_floor(walk, rows):
                return True
            return walk.evidence is not None and len(walk.tokens) - walk.evidence >= cap

        return anchored

    def climb_anchor(self) -> Anchor:
        """Climbing a backlog: below the floor, or onto a record already handed over at the same time
        (a key seen at another time is a later version elsewhere in the list, no proof of position)."""

        def anchored(walk: _Walk, rows: list[_Row]) -> bool:
            return self._below_floor(walk, rows) or walk.evidence is not None

        return anchored


def _unique(rows: list[_Row], tally: _Tally) -> list[_Row]:
    """First sighting of each key, in read order (newest first); repeats count as suppressed."""
    first: dict[str, _Row] = {}
    for row in rows:
        if row.key in first:
            tally.suppressed += 1
        else:
            first[row.key] = row
    return list(first.values())


def _oldest_first(rows: list[_Row]) -> list[_Row]:
    """Ascending ordering value; for equal values the record read later (lower in the list) first."""
    return [row for _, row in sorted(enumerate(rows), key=lambda pair: (pair[1].at, -pair[0]))]


def _absorb(book: _Book, walk: _Walk, tally: _Tally) -> list[dict[str, Any]]:
    """Hand over the anchored walk's new records and fold them into the book."""
    fresh: list[_Row] = []
    for row in _unique(walk.rows, tally):
        if book.floor is not None and row.at < book.floor:
            tally.too_old += 1
        elif row.key in book.seen:
            tally.suppressed += 1
        else:
            fresh.append(row)
    fresh = _oldest_first(fresh)
    for row in fresh:
        book.seen.add(row.key, row.at)
        book.cursor = row.at if book.cursor is None else max(book.cursor, row.at)
    tally.new += len(fresh)
    tally.seen_overflow |= book.settle()
    return [row.record for row in fresh]


def _prime(reader: _Reader, book: _Book, first_run: FirstRun, tally: _Tally) -> list[dict[str, Any]]:
    """``from_now`` / ``last_n``: record the head as seen (down past the overlap) and emit the last n.

    The seed reads its whole window whatever the budget (up to ``SEED_MAX_PAGES``): a seed cut short
    could not tell a record arriving late from one it never read. Past that cap it raises the floor above
    the last value read, so the unread rest of the window counts as before the first-run point.
    """
    overlap = book.spec.overlap

    def anchored(walk: _Walk, rows: list[_Row]) -> bool:
        head = max(row.at for row in walk.rows)
        enough = first_run.policy != "last_n" or len({row.key for row in walk.rows}) >= first_run.n
        return rows[-1].at < head - overlap and enough

    def unfinished(walk: _Walk) -> bool:
        return len(walk.tokens) < SEED_MAX_PAGES

    walk = _walk(reader, None, anchored, more=unfinished)
    rows = _unique(walk.rows, tally)
    chosen: list[_Row] = []
    if rows:
        head = max(row.at for row in rows)
        book.cursor = book.head_mark = head
        book.floor = head - overlap if walk.anchored else min(head, max(head - overlap, walk.rows[-1].at + 1))
        if first_run.policy == "last_n":
            ranked = sorted(enumerate(rows), key=lambda pair: (-pair[1].at, pair[0]))[: first_run.n]
            chosen = _oldest_first([row for _, row in sorted(ranked, key=lambda pair: pair[0])])
        for row in rows:
            if row.at >= book.floor:
                book.seen.add(row.key, row.at)
        floor = book.floor
        book.floor = book.seen.prune(floor, book.spec.max_seen)
        tally.seen_overflow |= book.floor != floor
    book.primed = True
    tally.new += len(chosen)
    return [row.record for row in chosen]


def _drain(reader: _Reader, book: _Book, tally: _Tally, commit: Callable[[list[Any]], None]) -> bool:
    """Walk the backlog bottom-up, then the head; return True when the budget stopped the work."""
    first = True
    while reader.can_read():
        climb = 1 if first else max(1, min(book.spec.walk_pages, reader.pages_left() - 1))
        first = False
        taken = min(len(book.pending), climb)
        start = book.pending[-taken] if taken else None
        from_head = start is None
        if from_head:
            walk = _walk(reader, start, book.head_anchor(), settle_on_evidence=True)
            if walk.anchored:
                book.mark_head(walk)
                tally.window_complete = walk.full
        else:
            walk = _walk(reader, start, book.climb_anchor())
        keep = len(book.pending) - taken
        if not walk.anchored:
            if walk.tokens:
                book.pending[keep:] = [*walk.tokens, walk.next_token]
                tally.seen_overflow |= book.settle()
                commit([])
            return True
        records = _absorb(book, walk, tally)
        del book.pending[keep:]
        commit(records)
        if from_head:
            return False
    return True


def poll(
    fetch_page: FetchPage,
    state: PollState | None,
    spec: PollSpec,
    clock: Clock,
    *,
    budget_seconds: float,
    first_run: FirstRun | None = None,
    max_pages: int | None = None,
    on_checkpoint: Callable[[Checkpoint], None] | None = None,
) -> PollResult:
    """One poll of one subscription. ``state`` None (or not primed) applies ``first_run``; the seed is in
    the first checkpoint's state. A :class:`ConnectorError` from ``fetch_page`` or a bad record stops the
    poll: it is returned in ``error`` with every checkpoint made before it."""
    first_run = first_run or FirstRun()
    before = state or PollState()
    applied = None if before.primed else first_run.policy
    reader = _Reader(fetch_page, spec, clock, budget_seconds, max_pages)
    book, tally = _Book(PollState() if applied else before, spec), _Tally()
    checkpoints: list[Checkpoint] = []

    def commit(records: list[Any]) -> None:
        checkpoint = Checkpoint(tuple(records), book.snapshot())
        checkpoints.append(checkpoint)
        if on_checkpoint is not None:
            on_checkpoint(checkpoint)

    error: ConnectorError | None = None
    exhausted = False
    try:
        if applied == "since":
            book.floor, book.primed = parse_ts(first_run.since), True
        if applied in ("from_now", "last_n"):
            commit(_prime(reader, book, first_run, tally))
        else:
            exhausted = _drain(reader, book, tally, commit)
    except ConnectorError as err:
        error = err
    after = checkpoints[-1].state if checkpoints else before
    decision = _decision(applied, before, after, reader, tally, exhausted, error)
    records = tuple(r for checkpoint in checkpoints for r in checkpoint.records)
    return PollResult(records, after, decision, tuple(checkpoints), error)


def _decision(
    applied: str | None,
    before: PollState,
    after: PollState,
    reader: _Reader,
    tally: _Tally,
    exhausted: bool,
    error: ConnectorError | None,
) -> PollDecision:
    return PollDecision(
        first_run=applied,
        window_from=before.floor,
        window_to=opt_format(reader.newest),
        pages=reader.pages,
        fetched=reader.fetched,
        new=tally.new,
        suppressed=tally.suppressed,
        too_old=tally.too_old,
        cursor_before=before.cursor,
        cursor_after=after.cursor,
        budget_exhausted=exhausted,
        backlog_pages=len(after.pending),
        window_complete=tally.window_complete,
        seen_overflow=tally.seen_overflow,
        error=error.code if error else None,
    )
