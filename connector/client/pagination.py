"""Reading a MemberPass list page by page (contract §6, C11), with a loop guard and a page budget.

The style is read from each answer's ``meta``: ``next_cursor`` means keyset, ``has_more``/``page``/
``current_page``/``last_page`` mean page-based, anything else (capped and unpaginated lists) is one page.
Stop rule: ``has_more`` false, ``current_page >= last_page``, a page shorter than ``limit``, an empty page,
or a null ``next_cursor``. A page number or cursor that comes back a second time, a page the server did not
number as asked, or a page with exactly the ids of the one before raises :class:`PaginationLoopError`
instead of reading forever. :class:`PageWalker` is pure (fed bare dict bodies); :class:`Pager` drives it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Literal

from connector.errors import ConnectorError, PaginationLoopError

Style = Literal["page", "keyset", "single"]
PAGE_KEYS = ("has_more", "current_page", "last_page", "page")
Fetch = Callable[[dict[str, Any]], tuple[Any, str | None]]  # params -> (body, request_id)


def detect_style(meta: Any) -> Style:
    if not isinstance(meta, dict):
        return "single"
    if "next_cursor" in meta:
        return "keyset"
    if any(key in meta for key in PAGE_KEYS):
        return "page"
    return "single"


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def split(body: Any) -> tuple[list[Any], dict[str, Any]]:
    """The records and the meta of one list answer."""
    if isinstance(body, list):
        return body, {}
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise ConnectorError(
            "The answer has no `data` list: this route does not return a list.", code="NOT_A_LIST"
        )
    meta = body.get("meta")
    return data, meta if isinstance(meta, dict) else {}


class PageWalker:
    """State of one walk through a list: ``params`` asks for the next page, ``feed`` takes its answer.

    After the last page ``complete`` is true; when ``max_pages`` cut the walk short ``truncated`` is true
    and ``params`` still names the next page, so a caller can checkpoint and resume from there.
    """

    def __init__(self, params: dict[str, Any] | None = None, *, max_pages: int | None = 100) -> None:
        self.params: dict[str, Any] = dict(params or {})
        self.max_pages = max_pages
        self.pages = 0
        self.complete = False
        self.truncated = False
        self._seen_pages: set[int] = set()
        self._seen_cursors: set[str] = set()
        self._last_ids: tuple[Any, ...] | None = None

    @property
    def done(self) -> bool:
        return self.complete or self.truncated

    def feed(self, body: Any) -> list[Any]:
        """Take one page's answer; return its records and move ``params`` to the next page."""
        data, meta = split(body)
        self.pages += 1
        self._guard_ids(data)
        style = detect_style(meta)
        following = self._next_page(data, meta) if style == "page" else None
        if style == "keyset":
            following = self._next_cursor(meta)
        if following is None:
            self.complete = True
        else:
            self.params = following
            self.truncated = self.max_pages is not None and self.pages >= self.max_pages
        return data

    def _limit(self, meta: dict[str, Any]) -> int | None:
        for value in (meta.get("limit"), meta.get("per_page"), self.params.get("limit")):
            if _int(value) is not None:
                return _int(value)
        return _int(self.params.get("per_page"))

    def _next_page(self, data: list[Any], meta: dict[str, Any]) -> dict[str, Any] | None:
        asked = _int(self.params.get("page")) or 1
        told = _int(meta.get("current_page", meta.get("page")))
        if told is not None:
            if told != asked or told in self._seen_pages:
                raise PaginationLoopError(
                    f"Asked for page {asked} and MemberPass answered page {told}; stopping to avoid a loop.",
                    context={"page": told},
                )
            self._seen_pages.add(told)
        current, last, limit = told or asked, _int(meta.get("last_page")), self._limit(meta)
        if (
            not data
            or meta.get("has_more") is False
            or (last is not None and current >= last)
            or (limit is not None and len(data) < limit)
        ):
            return None
        return {**self.params, "page": current + 1}

    def _next_cursor(self, meta: dict[str, Any]) -> dict[str, Any] | None:
        sent = self.params.get("cursor")
        if sent:
            self._seen_cursors.add(str(sent))
        cursor = meta.get("next_cursor")
        if cursor is None or cursor == "":
            return None
        if str(cursor) in self._seen_cursors:
            raise PaginationLoopError(
                "MemberPass answered a cursor it had already answered; stopping to avoid a loop.",
                context={"cursor": str(cursor)},
            )
        following = {k: v for k, v in self.params.items() if k != "page"}
        following["cursor"] = str(cursor)
        return following

    def _guard_ids(self, data: list[Any]) -> None:
        if not data or not all(isinstance(r, dict) and "id" in r for r in data):
            self._last_ids = None
            return
        ids = tuple(r["id"] for r in data)
        if ids == self._last_ids:
            raise PaginationLoopError(
                "MemberPass answered the same page of records twice; stopping to avoid a loop.",
                context={"first_id": ids[0]},
            )
        self._last_ids = ids


class Pager(Iterator[Any]):
    """Iterates the records of a list across pages, fetching a page only when the last one is used up.

    ``complete``, ``truncated``, ``pages`` and ``next_params`` report where the walk stands.
    """

    def __init__(self, fetch: Fetch, walker: PageWalker) -> None:
        self._fetch = fetch
        self.walker = walker
        self._buffer: deque[Any] = deque()

    @property
    def complete(self) -> bool:
        return self.walker.complete

    @property
    def truncated(self) -> bool:
        return self.walker.truncated

    @property
    def pages(self) -> int:
        return self.walker.pages

    @property
    def next_params(self) -> dict[str, Any] | None:
        """The request for the page after the last one read, or None once the list is complete."""
        return None if self.walker.complete else dict(self.walker.params)

    def __iter__(self) -> Pager:
        return self

    def __next__(self) -> Any:
        while not self._buffer:
            page = self.next_page()
            if page is None:
                raise StopIteration
            self._buffer.extend(page)
        return self._buffer.popleft()

    def next_page(self) -> list[Any] | None:
        """The records of the next page, or None when the walk is over (complete or out of budget)."""
        if self.walker.done:
            return None
        body, request_id = self._fetch(dict(self.walker.params))
        try:
            return self.walker.feed(body)
        except ConnectorError as err:
            err.request_id = err.request_id or request_id
            raise
