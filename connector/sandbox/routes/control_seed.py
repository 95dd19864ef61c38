"""Control routes `POST /_sandbox/seed` and `POST /_sandbox/simulate` (issue 2, fixed shapes).

- seed `{"preset": "demo"}` → 201 `{"team_id", "project_ids": [...], "tokens": {"full", "read_only",
  "project_scoped"}}` (see :mod:`connector.sandbox.seed`);
- simulate `{"team_id", "project_id"?, "count"?: 1-10000 (default 1), "kinds"?: [...], "seed"?: int}` →
  200 `{"data": [event envelopes, oldest first]}` (see :mod:`connector.sandbox.simulate`). A `seed`
  restarts the sandbox's simulation RNG, for a reproducible run.
"""

from __future__ import annotations

import random
from typing import Any

from flask import Response, current_app

from connector.sandbox.control import control, json_body, json_response
from connector.sandbox.errors import ApiError, invalid
from connector.sandbox.framework import services
from connector.sandbox.seed import seed_demo
from connector.sandbox.simulate import KINDS, SimState, simulate
from connector.sandbox.validation import Field, validate

MAX_COUNT = 10_000
SIMULATE_FIELDS = {
    "team_id": Field(required=True),
    "project_id": Field(nullable=True),
    "count": Field("int", minimum=1, maximum=MAX_COUNT),
    "kinds": Field("list", nullable=True),
    "seed": Field("int", nullable=True),
}


def init_sandbox(sandbox: Any) -> None:
    sandbox.extensions["simulation"] = SimState()


def _object_body() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise invalid({"body": ["must be a JSON object"]})
    return body


@control.post("/seed")
def post_seed() -> Response:
    body = validate(_object_body(), {"preset": Field(choices=("demo",))})
    if body.get("preset", "demo") != "demo":
        raise invalid({"preset": ["The selected preset is invalid; expected one of: demo."]})
    return json_response(seed_demo(services().store), 201)


@control.post("/simulate")
def post_simulate() -> Response:
    body = validate(_object_body(), SIMULATE_FIELDS)
    kinds = body.get("kinds") or []
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise invalid(
            {"kinds": [f"Unknown kinds: {', '.join(map(str, unknown))}; expected {', '.join(KINDS)}."]}
        )
    store = services().store
    team = store.get("teams", str(body["team_id"]))
    if team is None:
        raise ApiError("RESOURCE_NOT_FOUND", "No team with that id.")
    project_id = body.get("project_id")
    if project_id is not None:
        project = store.get("projects", project_id)
        if project is None or project["_team"] != team["id"]:
            raise ApiError("RESOURCE_NOT_FOUND", "No project with that id in this team.")
    state: SimState = current_app.extensions["sandbox_root"].extensions["simulation"]
    if body.get("seed") is not None:
        state.rng = random.Random(body["seed"])
    events = simulate(store, state, team["id"], project_id, body.get("count", 1), kinds)
    return json_response({"data": events})
