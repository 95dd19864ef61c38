"""The generated app passes Zapier's own validation: ``createAppHandler(App)({command: 'validate'})`` of
zapier-platform-core 19.1.0 (its schema plus its functional constraints) reports nothing, for both auth
types. A broken copy proves the check is live."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.export.zapier_support import Driver

pytestmark = pytest.mark.node


@pytest.fixture(scope="module", params=["oauth2", "custom"])
def driver(
    request: pytest.FixtureRequest, zapier_core: Path, zapier_apps: dict[str, Path]
) -> Iterator[Driver]:
    running = Driver(zapier_core, zapier_apps[request.param])
    yield running
    running.close()


@pytest.fixture(scope="module")
def app(driver: Driver) -> dict[str, Any]:
    answer = driver.call("definition")
    assert answer["ok"], answer
    definition: dict[str, Any] = answer["result"]
    return definition


def test_validate_reports_nothing(driver: Driver) -> None:
    answer = driver.call("validate")
    assert answer == {"id": answer["id"], "ok": True, "result": []}, driver.stderr()


def test_app_shape(app: dict[str, Any]) -> None:
    assert app["platformVersion"] == "19.1.0"
    auth = app["authentication"]
    assert auth["test"] == "$function" and auth["connectionLabel"] == "$function"
    if auth["type"] == "oauth2":
        assert auth["oauth2Config"]["enablePkce"] is True and auth["oauth2Config"]["autoRefresh"] is True
    else:
        assert auth["fields"][0]["type"] == "password"
    hooks = [t for t in app["triggers"].values() if t["operation"]["type"] == "hook"]
    assert len(hooks) == 72
    for hook in hooks:
        operation = hook["operation"]
        assert {k for k, v in operation.items() if v == "$function"} == {
            "perform",
            "performList",
            "performSubscribe",
            "performUnsubscribe",
        }


def test_every_dropdown_points_at_a_hidden_trigger(app: dict[str, Any]) -> None:
    triggers = app["triggers"]
    seen = 0
    for group in ("triggers", "creates", "searches"):
        for operation in app[group].values():
            for field in operation["operation"].get("inputFields", []):
                if "dynamic" not in field:
                    continue
                key, id_field, label_field = field["dynamic"].split(".")
                target = triggers[key]
                assert target["display"]["hidden"] is True
                outputs = {f["key"] for f in target["operation"]["outputFields"]}
                assert {id_field, label_field} <= outputs
                seen += 1
    assert seen > 50


def test_search_or_create_pairs_name_real_operations(app: dict[str, Any]) -> None:
    pairs = app["searchOrCreates"]
    assert set(pairs) == {"find_plan_by_name", "find_project_by_handle"}
    for key, pair in pairs.items():
        assert pair["search"] == key and key in app["searches"] and pair["create"] in app["creates"]


def test_a_broken_app_is_reported(zapier_core: Path, zapier_apps: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(zapier_apps["custom"], broken)
    module = broken / "creates" / "create_plan.js"
    module.write_text(module.read_text().replace('"noun": "Plan"', '"noun": "P"'))
    running = Driver(zapier_core, broken)
    try:
        answer = running.call("validate")
    finally:
        running.close()
    assert answer["ok"] and len(answer["result"]) == 1
    assert answer["result"][0]["property"] == "instance.creates.create_plan.noun"
