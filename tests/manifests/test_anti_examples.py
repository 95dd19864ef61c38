"""Each anti-example manifest, loaded beside the real ones, is refused with the expected path and message."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.manifests import ManifestError, load_catalog, validate_files
from connector.manifests.loader import default_dir, manifest_files

ANTI = Path(__file__).parent / "anti_examples"
REAL = manifest_files(default_dir())

# file → [(path inside it, part of the message, part of the fix)]
EXPECTED: dict[str, list[tuple[str, str, str]]] = {
    "unknown_key.yaml": [("entries[0].inputs[0].placehodler", "unknown key `placehodler`", "`placeholder`")],
    "duplicate_key.yaml": [("entries[0].key", "duplicate key `create_plan` (also plans.yaml", "rename")],
    "path_variable.yaml": [("entries[0].request.path", "`{project_id}` has no input", "key: project_id")],
    "sample_mismatch.yaml": [
        ("entries[0].sample.price", "is 29; `output.fields[1]` says a string", "string")
    ],
    "unknown_ability.yaml": [("entries[0].ability", "unknown ability `plan:create`", "abilities")],
    "unknown_event.yaml": [("entries[0].events[0]", "unknown event `plan.exploded`", "events.yaml")],
    "bad_dynamic.yaml": [("entries[0].inputs[0].dynamic", "`planz` is not a choices source", "plans")],
    "bad_or_create.yaml": [
        ("entries[0].or_create", "is a search; `or_create` must name an action", "action")
    ],
    "bad_match.yaml": [("entries[0].match.name", "names unknown input `title`", "inputs")],
    "events_fetch_variable.yaml": [
        (
            "entries[0].fetch.path",
            "`{member_id}` is not an input and not in the data of `member.unbanned`",
            "`{subscriber_id}`",
        )
    ],
    "events_feed_ability.yaml": [
        ("entries[0].ability", "lacks `webhook-endpoint:manage` (the event feed needs it)", "Add")
    ],
    "wrong_type.yaml": [
        ("entries[0].inputs[0].required", "is 'yes'; expected true or false", "true or false"),
        ("entries[0].inputs[1].type", "is 'money'; expected one of string", "integer"),
    ],
}


def test_every_anti_example_is_listed() -> None:
    assert {p.name for p in ANTI.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_anti_example_is_refused_at_its_path(name: str) -> None:
    catalog, problems = validate_files([*REAL, ANTI / name])
    assert catalog is None
    found = [(p.file, p.path) for p in problems]
    assert found == [(name, path) for path, _, _ in EXPECTED[name]], problems
    for problem, (_, message, fix) in zip(problems, EXPECTED[name], strict=True):
        assert message in problem.message
        assert fix in problem.fix
        assert str(problem).startswith(f"{name}: {problem.path}: ")


def test_all_problems_are_collected_not_just_the_first(tmp_path: Path) -> None:
    for source in [*REAL, *ANTI.glob("*.yaml")]:
        (tmp_path / source.name).write_bytes(source.read_bytes())
    with pytest.raises(ManifestError) as raised:
        load_catalog(tmp_path)
    # In one folder the duplicate is reported on the later file of the two, plans.yaml.
    assert {p.file for p in raised.value.problems} == set(EXPECTED) - {"duplicate_key.yaml"} | {"plans.yaml"}
    assert len(raised.value.problems) == sum(len(v) for v in EXPECTED.values())
    assert "manifest problem(s)" in raised.value.message


def test_broken_yaml_and_a_missing_event_catalog_are_problems(tmp_path: Path) -> None:
    (tmp_path / "plans.yaml").write_text("resource: plans\nentries: [\n")
    _, problems = validate_files([tmp_path / "plans.yaml"])
    assert [(p.file, p.message[:20]) for p in problems] == [
        ("events.yaml", "is missing."),
        ("plans.yaml", "is not valid YAML (w"),
    ]
    assert problems[1].path.startswith("line ")


def test_a_resource_must_match_its_file_name(tmp_path: Path) -> None:
    (tmp_path / "plans.yaml").write_text("resource: plan\nnoun: Plan\nentries: []\n")
    _, problems = validate_files([*[p for p in REAL if p.name == "events.yaml"], tmp_path / "plans.yaml"])
    assert [(p.path, p.fix) for p in problems] == [
        ("resource", "Rename the file to plan.yaml or set `resource: plans`.")
    ]
