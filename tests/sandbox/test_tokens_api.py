"""Personal access tokens (endpoints.md §1): the caller's tokens, no ability checked; revoke."""

from __future__ import annotations

from connector.sandbox import SandboxServer
from tests.helpers import make_tenant, token_for

TOKEN_KEYS = {
    "id",
    "name",
    "abilities",
    "abilities_count",
    "scopes",
    "last_used_at",
    "expires_at",
    "created_at",
}


def test_list_and_get_own_tokens_without_any_ability(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    bare = token_for(tenant, [])
    scoped = token_for(tenant, ["project:view"], project_ids=["prj_x"])
    make_tenant(sandbox_server)  # another owner's token never shows up
    body = bare.get("/tokens").json()
    ids = {t["id"] for t in body["data"]}
    assert ids == {tenant.token_record["id"], bare.token_record["id"], scoped.token_record["id"]}
    assert body["meta"] == {"total": 3}
    entry = next(t for t in body["data"] if t["id"] == scoped.token_record["id"])
    assert set(entry) == TOKEN_KEYS
    assert entry["scopes"] == {"team_id": tenant.team["id"], "project_ids": ["prj_x"]}
    assert entry["abilities"] == ["project:view"] and entry["abilities_count"] == 1
    one = bare.get(f"/tokens/{scoped.token_record['id']}")
    assert one.status_code == 200 and one.json()["data"]["name"] == entry["name"]
    assert "mpt_" not in one.text


def test_other_owners_tokens_are_not_found(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    stranger = make_tenant(sandbox_server)
    response = stranger.get(f"/tokens/{tenant.token_record['id']}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
    revoke = stranger.send("DELETE", f"/tokens/{tenant.token_record['id']}")
    assert revoke.status_code == 404
    assert tenant.get("/tokens").status_code == 200


def test_revoke_is_effective_on_the_next_call(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    other = token_for(tenant, [])
    response = tenant.send("DELETE", f"/tokens/{other.token_record['id']}")
    assert response.status_code == 204 and response.content == b""
    after = other.get("/tokens")
    assert after.status_code == 401 and after.json()["error"]["code"] == "AUTHENTICATION_REQUIRED"
    assert [t["id"] for t in tenant.get("/tokens").json()["data"]] == [tenant.token_record["id"]]
    assert tenant.send("DELETE", f"/tokens/{tenant.token_record['id']}").status_code == 204
    assert tenant.get("/tokens").status_code == 401
