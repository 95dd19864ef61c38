"""``memberpass-connector export n8n --out DIR``: the n8n artefacts, generated from the manifests.

What lands in ``DIR``:

- an n8n community-node package (``package.json`` with its ``n8n`` section, ``tsconfig.json``, the
  credential type, the declarative action/search node, the REST-hook trigger node, an icon, and a build
  script: ``npm install && npm run build`` compiles it with tsc into ``dist/``);
- ``workflows/*.json``: templates for the common recipes built from n8n's own nodes only, importable on
  any instance (n8n Cloud included), see :mod:`connector.export.n8n_templates`.

The files depend only on the manifests and the two URLs, so the same manifests give the same files.
"""

from __future__ import annotations

import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import click

from connector.export import n8n_sources as src
from connector.export.n8n_action_node import action_node
from connector.export.n8n_templates import templates
from connector.export.n8n_trigger_node import choice_inputs, trigger_inputs, trigger_node
from connector.manifests import Catalog, load_catalog

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_N8N_URL = "https://n8n.example.com"
ICON = "memberpass.svg"


def package_version() -> str:
    try:
        return version("memberpass-connector")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
        return "0.0.0"


def package_files(catalog: Catalog) -> dict[str, str]:
    """The community-node package, as ``{relative path: text}``."""
    return {
        "package.json": src.package_json(package_version()),
        "tsconfig.json": src.tsconfig_json(),
        "scripts/copy-icons.js": src.COPY_ICONS_JS,
        src.CREDENTIAL_FILE: src.CREDENTIAL_TS,
        src.ACTION_FILE: src.action_ts(action_node(catalog)),
        src.TRIGGER_FILE: src.trigger_ts(
            trigger_node(catalog), trigger_inputs(catalog), choice_inputs(catalog)
        ),
        str(Path(src.ACTION_FILE).parent / ICON): src.ICON_SVG,
        str(Path(src.TRIGGER_FILE).parent / ICON): src.ICON_SVG,
    }


def template_files(base_url: str, n8n_url: str) -> dict[str, str]:
    return {
        f"workflows/{name}": json.dumps(body, indent=2) + "\n"
        for name, body in templates(base_url, n8n_url).items()
    }


def export_n8n(
    out: Path,
    *,
    base_url: str = DEFAULT_BASE_URL,
    n8n_url: str = DEFAULT_N8N_URL,
    catalog: Catalog | None = None,
) -> list[Path]:
    """Write the package and the templates under ``out``; returns the files written."""
    catalog = catalog or load_catalog()
    written = []
    for relative, text in {**package_files(catalog), **template_files(base_url, n8n_url)}.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


@click.command("n8n")
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write."
)
@click.option(
    "--base-url",
    default=lambda: os.environ.get("CONNECTOR_PUBLIC_URL") or DEFAULT_BASE_URL,
    show_default="CONNECTOR_PUBLIC_URL or " + DEFAULT_BASE_URL,
    help="The connector's URL in the templates (the credential asks for it too).",
)
@click.option(
    "--n8n-url", default=DEFAULT_N8N_URL, show_default=True, help="Your n8n's URL (webhook targets)."
)
def n8n_command(out: Path, base_url: str, n8n_url: str) -> None:
    """Write the n8n community-node package and workflow templates to OUT."""
    written = export_n8n(out, base_url=base_url, n8n_url=n8n_url)
    click.echo(f"wrote {len(written)} files to {out}")
    click.echo(f"  package:   cd {out} && npm install && npm run build")
    click.echo(f"  templates: {out / 'workflows'} (import them in n8n: Workflows → Import from File)")
