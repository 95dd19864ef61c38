"""Run every benchmark in one process and print one table (`memberpass-connector bench`)."""

from __future__ import annotations

import importlib
import json
import platform
import time
from collections.abc import Callable
from typing import Any

# Each module exposes `run(quick: bool) -> dict` whose top-level scalar figures have stable names.
BENCHMARKS: tuple[str, ...] = (
    "connector.bench.sandbox_rps",
    "connector.bench.client_overhead",
    "connector.bench.delivery",
    "connector.bench.polling",
)


def machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def run_all(quick: bool, echo: Callable[[str], None] = print) -> dict[str, Any]:
    figures: dict[str, Any] = {"machine": machine()}
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            echo(f"skipped {name}: not installed")
            continue
        echo(f"running {name.rsplit('.', 1)[-1]} …")
        started = time.perf_counter()
        result = module.run(quick=quick)
        figures[name.rsplit(".", 1)[-1]] = result
        echo(f"  done in {time.perf_counter() - started:.1f} s")
    return figures


def flat_figures(figures: dict[str, Any]) -> dict[str, float]:
    """Top-level numeric figures of every benchmark, under their stable names."""
    flat: dict[str, float] = {}
    for name, result in figures.items():
        if name == "machine" or not isinstance(result, dict):
            continue
        for key, value in result.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                flat[key] = value
    return flat


def table(figures: dict[str, Any]) -> str:
    rows = sorted(flat_figures(figures).items())
    width = max((len(k) for k, _ in rows), default=10)
    lines = [f"{'figure':<{width}}  value", f"{'-' * width}  -----"]
    lines += [f"{key:<{width}}  {value:g}" for key, value in rows]
    m = figures["machine"]
    lines.append(f"machine: {m['platform']}, {m['cpus']} CPUs, Python {m['python']}, {m['when']}")
    return "\n".join(lines)


def write_json(figures: dict[str, Any], path: str) -> None:
    with open(path, "w") as handle:
        json.dump({**figures, "figures": flat_figures(figures)}, handle, indent=2)
