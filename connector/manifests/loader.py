"""Manifest pipeline, step 1: YAML files → raw documents, each with its file name.

A resource manifest is ``manifests/<resource>.yaml``; the event catalog is ``manifests/events.yaml``.
Files whose name starts with ``_`` are ignored. The format is described in ``manifests/FORMAT.md`` and in
:func:`connector.manifests.load_catalog`.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from connector.manifests.problems import Problem

EVENTS_FILE = "events.yaml"
# libyaml's loader when PyYAML was built with it (about ten times faster), else the pure-Python one.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Document:
    file: str
    stem: str
    data: Any


@functools.cache
def default_dir() -> Path:
    """The ``manifests`` folder: next to the ``connector`` package in a checkout, or the installed one."""
    beside = Path(__file__).resolve().parents[2] / "manifests"
    if beside.is_dir():
        return beside
    spec = importlib.util.find_spec("manifests")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return beside


def manifest_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.yaml") if not p.name.startswith("_"))


def read_documents(files: Iterable[Path]) -> tuple[list[Document], list[Problem]]:
    """Each file parsed; a file that is not valid YAML is a problem, not a crash."""
    documents: list[Document] = []
    problems: list[Problem] = []
    for path in files:
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)  # noqa: S506 (a safe loader)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problems.append(Problem(path.name, where, f"is not valid YAML ({err}).", "Fix the YAML syntax."))
            continue
        documents.append(Document(path.name, path.stem, data))
    if not documents and not problems:
        problems.append(
            Problem("manifests", "", "no manifest files found.", "Point at the manifests folder.")
        )
    return documents, problems
