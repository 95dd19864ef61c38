"""Bad input is refused naming each field; MemberPass's errors come back with our names and remedies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.actions.support import Connected, connected_app
from tests.connections.support import mint, revoke


def project(env: Connected) -> str:
    return str(env.seed["project_ids"][0])


def fields_of(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "VALIDATION_FAILED"
    return dict(response.json["error"]["fields"])


def test_unknown_wrong_and_missing_inputs_are_each_named(env: Connected) -> None:
    body = {
        "project_id": project(env),
        "price": "cheap",
        "trial_days": 2.5,
        "colour": "gold",
        "active": "maybe",
    }
    fields = fields_of(env.action("create_plan", body))
    assert fields == {
        "name": ["Required."],
        "currency": ["Required."],
        "resources": ["Required."],
        "price": ["Expected a number."],
        "trial_days": ["Expected an integer."],
        "active": ["Expected true or false."],
        "colour": [fields["colour"][0]],
    }
    assert fields["colour"][0].startswith("Unknown input; create_plan takes: project_id, name,")


def test_choices_lists_and_datetimes_are_checked(env: Connected) -> None:
    body = {"project_id": project(env), "plan_id": "pln_x", "quantity": 5, "export_type": "fax"}
    assert fields_of(env.action("bulk_generate_access_codes", body)) == {
        "export_type": ["Expected one of: file, messages."]
    }
    query = {"project_id": project(env), "statuses": ["paid", "failed"]}
    assert fields_of(env.search("list_transactions", query)) == {
        "statuses": ["item 0: Expected one of: successful, pending, failed, refunded."]
    }


def test_search_needs_one_of_email_or_telegram_id(env: Connected) -> None:
    assert fields_of(env.search("find_member", {"project_id": project(env)})) == {
        "email": ["Give email or telegram_id."],
        "telegram_id": ["Give email or telegram_id."],
    }


def test_a_body_that_is_not_an_object_is_refused(env: Connected) -> None:
    response = env.client.post("/api/actions/create_plan", json=[1, 2], headers=env.headers)
    assert fields_of(response) == {"body": ["must be a JSON object"]}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/actions/launch_rocket"),
        ("GET", "/api/searches/create_plan"),
        ("GET", "/api/choices/nope"),
    ],
)
def test_unknown_keys_are_404_naming_the_catalog(env: Connected, method: str, path: str) -> None:
    response = env.client.open(path, method=method, json={}, headers=env.headers)
    assert response.status_code == 404
    assert response.json["error"]["remediation"] == "GET /api/catalog lists every key, by kind."


def test_every_route_needs_a_connection_key(env: Connected) -> None:
    assert env.client.post("/api/actions/create_plan", json={}).status_code == 401
    assert env.client.get("/api/searches/list_projects").status_code == 401
    assert env.client.get("/api/catalog").status_code == 200  # the catalog is public


def test_upstream_validation_fields_come_back_under_our_input_names(env: Connected) -> None:
    fields = fields_of(env.search("find_member", {"project_id": project(env), "email": "x" * 300}))
    assert list(fields) == ["email"]  # MemberPass named its `search` parameter


def test_a_missing_get_by_id_is_an_empty_result_but_an_unknown_project_is_an_error(env: Connected) -> None:
    empty = env.search("get_plan", {"project_id": project(env), "plan_id": "pln_00000000000000000000000000"})
    assert (empty.status_code, empty.json) == (200, [])
    missing = env.search("list_plans", {"project_id": "prj_00000000000000000000000000"})
    assert missing.status_code == 404
    assert missing.json["error"]["remediation"].startswith("Check `project_id`: the record does not exist")
    assert missing.json["error"]["context"]["upstream_request_id"].startswith("req_")


def test_search_or_create_finds_then_creates_once(env: Connected) -> None:
    plans = env.search("list_plans", {"project_id": project(env)}).json
    existing = plans[0]
    body = {"project_id": project(env), "name": existing["name"].upper(), "price": 1, "currency": "USD",
            "resources": existing["resources"]}  # fmt: skip
    found = env.client.post("/api/search-or-create/find_plan_by_name", json=body, headers=env.headers)
    assert (found.status_code, [p["id"] for p in found.json]) == (200, [existing["id"]])
    body["name"] = "Brand New Plan"
    created = env.client.post("/api/search-or-create/find_plan_by_name", json=body, headers=env.headers)
    assert created.status_code == 201 and created.json[0]["name"] == "Brand New Plan"
    again = env.client.post("/api/search-or-create/find_plan_by_name", json=body, headers=env.headers)
    assert (again.status_code, again.json[0]["id"]) == (200, created.json[0]["id"])
    bad = env.client.post(
        "/api/search-or-create/find_plan_by_name", json={**body, "x": 1}, headers=env.headers
    )
    assert list(fields_of(bad)) == ["x"]


def test_choices_answer_id_and_label(env: Connected) -> None:
    response = env.choices("projects", {})
    assert response.status_code == 200
    assert {o["id"] for o in response.json} == set(env.seed["project_ids"])
    assert all(set(o) == {"id", "label"} for o in response.json)


def test_a_missing_ability_says_which_to_add_and_where(env: Connected, tmp_path: Path) -> None:
    read_only = env.seed["tokens"]["read_only"]
    with connected_app(env.server, tmp_path / "c.db", seeded=env.seed, token=read_only) as limited:
        body = {"project_id": project(env), "name": "Needs ability", "price": 1, "currency": "USD"}
        response = limited.action("create_plan", {**body, "resources": ["rsr_x"]})
    error = response.json["error"]
    assert (response.status_code, error["code"]) == (403, "TOKEN_MISSING_ABILITY")
    assert error["context"]["required_ability"] == "project-subscription-plan:create"
    assert error["remediation"].startswith(
        "Add `project-subscription-plan:create` to the MemberPass token at "
        "https://app.memberpass.net/settings/tokens"
    )


def test_a_revoked_token_marks_the_connection_and_says_to_reconnect(env: Connected, tmp_path: Path) -> None:
    minted = mint(env.server, env.seed["team_id"])
    with connected_app(env.server, tmp_path / "c.db", seeded=env.seed, token=minted["token"]) as other:
        revoke(env.server, minted["data"]["id"])
        response = other.search("list_projects", {})
        status = other.client.get("/api/me", headers=other.headers).json["data"]["status"]
    assert response.status_code == 401
    assert "paste a new token" in response.json["error"]["remediation"]
    assert status == "needs_attention"


def test_find_member_by_telegram_id_matches_exactly(env: Connected) -> None:
    members = env.search("list_members", {"project_id": project(env)}).json
    wanted = members[0]
    found = env.search("find_member", {"project_id": project(env), "telegram_id": str(wanted["chat_id"])})
    assert [m["id"] for m in found.json] == [wanted["id"]]
    by_email = env.search("find_member", {"project_id": project(env), "email": wanted["email"].upper()})
    assert [m["id"] for m in by_email.json] == [wanted["id"]]
    partial = env.search("find_member", {"project_id": project(env), "email": wanted["email"][:5]})
    assert (partial.status_code, partial.json) == (200, [])  # MemberPass's `search` is fuzzy; we are not
