"""Stop conditions of each list style and the loop guard, on bare dict pages and through the client."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from connector.client import MemberPassClient, PageWalker, detect_style
from connector.errors import ConnectorError, PaginationLoopError
from tests.client.conftest import BASE


def rows(*ids: int) -> list[dict[str, Any]]:
    return [{"id": f"prj_{i}"} for i in ids]


def page(ids: list[int], **meta: Any) -> dict[str, Any]:
    return {"data": rows(*ids), "meta": meta}


def walk(walker: PageWalker, pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Feed pages until the walker is done; returns the params each page was asked with."""
    asked = []
    for body in pages:
        assert not walker.done
        asked.append(dict(walker.params))
        walker.feed(body)
    assert walker.done
    return asked


def test_detect_style() -> None:
    assert detect_style({"next_cursor": None, "limit": 50}) == "keyset"
    assert detect_style({"page": 1, "limit": 25, "total": 3, "has_more": False}) == "page"
    assert detect_style({"current_page": 1, "last_page": 1}) == "page"
    assert detect_style({"total": 3, "limit": 50}) == "single"  # capped list
    assert detect_style({"total": 3}) == "single"
    assert detect_style(None) == "single"


def test_has_more_false_stops() -> None:
    walker = PageWalker({"limit": 2})
    asked = walk(
        walker, [page([1, 2], page=1, limit=2, has_more=True), page([3, 4], page=2, limit=2, has_more=False)]
    )
    assert [a.get("page") for a in asked] == [None, 2]
    assert walker.complete and not walker.truncated and walker.pages == 2


def test_current_page_reaching_last_page_stops() -> None:
    walker = PageWalker({"per_page": 2})
    walk(walker, [page([1, 2], current_page=1, last_page=2), page([3, 4], current_page=2, last_page=2)])
    assert walker.complete and walker.pages == 2


def test_a_short_page_stops_even_when_has_more_says_otherwise() -> None:
    walker = PageWalker({"limit": 3})
    walk(walker, [page([1, 2, 3], page=1, has_more=True), page([4], page=2, has_more=True)])
    assert walker.complete


def test_an_empty_page_stops() -> None:
    walker = PageWalker()
    walk(walker, [page([1], page=1, has_more=True), page([], page=2, has_more=True)])
    assert walker.complete


def test_keyset_follows_next_cursor_until_null() -> None:
    walker = PageWalker({"limit": 2, "type": "member.joined"})
    asked = walk(
        walker,
        [page([9, 8], next_cursor="c1"), page([7, 6], next_cursor="c2"), page([5], next_cursor=None)],
    )
    assert [a.get("cursor") for a in asked] == [None, "c1", "c2"]
    assert all(a["type"] == "member.joined" for a in asked)
    assert walker.complete


def test_single_page_lists_stop_after_one_page() -> None:
    walker = PageWalker()
    walk(walker, [{"data": rows(1, 2), "meta": {"total": 2, "limit": 50}}])
    assert walker.complete and walker.pages == 1


def test_repeating_cursor_raises() -> None:
    walker = PageWalker()
    walker.feed(page([3, 2], next_cursor="c1"))
    with pytest.raises(PaginationLoopError) as info:
        walker.feed(page([1], next_cursor="c1"))
    assert info.value.context == {"cursor": "c1"} and info.value.code == "PAGINATION_LOOP"


def test_a_cursor_seen_two_pages_back_raises() -> None:
    walker = PageWalker()
    walker.feed(page([5], next_cursor="a"))
    walker.feed(page([4], next_cursor="b"))
    with pytest.raises(PaginationLoopError):
        walker.feed(page([3], next_cursor="a"))


def test_a_server_that_ignores_the_page_number_raises() -> None:
    walker = PageWalker({"limit": 2})
    walker.feed(page([1, 2], current_page=1, last_page=5, has_more=True))
    with pytest.raises(PaginationLoopError, match="page 2"):
        walker.feed(page([3, 4], current_page=1, last_page=5, has_more=True))


def test_the_same_records_twice_raise_even_without_page_numbers() -> None:
    walker = PageWalker({"limit": 2})
    walker.feed(page([1, 2], has_more=True))
    with pytest.raises(PaginationLoopError):
        walker.feed(page([1, 2], has_more=True))


def test_page_budget_truncates_and_keeps_the_resume_point() -> None:
    walker = PageWalker({"limit": 1}, max_pages=2)
    walk(walker, [page([1], page=1, has_more=True), page([2], page=2, has_more=True)])
    assert walker.truncated and not walker.complete
    assert walker.params == {"limit": 1, "page": 3}


def test_a_single_object_is_not_a_list() -> None:
    with pytest.raises(ConnectorError) as info:
        PageWalker().feed({"data": {"id": "prj_1"}})
    assert info.value.code == "NOT_A_LIST"


# --- through the client ------------------------------------------------------------------------------------
def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(call.request.url).query)


def test_client_paginates_page_based_lists(mocked: responses.RequestsMock, client: MemberPassClient) -> None:
    url = BASE + "/projects"
    mocked.get(url, json=page([1, 2], page=1, limit=2, has_more=True, current_page=1, last_page=2))
    mocked.get(url, json=page([3, 4], page=2, limit=2, has_more=False, current_page=2, last_page=2))
    pager = client.paginate("/projects", {"active": "true"}, page_size=2)
    assert [r["id"] for r in pager] == ["prj_1", "prj_2", "prj_3", "prj_4"]
    assert [query(c) for c in mocked.calls] == [
        {"active": ["true"], "limit": ["2"]},
        {"active": ["true"], "limit": ["2"], "page": ["2"]},
    ]
    assert pager.complete and pager.next_params is None and pager.pages == 2


def test_client_fetches_pages_lazily_and_honours_max_pages(
    mocked: responses.RequestsMock, client: MemberPassClient
) -> None:
    url = BASE + "/webhook-events"
    mocked.get(url, json=page([9, 8], next_cursor="c1"))
    mocked.get(url, json=page([7, 6], next_cursor="c2"))
    pager = client.paginate("/webhook-events", max_pages=2)
    assert next(pager)["id"] == "prj_9" and len(mocked.calls) == 1
    assert [r["id"] for r in pager] == ["prj_8", "prj_7", "prj_6"]
    assert pager.truncated and pager.next_params == {"limit": 100, "cursor": "c2"}
    assert len(mocked.calls) == 2


def test_client_loop_error_carries_the_request_id(
    mocked: responses.RequestsMock, client: MemberPassClient
) -> None:
    url = BASE + "/webhook-events"
    mocked.get(url, json=page([2], next_cursor="same"), headers={"X-Request-Id": "req_A"})
    mocked.get(url, json=page([1], next_cursor="same"), headers={"X-Request-Id": "req_B"})
    with pytest.raises(PaginationLoopError) as info:
        list(client.paginate("/webhook-events"))
    assert info.value.request_id == "req_B" and len(mocked.calls) == 2


def test_max_pages_must_be_positive(client: MemberPassClient) -> None:
    with pytest.raises(ValueError):
        client.paginate("/projects", max_pages=0)
