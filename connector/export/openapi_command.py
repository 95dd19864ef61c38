"""``memberpass-connector export openapi [--out FILE]``: the document ``GET /openapi.json`` serves."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("openapi")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
@click.option("--server-url", default=None, help="Add a `servers` entry with this base URL.")
def openapi_command(out: Path | None, server_url: str | None) -> None:
    """The OpenAPI 3.1 document of the connector's API, from the manifests and the routes."""
    from connector.openapi import build_document, document, document_text

    text = document_text(build_document(server_url=server_url) if server_url else document())
    if out is None:
        click.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    click.echo(f"OpenAPI document written to {out}", err=True)
