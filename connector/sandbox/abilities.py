"""Ability strings the sandbox knows (abilities-and-enums.md §1a-§1c), and token presets."""

from __future__ import annotations

ENTITY_ACTIONS = ("view-any", "view", "create", "update", "delete")
PROJECT_ENTITIES = (
    "project",
    "project-payment-method",
    "project-subscription-plan",
    "project-subscription",
    "project-access-code",
    "project-user",
    "project-resource",
)

ALL_ABILITIES: tuple[str, ...] = (
    "mcp:full",
    *(f"{entity}:{action}" for entity in PROJECT_ENTITIES for action in ENTITY_ACTIONS),
    "activity:read",
    "distribution:read",
    "dashboard:read",
    "billing:read",
    "billing:manage",
    "team:view-any",
    "team:view",
    "team:create",
    "team:update",
    "team:delete",
    "team-member:view-any",
    "team-member:view",
    "team-member:invite",
    "team-member:remove",
    "team-member:update-role",
    "role:view-any",
    "role:view",
    "role:create",
    "role:update",
    "role:delete",
    "group:view-any",
    "group:view",
    "group:create",
    "group:update",
    "group:delete",
    "webhook-endpoint:manage",
)

READ_ONLY_ABILITIES: tuple[str, ...] = tuple(
    a for a in ALL_ABILITIES if a.endswith((":view-any", ":view", ":read"))
)


def is_known(ability: str) -> bool:
    return ability in ALL_ABILITIES or ability.startswith(("scope:team:", "scope:project:"))
