"""The README stays true: every command, setting and sandbox control route is documented there."""

from __future__ import annotations

import re
from pathlib import Path

import click
from flask import Flask

from connector.cli import main
from connector.sandbox import create_sandbox_app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in group.commands.items():
        names.append(prefix + name)
        if isinstance(command, click.Group):
            names += _commands(command, prefix + name + " ")
    return names


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    lines = [line.split("#")[0].strip() for line in first_block.strip().splitlines()[1:]]
    assert lines == ["python3 tasks.py demo", "python3 tasks.py test"]


def test_every_cli_command_is_documented() -> None:
    missing = [name for name in _commands(main) if f"`{name}" not in README]
    assert missing == [], f"undocumented commands: {missing}"


def test_every_environment_variable_is_documented() -> None:
    source = (Path(__file__).resolve().parents[1] / "connector" / "config.py").read_text()
    variables = set(re.findall(r'"((?:CONNECTOR|MEMBERPASS)_[A-Z_]+)"', source))
    assert variables, "no variables found"
    missing = sorted(v for v in variables if f"`{v}`" not in README)
    assert missing == [], f"undocumented settings: {missing}"


def test_every_sandbox_control_route_is_documented() -> None:
    app: Flask = create_sandbox_app()
    routes = {
        re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"<\1>", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/_sandbox/")
    }
    missing = sorted(r for r in routes if r not in README)
    assert missing == [], f"undocumented sandbox control routes: {missing}"
