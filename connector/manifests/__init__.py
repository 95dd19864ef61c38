"""Manifests: every trigger, action, search and dynamic dropdown, described as data.

Pipeline (after airbyte's manifest pipeline): load (YAML → raw documents, :mod:`.loader`) → validate the
structure of each document (:mod:`.schema`) → build the sound entries into frozen model objects
(:mod:`.build`, :mod:`.model`) → cross-check entries, files and the event catalog (:mod:`.checks`). Every
problem names the file, the path inside it and the fix, and all of them are collected before failing.

Format, in short (the full description is ``manifests/FORMAT.md``)::

    # manifests/plans.yaml — one file per MemberPass resource; `resource` equals the file stem
    resource: plans
    noun: Plan
    entries:
      - key: create_plan              # snake_case, unique across all manifests
        kind: action                  # action | search | trigger | choices
        label: Create Plan
        description: Creates a subscription plan in a project.
        ability: project-subscription-plan:create     # or a list; [] = no ability is checked
        request:
          method: POST
          path: /projects/{project_id}/plans          # every {var} is a required input
          body: [name, price]         # or {upstream_name: input_key}; `query:` likewise;
                                      # default: GET → query, others → body; `constants: {k: v}` too
        inputs:
          - {key: project_id, type: string, required: true, dynamic: projects}
          - {key: billing_cycle, type: string, choices: [days, months], default: months}
        output:
          root: data                  # dotted path to the record (or list of records)
          fields: [{key: id, type: string}, {key: price, type: string}]
        sample: {id: pln_01…, price: "29.00"}
        sample_input: {project_id: $project, name: Gold}   # `$name` = seeded sandbox data (tests)

Searches may add ``match: {record_field: input_key}`` (keep exact matches only), ``require_one_of`` and
``or_create: <action key>``; choices add ``value`` and ``label_field``; triggers add ``dedupe`` and
``order_by``, or with ``source: events`` read their changes from the event feed (``events``, an optional
``fetch`` of the changed record, no ``request``); any entry may list the ``events`` that signal a change
of its records. ``events.yaml``
holds the event catalog: ``events: [{name, abilities, label, description, scope: project|team, sample}]``.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from connector.manifests.build import build_entry, build_event
from connector.manifests.checks import cross_check
from connector.manifests.loader import EVENTS_FILE, Document, default_dir, manifest_files, read_documents
from connector.manifests.model import Catalog, Entry, Event
from connector.manifests.problems import ManifestError, Problem
from connector.manifests.schema import check_document

__all__ = ["Catalog", "Entry", "Event", "ManifestError", "Problem", "load_catalog", "validate_files"]

_cache: dict[Path, Catalog] = {}
_lock = threading.Lock()


def load_catalog(path: str | Path | None = None) -> Catalog:
    """The catalog of the manifests folder ``path`` (default: the project's ``manifests/``), validated
    once and cached; raises :class:`ManifestError` listing every problem."""
    directory = Path(path).resolve() if path is not None else default_dir()
    with _lock:
        catalog = _cache.get(directory)
        if catalog is None:
            catalog, problems = validate_files(manifest_files(directory))
            if problems:
                raise ManifestError(problems)
            assert catalog is not None
            _cache[directory] = catalog
        return catalog


def validate_files(files: list[Path]) -> tuple[Catalog | None, list[Problem]]:
    """Run the whole pipeline over ``files``; the catalog is None when there is any problem."""
    documents, problems = read_documents(files)
    entries: list[Entry] = []
    events: dict[str, Event] = {}
    event_file = EVENTS_FILE
    for doc in documents:
        found = check_document(doc.data, doc.file, doc.stem)
        problems += found
        if doc.stem == "events":
            event_file = doc.file
            if not found:
                problems += _collect_events(doc, events)
        elif isinstance(doc.data, dict):
            entries += _sound_entries(doc, {p.path for p in found})
    if not any(d.stem == "events" for d in documents):
        problems.append(
            Problem(EVENTS_FILE, "", "is missing.", "Add manifests/events.yaml (the event catalog).")
        )
    problems += cross_check(entries, events, event_file)
    if problems:
        return None, sorted(set(problems), key=lambda p: (p.file, _path_key(p.path), p.message))
    return Catalog({e.key: e for e in entries}, events), []


def _sound_entries(doc: Document, bad_paths: set[str]) -> list[Entry]:
    """Build the entries of ``doc`` that had no structural problem."""
    data = doc.data
    if "resource" in bad_paths or "noun" in bad_paths or not isinstance(data.get("entries"), list):
        return []
    built = []
    for index, raw in enumerate(data["entries"]):
        prefix = f"entries[{index}]"
        if any(p == prefix or p.startswith(prefix + ".") for p in bad_paths):
            continue
        built.append(build_entry(raw, data["resource"], data["noun"], doc.file, index))
    return built


def _collect_events(doc: Document, events: dict[str, Event]) -> list[Problem]:
    problems = []
    for index, raw in enumerate(doc.data["events"]):
        event = build_event(raw)
        if event.name in events:
            problems.append(Problem(doc.file, f"events[{index}].name", f"duplicate event `{event.name}`.",
                                    "List each event once."))  # fmt: skip
        events[event.name] = event
    return problems


def _path_key(path: str) -> str:
    """Sort ``entries[10]`` after ``entries[9]``."""
    return re.sub(r"\d+", lambda m: m.group().zfill(8), path)
