"""``memberpass-connector demo`` as a user runs it: a child process on free ports, its output read line by
line, stopped with a signal."""

from __future__ import annotations

import subprocess

from connector.bench.processes import cli_command, free_port


def start_demo(*options: str) -> subprocess.Popen[str]:
    ports = ["--port", str(free_port()), "--connector-port", str(free_port())]
    return subprocess.Popen(
        cli_command("demo", *ports, *options), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def read_until(process: subprocess.Popen[str], prefix: str) -> list[str]:
    """The lines printed up to and including the first that starts with ``prefix``."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(prefix):
            return lines
    raise AssertionError("the demo ended before printing " + repr(prefix) + ":\n" + "".join(lines)[-2000:])


def stop(process: subprocess.Popen[str], signal_number: int) -> str:
    """Send the signal; the rest of the output once the process has ended (killed after 20 s)."""
    try:
        process.send_signal(signal_number)
        rest, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
        if process.stdout is not None:
            process.stdout.close()
    return rest or ""
