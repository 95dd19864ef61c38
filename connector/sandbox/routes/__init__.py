"""Route modules of the sandbox. Every module here is imported at start-up (see ``load_all``).

A module registers `/v1` routes with ``@api.route(...)`` and control routes with ``@control.route(...)``;
it may define ``init_sandbox(sandbox)`` to attach listeners or background workers.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def load_all() -> list[ModuleType]:
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        modules.append(importlib.import_module(f"{__name__}.{info.name}"))
    return modules
