"""``memberpass-connector manifests …``: check the manifests the way the server does at start-up."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from connector.manifests import validate_files
from connector.manifests.loader import default_dir, manifest_files

COUNT_LABELS = (
    ("actions", "actions"),
    ("searches", "searches"),
    ("search_or_create", "search-or-create pairs"),
    ("choices", "dynamic choices"),
    ("triggers", "triggers"),
    ("list_triggers", "  list-backed"),
    ("event_triggers", "  event (one per MemberPass event)"),
)


@click.group()
def manifests() -> None:
    """Work with the manifest files (triggers, actions, searches, choices, events)."""


@manifests.command()
@click.option(
    "--path",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Manifests folder (default: the project's manifests/).",
)
def validate(directory: Path | None) -> None:
    """Validate every manifest and print the catalog counts; exit 1 listing each problem otherwise."""
    folder = directory or default_dir()
    catalog, problems = validate_files(manifest_files(folder))
    if problems or catalog is None:
        click.echo(f"{len(problems)} problem(s) in {folder}:", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    counts = catalog.counts()
    click.echo(f"manifests OK ({folder})")
    for key, label in COUNT_LABELS:
        click.echo(f"  {label + ':':40} {counts[key]}")
