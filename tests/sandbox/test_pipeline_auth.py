"""Tokens, tenancy and abilities as every /v1 route enforces them (contract §2-§3, C10, C13)."""

from __future__ import annotations

import requests

from connector.sandbox import SandboxServer
from tests.helpers import make_tenant


def _error(response: requests.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]


def test_missing_token_is_401_with_envelope(sandbox_server: SandboxServer) -> None:
    response = requests.get(sandbox_server.base_url + "/teams/current", timeout=5)
    assert response.status_code == 401
    error = _error(response)
    assert error["code"] == "AUTHENTICATION_REQUIRED"
    assert error["docs_url"] == "https://docs.memberpass.net/api/errors#authentication_required"
    assert error["remediation"]
    assert error["request_id"] == response.headers["X-Request-Id"]
    assert error["request_id"].startswith("req_") and len(error["request_id"]) == 30


def test_malformed_unknown_and_wrong_scheme_tokens_are_401(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    url = sandbox_server.base_url + "/teams/current"
    cases = {
        "Bearer nonsense": "malformed",
        "Bearer mpt_test_ABCDEFGH_" + "x" * 30: "not recognised",
        "Token " + tenant.token: "Bearer",
        "Bearer " + tenant.token[:-1] + ("A" if tenant.token[-1] != "A" else "B"): "not recognised",
    }
    for header, fragment in cases.items():
        response = requests.get(url, headers={"Authorization": header}, timeout=5)
        assert response.status_code == 401, header
        assert fragment in _error(response)["message"]


def test_live_token_is_rejected_by_the_test_environment(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    minted = requests.post(
        sandbox_server.url + "/_sandbox/tokens",
        json={"team_id": tenant.team["id"], "environment": "live"},
        timeout=5,
    ).json()
    assert minted["token"].startswith("mpt_live_")
    response = requests.get(
        sandbox_server.base_url + "/teams/current",
        headers={"Authorization": "Bearer " + minted["token"]},
        timeout=5,
    )
    assert response.status_code == 401
    assert "live token cannot be used against the test environment" in _error(response)["message"]


def test_revoked_token_is_401_on_next_call(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    assert tenant.get("/teams/current").status_code == 200
    requests.post(sandbox_server.url + f"/_sandbox/tokens/{tenant.token_record['id']}/revoke", timeout=5)
    response = tenant.get("/teams/current")
    assert response.status_code == 401
    assert "revoked" in _error(response)["message"]


def test_missing_ability_is_403_naming_it(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server, abilities=["project:view-any"])
    response = tenant.get("/teams/current")
    assert response.status_code == 403
    error = _error(response)
    assert error["code"] == "TOKEN_MISSING_ABILITY"
    assert error["context"] == {"required_ability": "team:view"}
    assert "team:view" in error["remediation"]


def test_other_teams_ids_answer_404_not_403(sandbox_server: SandboxServer) -> None:
    mine = make_tenant(sandbox_server)
    theirs = make_tenant(sandbox_server, name="Other team")
    response = mine.get(f"/teams/{theirs.team['id']}")
    assert response.status_code == 404
    assert _error(response)["code"] == "RESOURCE_NOT_FOUND"
    assert mine.get(f"/teams/{mine.team['id']}").json()["data"]["id"] == mine.team["id"]


def test_token_abilities_keep_scope_tuples_out_of_the_abilities_list(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    record = tenant.token_record
    assert record["scopes"]["team_id"] == tenant.team["id"]
    assert not any(a.startswith("scope:") for a in record["abilities"])
    assert record["abilities_count"] == len(record["abilities"])


def test_unknown_route_and_wrong_method_use_the_envelope(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    missing = tenant.get("/no-such-thing")
    assert missing.status_code == 404 and _error(missing)["code"] == "RESOURCE_NOT_FOUND"
    wrong = tenant.send("DELETE", "/teams/current")
    assert wrong.status_code == 405 and _error(wrong)["code"] == "METHOD_NOT_ALLOWED"
    assert _error(wrong)["request_id"] == wrong.headers["X-Request-Id"]
