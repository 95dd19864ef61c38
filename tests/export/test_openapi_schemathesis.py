"""Schemathesis against the connector, in-process (WSGI), with the document the connector serves.

Every operation of ``GET /openapi.json`` gets a few generated requests, valid and invalid (schemathesis's
positive and negative modes), sent with a real connection key to an app whose upstream is a sandbox
seeded with the demo team. The checks: no 5xx, and every answer conforms to the document (status code
documented, content type, required headers, body schema). ``DELETE /api/me`` is left out: it would revoke
the connection key the other operations use (tests/connections cover it).

The sandbox's and the client's rate limits are raised (the test-fire bucket too: the client's governor
takes the tightest bucket an answer reports as the token's limit) so that a few hundred upstream calls in
a minute are not throttled; throttling is correct behaviour, but it would only make this run slow.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import NoSuchExample, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from connector.client.governor import Limits, governor_for
from connector.connections import services
from connector.sandbox import SandboxServer, SandboxSettings
from tests.triggers.connected import Env, build_app, seed_demo

MAX_EXAMPLES = 3
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
PER_MINUTE, PER_HOUR = 1_000_000, 10_000_000


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with SandboxServer(
        SandboxSettings(per_minute=PER_MINUTE, per_hour=PER_HOUR, test_fire_per_minute=PER_MINUTE)
    ) as server:
        seeded = seed_demo(server)
        token = seeded["tokens"]["full"]
        governor_for(
            token, limits=Limits(per_minute=PER_MINUTE, per_hour=PER_HOUR)
        )  # before the paste, which makes the governor
        app = build_app(server, tmp_path_factory.mktemp("schemathesis") / "c.db")
        client = app.test_client()
        pasted = client.post("/api/connections", json={"token": token})
        assert pasted.status_code == 201, pasted.get_data(as_text=True)
        try:
            yield Env(server, seeded, app, client, pasted.get_json()["connection_key"], token)
        finally:
            app.extensions[services.DB].close()


def operations(env: Env) -> list[Any]:
    loaded = schemathesis.openapi.from_wsgi("/openapi.json", env.app)
    results: list[Any] = list(loaded.exclude(method="DELETE", path="/api/me").get_all_operations())
    found = [result.ok() for result in results]
    assert len(found) > 250
    return found


def form_only(operation: Any) -> bool:
    media = [body.media_type for body in operation.body]
    return bool(media) and all(m == "application/x-www-form-urlencoded" for m in media)


def fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str], statuses: list[int]) -> str | None:
    """Send ``MAX_EXAMPLES`` generated requests (their statuses go to ``statuses``); None when every answer
    passed the checks, else the first failure's report."""
    if mode is GenerationMode.NEGATIVE and form_only(operation):
        return None  # every form value is text once encoded: there is no negative form to send

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        statuses.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    label = f"{operation.method.upper()} {operation.path} ({mode.value})"
    try:
        run()
    except (Unsatisfiable, NoSuchExample) as err:
        # an input without any invalid form (no parameters, only free text) has no negative case
        return None if mode is GenerationMode.NEGATIVE else f"{label}: {err}"
    except (Exception, BaseExceptionGroup) as err:  # a FailureGroup, or an exception of the app
        return f"{label}: {err}"
    return None


@pytest.mark.slow
def test_no_server_error_and_no_answer_outside_the_document(env: Env) -> None:
    failures: list[str] = []
    statuses: list[int] = []
    for operation in operations(env):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failure = fuzz(operation, mode, env.headers, statuses)
            if failure:
                failures.append(failure)
    assert failures == [], f"{len(failures)} failure(s):\n\n" + "\n\n".join(failures[:5])
    assert len(statuses) > 1000, "schemathesis sent too few requests to mean anything"
    assert sum(200 <= s < 300 for s in statuses) > 200, "too few requests got through to MemberPass"
