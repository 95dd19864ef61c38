"""The `memberpass-connector` command."""

from __future__ import annotations

import sys

import click

from connector.errors import ConfigError


@click.group()
@click.version_option(package_name="memberpass-connector")
def main() -> None:
    """MemberPass Connector: triggers, actions and searches for Zapier, n8n and webhooks."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option(
    "--environment",
    type=click.Choice(["test", "live"]),
    default="test",
    show_default=True,
    help="Which token prefix the sandbox accepts.",
)
@click.option("--per-minute", type=int, default=300, show_default=True, help="Per-token requests per minute.")
@click.option("--per-hour", type=int, default=10_000, show_default=True, help="Per-token requests per hour.")
@click.option(
    "--clock-speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Sandbox seconds per real second (speeds up webhook retries, trials, expiries).",
)
@click.option(
    "--seed",
    "seed_preset",
    type=click.Choice(["none", "demo"]),
    default="none",
    show_default=True,
    help="Seed data at start and print the tokens.",
)
def sandbox(
    host: str,
    port: int,
    environment: str,
    per_minute: int,
    per_hour: int,
    clock_speed: float,
    seed_preset: str,
) -> None:
    """Run the MemberPass v1 sandbox over HTTP."""
    from connector.sandbox import SandboxServer, SandboxSettings

    settings = SandboxSettings(
        environment=environment, per_minute=per_minute, per_hour=per_hour, clock_speed=clock_speed
    )
    server = SandboxServer(settings, host, port, quiet=False)
    click.echo(f"MemberPass sandbox on {server.base_url}  (control surface: {server.url}/_sandbox/)")
    if seed_preset == "demo":
        _print_seed(server.sandbox)
    server.serve_forever()


def _print_seed(sandbox_obj: object) -> None:
    from connector.sandbox.seed import seed_demo

    seeded = seed_demo(sandbox_obj.store)  # type: ignore[attr-defined]
    click.echo(f"Seeded team {seeded['team_id']} with projects {', '.join(seeded['project_ids'])}")
    for name, token in seeded["tokens"].items():
        click.echo(f"  {name:15} {token}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--threads", default=16, show_default=True, type=click.IntRange(1, 256), help="Request threads."
)
def serve(host: str, port: int, threads: int) -> None:
    """Run the connector's HTTP service."""
    import waitress

    from connector.app import create_app
    from triggers.scheduler import start_background as start_polling
    from webhooks.worker import start_background as start_delivery

    try:
        app = create_app()
    except ConfigError as err:
        click.echo(f"error: {err.message}\n  fix: {err.remediation}", err=True)
        sys.exit(2)
    click.echo(f"MemberPass Connector on http://{host}:{port}")
    start_polling(app)
    start_delivery(app)
    # waitress: a production WSGI server (a pool of threads, kept-alive connections), not werkzeug's
    # development server, which starts a thread and a TCP connection per request.
    waitress.serve(app, host=host, port=port, threads=threads, ident="memberpass-connector", _quiet=True)


@main.command()
@click.option("--port", default=8765, show_default=True, type=int, help="Sandbox port (another if taken).")
@click.option(
    "--connector-port", default=8080, show_default=True, type=int, help="Connector port (another if taken)."
)
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (default: Ctrl-C).")
@click.option(
    "--rate",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Simulated changes per second.",
)
def demo(port: int, connector_port: int, duration: float | None, rate: float) -> None:
    """The product tour: sandbox with demo data, the connector, a receiver, live traffic and deliveries."""
    from connector.demo import run_demo

    run_demo(sandbox_port=port, connector_port=connector_port, duration=duration, rate=rate)


@main.command()
@click.option("--quick", is_flag=True, help="Shorter runs (a smoke check of the numbers).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the figures as JSON.")
def bench(quick: bool, json_path: str | None) -> None:
    """Run every benchmark in one process and print one table."""
    from connector.bench.runner import run_all, table, write_json

    figures = run_all(quick, echo=click.echo)
    click.echo(table(figures))
    if json_path:
        write_json(figures, json_path)
        click.echo(f"figures written to {json_path}")


def _add_connection_commands() -> None:
    from connector.cli_connections import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_add_connection_commands()

from connector.cli_manifests import manifests  # noqa: E402  (a command group of its own module)

main.add_command(manifests)

from connector.cli_export import export  # noqa: E402  (the `export` group: zapier, n8n, openapi)

main.add_command(export)

if __name__ == "__main__":
    main()
