"""``memberpass-connector bench --quick --json FILE`` (the CI smoke run, under a minute) writes every stable
figure name, and a target verdict for each figure that has one: a renamed or lost figure fails here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connector.bench.targets import ROWS, STABLE


@pytest.mark.slow
def test_a_quick_run_writes_every_stable_name_with_its_target(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    command = [sys.executable, "-m", "connector.cli", "bench", "--quick", "--json", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(path.read_text())
    figures = report["figures"]
    assert set(STABLE) <= set(figures), sorted(set(STABLE) - set(figures))
    assert all(isinstance(figures[name], int | float) for name in STABLE)
    targeted = {row.name for row in ROWS if row.op} & set(figures)
    assert targeted <= set(report["targets"])
    assert all(report["targets"][name]["met"] in (True, False) for name in targeted)
    for name in STABLE:  # the printed table shows each figure under the same name
        assert any(line.startswith(name + " ") for line in done.stdout.splitlines()), name
    assert "machine: " in done.stdout
