"""The MemberPass ability strings the connector knows (abilities-and-enums.md §1a-§1c).

§1a lists the 37 strings that appear verbatim in MemberPass sources; §1b completes the 7 x 5 role/group
matrix (13 strings); §1c adds the admin surfaces (12 strings) — 62 in all. Manifests may only name these.
Scope tuples (`scope:team:…`, `scope:project:…`) are not abilities a route requires, so they are not here.
"""

from __future__ import annotations

ENTITY_ACTIONS = ("view-any", "view", "create", "update", "delete")

# The seven entities of the Teams permission matrix (/teams/abilities).
PROJECT_ENTITIES = (
    "project",
    "project-payment-method",
    "project-subscription-plan",
    "project-subscription",
    "project-access-code",
    "project-user",
    "project-resource",
)

VERBATIM: tuple[str, ...] = (
    "mcp:full",
    *(f"project:{action}" for action in ENTITY_ACTIONS),
    "project-payment-method:view-any",
    "project-payment-method:view",
    "project-subscription-plan:view-any",
    "project-subscription-plan:view",
    "project-subscription-plan:create",
    "project-subscription-plan:update",
    "project-subscription:view-any",
    "project-subscription:view",
    "project-subscription:update",
    "project-access-code:view-any",
    "project-access-code:create",
    "project-user:view-any",
    "project-user:view",
    "project-user:update",
    "project-resource:view-any",
    "project-resource:view",
    "project-resource:delete",
    "activity:read",
    "distribution:read",
    "dashboard:read",
    "billing:read",
    "billing:manage",
    "team:view-any",
    "team:view",
    "team-member:view-any",
    "team-member:invite",
    "role:view-any",
    "role:view",
    "group:view-any",
    "group:view",
    "webhook-endpoint:manage",
)

MATRIX: tuple[str, ...] = tuple(
    f"{entity}:{action}" for entity in PROJECT_ENTITIES for action in ENTITY_ACTIONS
)

ADMIN: tuple[str, ...] = (
    "team:create",
    "team:update",
    "team:delete",
    "team-member:view",
    "team-member:remove",
    "team-member:update-role",
    "role:create",
    "role:update",
    "role:delete",
    "group:create",
    "group:update",
    "group:delete",
)

ABILITIES: frozenset[str] = frozenset((*VERBATIM, *MATRIX, *ADMIN))


def is_known(ability: str) -> bool:
    return ability in ABILITIES
