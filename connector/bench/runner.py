"""Run every benchmark in one process and print one table (`memberpass-connector bench`).

Each module exposes ``run(quick: bool) -> dict`` whose top-level numeric figures have stable names. The
table leads with the figures of :data:`connector.bench.targets.ROWS`, each with its target and "met" /
"not met", then lists every other figure. The JSON (``--json FILE``) holds the machine, each module's full
result, ``figures`` (every flat figure under its stable name) and ``targets`` (bound and verdict per row).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

from connector.bench.targets import ROWS

BENCHMARKS: tuple[str, ...] = (
    "connector.bench.sandbox_rps",
    "connector.bench.client_overhead",
    "connector.bench.api_latency",
    "connector.bench.startup",
    "connector.bench.delivery",
    "connector.bench.polling",
    "connector.bench.seen",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo") as info:
            return round(int(info.readline().split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        return None


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "bytecode_cache": not sys.dont_write_bytecode,
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def run_all(quick: bool, echo: Callable[[str], None] = print) -> dict[str, Any]:
    figures: dict[str, Any] = {"machine": machine(), "quick": quick}
    total = time.perf_counter()
    for name in BENCHMARKS:
        module = importlib.import_module(name)
        echo(f"running {name.rsplit('.', 1)[-1]} …")
        started = time.perf_counter()
        figures[name.rsplit(".", 1)[-1]] = module.run(quick=quick)
        echo(f"  done in {time.perf_counter() - started:.1f} s")
    figures["machine"]["bench_seconds"] = round(time.perf_counter() - total, 1)
    figures["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
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


def verdicts(flat: dict[str, float]) -> dict[str, dict[str, Any]]:
    return {
        row.name: {"target": row.text(flat), "met": row.met(flat)}
        for row in ROWS
        if row.met(flat) is not None
    }


def _status(met: bool | None) -> str:
    return "" if met is None else ("met" if met else "not met")


def table(figures: dict[str, Any]) -> str:
    flat = flat_figures(figures)
    rows = [(r.name, flat.get(r.name), r.text(flat), _status(r.met(flat))) for r in ROWS]
    shown = {r.name for r in ROWS}
    rows += [(name, value, "", "") for name, value in sorted(flat.items()) if name not in shown]
    width = max(len(name) for name, *_ in rows)
    aim = max(len(target) for _, _, target, _ in rows)
    head = f"{'figure':<{width}}  {'value':>10}  {'target':<{aim}}  status"
    lines = [head, "-" * (len(head) + 2)]
    for name, value, target, status in rows:
        text = "-" if value is None else f"{value:g}"
        status = "full run only" if value is None else status
        lines.append(f"{name:<{width}}  {text:>10}  {target:<{aim}}  {status}".rstrip())
    lines.append(machine_line(figures["machine"], figures.get("quick", False)))
    return "\n".join(lines)


def machine_line(m: dict[str, Any], quick: bool) -> str:
    cache = "on" if m.get("bytecode_cache") else "off (PYTHONDONTWRITEBYTECODE)"
    return (
        f"machine: {m['cpu']}, {m['cpus']} CPUs, {m.get('memory_gb')} GB, {m['platform']}, Python "
        f"{m['python']}, bytecode cache {cache}; {'quick' if quick else 'full'} run of "
        f"{m.get('bench_seconds', '?')} s, load average {m.get('load_avg_1m_at_start')} at start and "
        f"{m.get('load_avg_1m_at_end')} at end, {m['when']}"
    )


def write_json(figures: dict[str, Any], path: str) -> None:
    flat = flat_figures(figures)
    with open(path, "w") as handle:
        json.dump({**figures, "figures": flat, "targets": verdicts(flat)}, handle, indent=2)
