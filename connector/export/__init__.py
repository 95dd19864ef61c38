"""Artefacts generated from the manifests for workflow platforms (``memberpass-connector export …``).

Each exporter builds its files as ``{relative path: text}`` and writes them with :func:`write_tree`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

MARKER = ".memberpass-export.json"


def write_tree(out: Path, files: Mapping[str, str], exporter: str) -> None:
    """Write ``files`` under ``out``. A list of what was written is kept in ``out/.memberpass-export.json``,
    so exporting again removes files of the previous export that are gone now (a deleted operation), and
    never touches anything else in the folder (``node_modules``, ``.env``, the user's own files)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in sorted(_previous(out, exporter) - set(files)):
        target = out / stale
        if target.is_file():
            target.unlink()
    for relative, text in files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    record = {"exporter": exporter, "files": sorted(files)}
    (out / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _previous(out: Path, exporter: str) -> set[str]:
    try:
        record = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(record, dict) or record.get("exporter") != exporter:
        return set()
    root = out.resolve()
    return {
        name
        for name in record.get("files", [])
        if isinstance(name, str) and (out / name).resolve().is_relative_to(root)
    }
