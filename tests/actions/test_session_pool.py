"""Upstream calls borrow pooled sessions: a session is reused call after call, never shared by two calls at
once, and carries nothing from one tenant's call to another's (no cookie, no credential)."""

from __future__ import annotations

import responses

from actions.upstream import SessionPool

BASE = "https://api.memberpass.net/v1"


@responses.activate
def test_a_session_is_reused_and_keeps_no_cookie_or_token_between_tenants() -> None:
    responses.get(f"{BASE}/teams/current", json={"data": {}}, headers={"Set-Cookie": "sid=tenant-a; Path=/"})
    pool = SessionPool()
    with pool.client(BASE, "mpt_test_tenant_a") as first:
        first.request("GET", "/teams/current")
        session = first.session
    with pool.client(BASE, "mpt_test_tenant_b") as second:
        assert second.session is session  # reused: its kept-alive connection too
        second.request("GET", "/teams/current")
    sent = responses.calls[1].request
    assert "Cookie" not in sent.headers, "a cookie of tenant A went out with tenant B's call"
    assert sent.headers["Authorization"] == "Bearer mpt_test_tenant_b"
    assert len(session.cookies) == 0


def test_two_calls_at_once_get_two_sessions_and_the_pool_keeps_at_most_its_size() -> None:
    pool = SessionPool(size=1)
    with pool.client(BASE, "mpt_test_a") as first, pool.client(BASE, "mpt_test_b") as second:
        assert first.session is not second.session
    with pool.client(BASE, "mpt_test_c") as third:
        assert third.session in (first.session, second.session)
    assert sum(len(idle) for idle in pool._idle.values()) == 1
