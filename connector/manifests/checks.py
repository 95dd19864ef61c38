"""Manifest pipeline, step 4: rules that look across fields, entries and files.

Duplicate keys, path variables without an input, inputs sent nowhere, samples that do not match their
output fields, unknown abilities and event names, `dynamic` sources that do not exist, `or_create` naming
something other than an action, `match` / `require_one_of` naming unknown inputs, trigger `dedupe` /
`order_by` and choices `value` / `label_field` naming undeclared output fields, and `sample_input` that
does not fit; entries reading the event feed are checked by :mod:`connector.manifests.feed_checks`. Each
check yields :class:`Problem` objects; :func:`cross_check` collects them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connector.abilities import is_known
from connector.manifests.feed_checks import FEED_CHECKS
from connector.manifests.model import Entry, Event, OutputField
from connector.manifests.problems import Problem
from connector.manifests.types import input_value_fits, output_mismatch

REFERENCE_PREFIX = "$"  # a `sample_input` value such as `$project` names a seeded sandbox record


def cross_check(entries: list[Entry], events: dict[str, Event], event_file: str) -> list[Problem]:
    by_key = {e.key: e for e in entries}
    problems = list(duplicate_keys(entries))
    for index, event in enumerate(events.values()):
        problems += [
            Problem(event_file, f"events[{index}].abilities", f"unknown ability `{a}`.", _ABILITY_FIX)
            for a in event.abilities
            if not is_known(a)
        ]
    for entry in entries:
        for check in ENTRY_CHECKS:
            problems.extend(check(entry, by_key, events))
    return problems


_ABILITY_FIX = "Use an ability string of abilities-and-enums.md §1 (connector/abilities.py)."


def _at(entry: Entry, rest: str) -> str:
    return f"{entry.where}.{rest}" if rest else entry.where


def _p(entry: Entry, rest: str, message: str, fix: str) -> Problem:
    return Problem(entry.source, _at(entry, rest), message, fix)


def duplicate_keys(entries: list[Entry]) -> Iterator[Problem]:
    first: dict[str, Entry] = {}
    for entry in entries:
        other = first.setdefault(entry.key, entry)
        if other is not entry:
            where = f"{other.source} {other.where}"
            yield _p(entry, "key", f"duplicate key `{entry.key}` (also {where}).", "Keys are unique across "
                     "all manifests: rename one of them.")  # fmt: skip


def request_inputs(entry: Entry, *_: Any) -> Iterator[Problem]:
    keys = {f.key for f in entry.inputs}
    for var in entry.request.path_vars:
        field = entry.input(var)
        if field is None:
            yield _p(entry, "request.path", f"path variable `{{{var}}}` has no input.",
                     f"Add an input with `key: {var}` (required: true).")  # fmt: skip
        elif not field.required:
            index = entry.inputs.index(field)
            yield _p(entry, f"inputs[{index}].required", f"`{var}` is a path variable but not required.",
                     "Set `required: true`.")  # fmt: skip
    for part in ("query", "body"):
        for upstream, key in getattr(entry.request, part):
            if key not in keys:
                yield _p(entry, f"request.{part}.{upstream}", f"names unknown input `{key}`.",
                         f"Add an input `{key}` or remove it from `{part}`.")  # fmt: skip
    used = set(entry.request.path_vars) | {k for _, k in entry.request.query + entry.request.body}
    used |= set(entry.fetch.path_vars if entry.fetch else ())
    fix = (
        "Use it as a `fetch` path variable, or remove it (the event feed takes only `project_id`)."
        if entry.reads_events
        else "Map it in `request.query` or `request.body`, or remove it."
    )
    for index, field in enumerate(entry.inputs):
        if field.key not in used:
            yield _p(entry, f"inputs[{index}]", f"input `{field.key}` is sent nowhere.", fix)


def abilities(entry: Entry, *_: Any) -> Iterator[Problem]:
    for ability in entry.abilities:
        if not is_known(ability):
            yield _p(entry, "ability", f"unknown ability `{ability}`.", _ABILITY_FIX)


def events(entry: Entry, _: dict[str, Entry], catalog: dict[str, Event]) -> Iterator[Problem]:
    for index, name in enumerate(entry.events):
        if name not in catalog:
            yield _p(
                entry, f"events[{index}]", f"unknown event `{name}`.", "Use an event name of events.yaml."
            )


def dynamic_sources(entry: Entry, by_key: dict[str, Entry], *_: Any) -> Iterator[Problem]:
    for index, field in enumerate(entry.inputs):
        if field.dynamic is None:
            continue
        source = by_key.get(field.dynamic)
        if source is None or source.kind != "choices":
            choices = sorted(k for k, e in by_key.items() if e.kind == "choices")
            yield _p(entry, f"inputs[{index}].dynamic", f"`{field.dynamic}` is not a choices source.",
                     "Use one of: " + ", ".join(choices) + ".")  # fmt: skip
        if field.choices:
            yield _p(entry, f"inputs[{index}]", "has both `choices` and `dynamic`.", "Keep one of them.")


def static_choices(entry: Entry, *_: Any) -> Iterator[Problem]:
    for index, field in enumerate(entry.inputs):
        values = {c.value for c in field.choices}
        defaults = field.default if isinstance(field.default, list) else [field.default]
        if values and field.default is not None and any(str(d) not in values for d in defaults):
            yield _p(entry, f"inputs[{index}].default", f"{field.default!r} is not one of the choices.",
                     "Pick a default among `choices`.")  # fmt: skip


def or_create(entry: Entry, by_key: dict[str, Entry], *_: Any) -> Iterator[Problem]:
    if entry.or_create is None:
        return
    target = by_key.get(entry.or_create)
    if target is None or target.kind != "action":
        what = "does not exist" if target is None else f"is a {target.kind}"
        yield _p(entry, "or_create", f"`{entry.or_create}` {what}; `or_create` must name an action.",
                 "Name the key of the action that creates what this search finds.")  # fmt: skip


def input_references(entry: Entry, *_: Any) -> Iterator[Problem]:
    keys = {f.key for f in entry.inputs}
    for field_key, input_key in entry.match:
        if input_key not in keys:
            yield _p(entry, f"match.{field_key}", f"names unknown input `{input_key}`.",
                     "Match on one of this entry's inputs.")  # fmt: skip
    for index, key in enumerate(entry.require_one_of):
        if key not in keys:
            yield _p(entry, f"require_one_of[{index}]", f"names unknown input `{key}`.", "Name an input key.")


def output_references(entry: Entry, *_: Any) -> Iterator[Problem]:
    if entry.output is None:
        return
    declared = {f.key for f in entry.output.fields}
    refs: list[tuple[str, str | None]] = [(f"match.{f}", f) for f, _ in entry.match]
    refs += [(f"dedupe[{i}]", f) for i, f in enumerate(entry.dedupe)]
    refs += [("order_by", entry.order_by), ("value", entry.value), ("label_field", entry.label_field)]
    for rest, key in refs:
        if key is not None and key not in declared:
            yield _p(entry, rest, f"`{key}` is not an output field.", "Declare it in `output.fields`.")


def sample(entry: Entry, *_: Any) -> Iterator[Problem]:
    if entry.output is None or entry.sample is None:
        return
    for index, field in enumerate(entry.output.fields):
        yield from _sample_field(entry, index, field)
    declared = {f.key for f in entry.output.fields}
    for key in entry.sample:
        if key not in declared:
            yield _p(entry, f"sample.{key}", "is not a declared output field.",
                     "Declare it in `output.fields` or remove it from the sample.")  # fmt: skip


def _sample_field(entry: Entry, index: int, field: OutputField) -> Iterator[Problem]:
    assert entry.sample is not None
    if field.key not in entry.sample:
        yield _p(entry, "sample", f"lacks output field `{field.key}`.", f"Add `{field.key}` to the sample.")
        return
    expected = output_mismatch(entry.sample[field.key], field)
    if expected is not None:
        message = f"is {entry.sample[field.key]!r}; `output.fields[{index}]` says {expected}."
        yield _p(
            entry,
            f"sample.{field.key}",
            message,
            f"Make the sample value {expected} or fix the field's type.",
        )


def sample_input(entry: Entry, *_: Any) -> Iterator[Problem]:
    for key, value in entry.sample_input.items():
        field = entry.input(key)
        if field is None:
            yield _p(entry, f"sample_input.{key}", "is not an input.", "Remove it or add the input.")
        elif not is_reference(value) and not input_value_fits(value, field.type, field.list):
            yield _p(entry, f"sample_input.{key}", f"{value!r} is not a {field.type}.", "Fix the value.")
    for field in entry.inputs:
        if field.required and field.default is None and field.key not in entry.sample_input:
            yield _p(entry, "sample_input", f"lacks required input `{field.key}`.",
                     f"Add `{field.key}` (a literal, or a `$name` reference to seeded data).")  # fmt: skip


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(REFERENCE_PREFIX)


ENTRY_CHECKS = (
    request_inputs,
    abilities,
    events,
    dynamic_sources,
    static_choices,
    or_create,
    input_references,
    output_references,
    sample,
    sample_input,
    *FEED_CHECKS,
)
