"""``memberpass-connector export …``: artefacts for workflow platforms, generated from the manifests.

Each platform is one subcommand of the ``export`` group; a new one is a ``@export.command()`` function
(here or in its own module, then ``export.add_command(...)``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from connector.manifests import ManifestError, load_catalog


@click.group()
def export() -> None:
    """Generate artefacts for workflow platforms from the manifests."""


def _default_base_url() -> str:
    return (os.environ.get("CONNECTOR_PUBLIC_URL") or "http://127.0.0.1:8080").rstrip("/")


def _http_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(f"{value!r} is not an http(s) URL such as https://connector.example.com.")
    return value.rstrip("/")


@export.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write the app into (created if needed).",
)
@click.option(
    "--base-url",
    default=_default_base_url,
    callback=_http_url,
    show_default="CONNECTOR_PUBLIC_URL or http://127.0.0.1:8080",
    help="The connector's public URL, baked into the app (CONNECTOR_BASE_URL overrides it at run time).",
)
@click.option(
    "--auth",
    type=click.Choice(["oauth2", "custom"]),
    default="oauth2",
    show_default=True,
    help="oauth2: sign in through the connector's OAuth pages (PKCE); custom: paste a connection key.",
)
@click.option("--version", "app_version", default="", help="App version (default: the connector's version).")
def zapier(out: Path, base_url: str, auth: str, app_version: str) -> None:
    """A Zapier CLI app (package.json, index.js, one module per operation)."""
    from connector.export.zapier import ExportError, ZapierOptions, export_zapier

    try:
        written = export_zapier(load_catalog(), out, ZapierOptions(base_url, auth, app_version))
    except (ExportError, ManifestError) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    click.echo(f"Zapier app ({auth}) written to {out}: {len(written)} files, talking to {base_url}")
    click.echo(f"  next: cd {out} && npm install && zapier-platform validate")


from connector.export.n8n import n8n_command  # noqa: E402  (its own module)
from connector.export.openapi_command import openapi_command  # noqa: E402  (its own module)

export.add_command(n8n_command)
export.add_command(openapi_command)
