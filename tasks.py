#!/usr/bin/env python3
"""The two commands of the README, runnable on a fresh machine with only Python 3.11 and pip.

    python3 tasks.py demo    # the sandbox, the connector and live traffic, no configuration
    python3 tasks.py test    # ruff, mypy and the test suite (what CI runs)
    python3 tasks.py bench   # the benchmark report
    python3 tasks.py soak [--minutes N]   # the long soak and fault run (default 10 minutes), its report

Each creates `.venv` on first use and installs the project (editable) with what that command needs.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def ensure_env(extras: str) -> None:
    if not PY.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if stamp.exists():
        return
    print(f"installing memberpass-connector[{extras}] into .venv …", flush=True)
    run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([str(PY), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[{extras}]"])
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def run(cmd: list[str]) -> None:
    code = subprocess.call(cmd, cwd=ROOT)
    if code != 0:
        print(f"failed ({code}): {' '.join(cmd)}", file=sys.stderr)
        sys.exit(code)


def soak(argv: list[str]) -> None:
    """The short soak's test with ``SOAK_SECONDS`` of chaos per mode; pytest prints each report."""
    minutes = float(argv[argv.index("--minutes") + 1]) if "--minutes" in argv else 10.0
    os.environ["SOAK_SECONDS"] = str(minutes * 60)
    run([str(PY), "-m", "pytest", "tests/soak/test_soak.py", "-k", "test_soak_", "-s", "-rA", "--timeout=0"])


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"demo", "test", "bench", "soak"}:
        print(__doc__)
        sys.exit(2)
    command, rest = argv[0], argv[1:]
    ensure_env("dev")
    if command == "demo":
        run([str(BIN / "memberpass-connector"), "demo", *rest])
    elif command == "bench":
        run([str(BIN / "memberpass-connector"), "bench", *rest])
    elif command == "soak":
        soak(rest)
    else:
        run([str(PY), "-m", "ruff", "check", "."])
        run([str(PY), "-m", "ruff", "format", "--check", "."])
        run([str(PY), "-m", "mypy"])
        run([str(PY), "-m", "pytest", *rest])


if __name__ == "__main__":
    main(sys.argv[1:])
