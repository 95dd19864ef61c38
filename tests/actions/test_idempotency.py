"""Actions are idempotent: a caller's key or the call's own input decides, and one key goes upstream."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import requests

from connector.clock import FakeClock, SystemClock
from connector.connections import services
from tests.actions.support import Connected


def plan_body(env: Connected, name: str, price: float = 12.5) -> dict[str, Any]:
    project_id = env.seed["project_ids"][0]
    plans = env.search("list_plans", {"project_id": project_id}).json
    return {
        "project_id": project_id,
        "name": name,
        "price": price,
        "currency": "USD",
        "resources": plans[0]["resources"],
    }


def plans_named(env: Connected, name: str) -> list[dict[str, Any]]:
    return list(
        env.search("find_plan_by_name", {"project_id": env.seed["project_ids"][0], "name": name}).json
    )


def upstream_posts(env: Connected, since: float, path_end: str) -> list[dict[str, Any]]:
    log = requests.get(env.server.url + "/_sandbox/requests", params={"since": since}, timeout=10).json()[
        "data"
    ]
    return [r for r in log if r["method"] == "POST" and r["path"].endswith(path_end)]


def test_five_concurrent_calls_with_one_key_create_one_record(env: Connected) -> None:
    name, key = f"Concurrent {uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    body = plan_body(env, name)
    answers: list[tuple[int, Any, str | None]] = []
    gate = threading.Barrier(5)

    def call() -> None:
        client = env.app.test_client()
        gate.wait()
        response = client.post(
            "/api/actions/create_plan", json=body, headers={**env.headers, "Idempotency-Key": key}
        )
        answers.append((response.status_code, response.json, response.headers.get("Idempotent-Replayed")))

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert [status for status, _, _ in answers] == [201] * 5
    assert all(answer == answers[0][1] for _, answer, _ in answers)
    assert sorted(str(replayed) for _, _, replayed in answers) == ["None"] + ["true"] * 4
    assert [p["id"] for p in plans_named(env, name)] == [answers[0][1]["id"]]


def test_same_key_with_different_input_is_refused(env: Connected) -> None:
    key = str(uuid.uuid4())
    first = env.action("create_plan", plan_body(env, f"Reused {uuid.uuid4().hex[:8]}"), key)
    assert first.status_code == 201
    again = env.action("create_plan", plan_body(env, f"Other {uuid.uuid4().hex[:8]}"), key)
    assert again.status_code == 422
    assert again.json["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    other_action = env.action(
        "publish_plan", {"project_id": env.seed["project_ids"][0], "plan_id": first.json["id"]}, key
    )
    assert other_action.json["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_without_a_key_identical_calls_replay_and_send_one_upstream_key(env: Connected) -> None:
    since = time.time()
    body = plan_body(env, f"Derived {uuid.uuid4().hex[:8]}")
    first = env.action("create_plan", body)
    second = env.action("create_plan", body)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["Idempotent-Replayed"] == "true" and second.json == first.json
    assert len(plans_named(env, body["name"])) == 1
    posts = upstream_posts(env, since, "/plans")
    assert len(posts) == 1 and posts[0]["idempotency_key"].startswith("mpc-")


def test_a_call_after_the_window_runs_again(env: Connected) -> None:
    clock = FakeClock(start=time.time())
    env.app.extensions[services.CLOCK] = clock
    try:
        body = plan_body(env, f"Window {uuid.uuid4().hex[:8]}")
        first = env.action("create_plan", body)
        clock.advance(86_400 - 1)
        assert env.action("create_plan", body).headers.get("Idempotent-Replayed") == "true"
        clock.advance(2)
        later = env.action("create_plan", body)
        assert later.status_code == 422  # a second plan of the same name: MemberPass itself refuses
        assert later.json["error"]["fields"] == {"name": ["The name has already been taken in this project."]}
        assert first.status_code == 201
    finally:
        env.app.extensions[services.CLOCK] = SystemClock()


def test_a_dropped_answer_is_retried_with_the_same_upstream_key(env: Connected) -> None:
    faults = env.server.url + "/_sandbox/faults"
    requests.put(
        faults,
        json=[{"route": "POST /v1/projects/{project_id}/plans", "drop": "after", "count": 1}],
        timeout=10,
    )
    since = time.time()
    try:
        body = plan_body(env, f"Dropped {uuid.uuid4().hex[:8]}")
        response = env.action("create_plan", body)
    finally:
        requests.delete(faults, timeout=10)
    assert response.status_code == 201
    posts = upstream_posts(env, since, "/plans")
    assert [p["status"] for p in posts] == [None, 201]
    assert posts[0]["idempotency_key"] == posts[1]["idempotency_key"]
    assert len(plans_named(env, body["name"])) == 1
