"""Rendering requests and shaping results: pure functions, tested on bare values."""

from __future__ import annotations

from actions.render import render
from actions.shape import fill_declared, flatten, records, shape
from connector.manifests import load_catalog
from connector.manifests.model import Entry, Field, Output, OutputField, Request

CATALOG = load_catalog()


def entry(request: Request, *inputs: str, output: Output | None = None) -> Entry:
    fields = tuple(Field(key=k, label=k) for k in inputs)
    return Entry("e", "search", "r", "N", "L", "D", (), request, fields, output)


def test_path_variables_are_quoted_so_an_id_cannot_change_the_route() -> None:
    request = Request("GET", "/projects/{project_id}/plans/{plan_id}")
    rendered = render(
        entry(request, "project_id", "plan_id"), {"project_id": "p", "plan_id": "../tokens/t 1"}
    )
    assert rendered.path == "/projects/p/plans/..%2Ftokens%2Ft%201"


def test_get_sends_query_with_upstream_names_booleans_and_lists() -> None:
    query = (("search", "email"), ("statuses[]", "statuses"), ("active_only", "active"))
    request = Request("GET", "/x", query=query, constants=(("type", "access_code.generated"),))
    values = {"email": "a@b.co", "statuses": ["failed", "pending"], "active": False}
    rendered = render(entry(request, "email", "statuses", "active"), values)
    assert rendered.params == {
        "search": "a@b.co",
        "statuses[]": ["failed", "pending"],
        "active_only": "false",
        "type": "access_code.generated",
    }
    assert rendered.json is None


def test_mutations_send_only_given_inputs_in_the_body() -> None:
    values = {"project_id": "prj_1", "plan_id": "pln_1", "price": 31.0}
    rendered = render(CATALOG.entries["update_plan"], values)
    assert (rendered.method, rendered.path) == ("PATCH", "/projects/prj_1/plans/pln_1")
    assert rendered.json == {"price": 31.0} and rendered.params == {}
    assert render(CATALOG.entries["publish_plan"], {"project_id": "p", "plan_id": "q"}).json is None


def test_nested_objects_flatten_with_double_underscores_and_lists_stay_lists() -> None:
    record = {"id": "prj_1", "counts": {"plans": 3, "by": {"x": 1}}, "resources": ["rsr_1"],
              "by_plan": [{"plan_id": "pln_1", "meta": {"a": 1}}], "empty": {}}  # fmt: skip
    assert flatten(record) == {
        "id": "prj_1", "counts__plans": 3, "counts__by__x": 1, "resources": ["rsr_1"],
        "by_plan": [{"plan_id": "pln_1", "meta__a": 1}],
    }  # fmt: skip


def test_declared_fields_are_always_present_and_a_null_parent_gives_null_children() -> None:
    fields = [OutputField("bot__id", "Bot ID"), OutputField("bot__name", "Bot"), OutputField("extra", "E")]
    assert fill_declared({"connected": False, "bot": None}, fields) == {
        "connected": False, "bot__id": None, "bot__name": None, "extra": None
    }  # fmt: skip


def test_records_take_the_root_and_included_values() -> None:
    output = Output("data", (OutputField("id", "ID"),), include=("secret",))
    assert records({"data": {"id": "whe_1"}, "secret": "s"}, output) == [{"id": "whe_1", "secret": "s"}]
    assert records({"data": [{"id": 1}, "junk", {"id": 2}]}, Output("data", ())) == [{"id": 1}, {"id": 2}]
    assert records(None, output) == []


def test_shape_adds_the_upstream_request_id() -> None:
    assert shape({"id": "x"}, None, "req_1") == {"id": "x", "request_id": "req_1"}
