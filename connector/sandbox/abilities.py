"""Ability strings the sandbox accepts, and token presets.

The strings are MemberPass's (abilities-and-enums.md §1a-§1c); the connector keeps the one list in
:mod:`connector.abilities`, and the sandbox reads it from there rather than keeping a second copy.
"""

from __future__ import annotations

from connector.abilities import ABILITIES

ALL_ABILITIES: tuple[str, ...] = tuple(sorted(ABILITIES))

READ_ONLY_ABILITIES: tuple[str, ...] = tuple(
    a for a in ALL_ABILITIES if a.endswith((":view-any", ":view", ":read"))
)


def is_known(ability: str) -> bool:
    return ability in ABILITIES or ability.startswith(("scope:team:", "scope:project:"))
