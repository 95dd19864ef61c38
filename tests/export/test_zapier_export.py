"""`export zapier` without Node: the files written, the key mapping, the definitions built from manifests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.export.zapier import ExportError, ZapierOptions, build_app, export_zapier
from connector.export.zapier_keys import check_keys, choices_key, connector_key, event_key, event_name
from connector.export.zapier_operations import operations
from connector.manifests import Catalog, load_catalog

DEFINITION = re.compile(r"module\.exports = (\w+)\((\{.*\})\);\n$", re.S)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def files(catalog: Catalog) -> dict[str, str]:
    return build_app(catalog, ZapierOptions(base_url="https://connector.example.com/", auth="oauth2"))


def definition(files: dict[str, str], module: str) -> tuple[str, dict[str, Any]]:
    """(factory, definition) of a generated operation module."""
    match = DEFINITION.search(files[module])
    assert match, f"{module} is not a generated operation module"
    return match.group(1), json.loads(match.group(2))


def test_every_catalog_entry_has_its_module(catalog: Catalog, files: dict[str, str]) -> None:
    expected = (
        {f"triggers/{e.key}.js" for e in catalog.of_kind("trigger")}
        | {f"triggers/{event_key(name)}.js" for name in catalog.events}
        | {f"triggers/{choices_key(e.key)}.js" for e in catalog.of_kind("choices")}
        | {f"creates/{e.key}.js" for e in catalog.of_kind("action")}
        | {f"searches/{e.key}.js" for e in catalog.of_kind("search")}
    )
    modules = {path for path in files if path.split("/")[0] in ("triggers", "creates", "searches")}
    assert modules == expected
    counts = catalog.counts()
    assert len(expected) == counts["triggers"] + counts["choices"] + counts["actions"] + counts["searches"]


def test_index_requires_every_module_and_pairs_search_or_create(
    catalog: Catalog, files: dict[str, str]
) -> None:
    index = files["index.js"]
    required = set(re.findall(r"require\('\./((?:triggers|creates|searches)/\w+)'\)", index))
    assert {m + ".js" for m in required} == {
        p for p in files if p.split("/")[0] in ("triggers", "creates", "searches")
    }
    pairs = json.loads(re.search(r"searchOrCreates: (\{.*?\n  \}),\n\};", index, re.S).group(1))  # type: ignore[union-attr]
    assert pairs == {
        s.key: {
            "key": s.key,
            "display": pairs[s.key]["display"],
            "search": s.key,
            "create": c.key,
        }
        for s, c in catalog.search_or_create_pairs()
    }
    assert "beforeRequest: [includeAuth]" in index and "afterResponse: [handleErrors]" in index


def test_package_pins_the_core_and_the_config_bakes_the_url(files: dict[str, str]) -> None:
    package = json.loads(files["package.json"])
    assert package["dependencies"] == {"zapier-platform-core": "19.1.0"}
    assert package["main"] == "index.js" and re.fullmatch(r"\d+\.\d+\.\d+", package["version"])
    assert '"BAKED_BASE_URL": "https://connector.example.com"' in files["lib/config.js"]
    assert '"AUTH_TYPE": "oauth2"' in files["lib/config.js"]
    assert "process.env.CONNECTOR_BASE_URL" in files["lib/http.js"]


def test_auth_variants(catalog: Catalog, files: dict[str, str]) -> None:
    oauth = files["authentication.js"]
    assert "type: 'oauth2'" in oauth and "enablePkce: true" in oauth and "autoRefresh: true" in oauth
    assert "code_verifier: bundle.inputData.code_verifier" in oauth
    custom = build_app(catalog, ZapierOptions(auth="custom"))
    assert (
        "type: 'custom'" in custom["authentication.js"] and "type: 'password'" in custom["authentication.js"]
    )
    assert '"AUTH_TYPE": "custom"' in custom["lib/config.js"]
    with pytest.raises(ExportError, match="--auth must be one of"):
        build_app(catalog, ZapierOptions(auth="basic"))
    with pytest.raises(ExportError, match=r"--version must look like 1\.2\.3"):
        build_app(catalog, ZapierOptions(version="2.0"))
    package = json.loads(build_app(catalog, ZapierOptions(version="2.1.0"))["package.json"])
    assert package["version"] == "2.1.0"


def test_event_keys_round_trip_and_are_valid(catalog: Catalog) -> None:
    for name in catalog.events:
        key = event_key(name)
        assert re.fullmatch(r"[a-zA-Z]+[a-zA-Z0-9_]*", key), key
        assert event_name(key) == name and connector_key(key, "event") == name
    assert event_key("subscription.created") == "subscription__created"
    assert event_key("project.bot.status_changed") == "project__bot__status_changed"
    assert connector_key(choices_key("plans"), "choices") == "plans"
    assert check_keys(catalog.entries, catalog.events) == []
    assert check_keys(["bad__key"], ["ok.event", "bad__event.x"]) == [
        "`bad__key` cannot be a Zapier key (letters, digits, single underscores).",
        "event `bad__event.x` does not map reversibly to a Zapier key.",
    ]


def test_hook_trigger_definition(files: dict[str, str]) -> None:
    factory, hook = definition(files, "triggers/subscription__created.js")
    assert factory == "hookTrigger"
    assert hook["connectorKey"] == "subscription.created"
    assert hook["display"]["label"] == "New Subscription (Event)"  # a list-backed "New Subscription" exists
    assert [f["key"] for f in hook["inputFields"]] == ["project_id"]
    assert hook["inputFields"][0]["dynamic"] == "choices__projects.id.label"
    sample = hook["sample"]
    assert sample["type"] == "subscription.created" and sample["data__plan_id"].startswith("pln_")
    assert [f["key"] for f in hook["outputFields"]] == list(sample)
    _, team_event = definition(files, "triggers/team__member__invited.js")
    assert team_event["inputFields"] == [] and team_event["sample"]["project_id"] is None


def test_polling_trigger_for_changes_carries_the_record_key(files: dict[str, str]) -> None:
    factory, trigger = definition(files, "triggers/member_status_changed.js")
    assert factory == "pollingTrigger"
    sample = trigger["sample"]
    assert sample["id"] == f"{sample['record_id']}:{sample['event_id']}"  # one item per change (event)
    keys = [f["key"] for f in trigger["outputFields"]]
    assert {"record_id", "event_type", "event_id", "changed_at"} <= set(keys) and set(sample) == set(keys)


def test_fields_are_mapped(files: dict[str, str]) -> None:
    _, plan = definition(files, "creates/create_plan.js")
    fields = {f["key"]: f for f in plan["inputFields"]}
    assert (
        fields["project_id"]["dynamic"] == "choices__projects.id.label" and fields["project_id"]["required"]
    )
    assert fields["resources"] == {
        **fields["resources"],
        "list": True,
        "dynamic": "choices__resources.id.label",
        "dependsOn": ["project_id"],
    }
    assert fields["active"]["type"] == "boolean" and fields["active"]["default"] == "true"
    assert fields["billing_cycle_count"]["default"] == "1"
    assert {"value": "months", "label": "Months", "sample": "months"} in fields["billing_cycle"]["choices"]
    assert plan["sample"]["request_id"].startswith("req_")
    assert plan["outputFields"][-1] == {
        "key": "request_id",
        "label": "MemberPass Request ID",
        "type": "string",
    }
    _, dropdown = definition(files, "triggers/choices__resources.js")
    assert dropdown["display"]["hidden"] is True and dropdown["sourceInputs"] == ["project_id"]


def test_line_items_become_children(files: dict[str, str]) -> None:
    _, metrics = definition(files, "searches/get_dashboard_metrics.js")
    by_plan = next(f for f in metrics["outputFields"] if f["key"] == "by_plan")
    assert "list" not in by_plan and "type" not in by_plan
    assert [c["key"] for c in by_plan["children"]] == ["plan_id", "name", "active"]


def test_labels_fit_zapier(catalog: Catalog) -> None:
    for op in operations(catalog):
        display = op.definition["display"]
        assert 2 <= len(display["label"]) <= 64 and 1 <= len(display["description"]) <= 1000, op.key
        assert op.definition["sample"], op.key


def test_cli_writes_the_app_and_prunes_stale_modules(tmp_path: Path) -> None:
    out = tmp_path / "app"
    result = CliRunner().invoke(
        main, ["export", "zapier", "--out", str(out), "--base-url", "https://c.example"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "index.js").is_file() and (out / "triggers" / "new_member.js").is_file()
    stale = out / "creates" / "removed_action.js"
    stale.write_text("// from an older catalog")
    marker = json.loads((out / ".memberpass-export.json").read_text())
    marker["files"].append("creates/removed_action.js")
    (out / ".memberpass-export.json").write_text(json.dumps(marker))
    (out / ".env").write_text("CLIENT_ID=x\n")
    result = CliRunner().invoke(main, ["export", "zapier", "--out", str(out), "--auth", "custom"])
    assert result.exit_code == 0, result.output
    assert not stale.exists() and (out / ".env").read_text() == "CLIENT_ID=x\n"
    assert '"AUTH_TYPE": "custom"' in (out / "lib" / "config.js").read_text()


def test_cli_refuses_a_bad_base_url(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", "zapier", "--out", str(tmp_path), "--base-url", "ftp://x"])
    assert result.exit_code == 2 and "is not an http(s) URL" in result.output


def test_default_base_url_is_the_public_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_PUBLIC_URL", "https://public.example/")
    result = CliRunner().invoke(main, ["export", "zapier", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert '"BAKED_BASE_URL": "https://public.example"' in (tmp_path / "lib" / "config.js").read_text()


def test_export_returns_what_it_wrote(catalog: Catalog, tmp_path: Path) -> None:
    written = export_zapier(catalog, tmp_path, ZapierOptions())
    assert written == sorted(
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if p.is_file() and p.name != ".memberpass-export.json"
    )
