"""A problem found in a manifest, and the error that carries all of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connector.errors import ConfigError


@dataclass(frozen=True, order=True)
class Problem:
    """``file`` is the manifest's file name, ``path`` the place inside it (``entries[3].inputs[1].type``)."""

    file: str
    path: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message} Fix: {self.fix}"


class ManifestError(ConfigError):
    """The manifests do not validate; ``problems`` lists every one of them."""

    code = "MANIFEST_INVALID"
    default_remediation = "Fix the manifest problems listed and start again."

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} manifest problem(s):\n{lines}")
