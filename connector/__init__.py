"""MemberPass connector. ``from connector import MemberPassClient`` is the upstream client (lazy import)."""

from typing import Any

__all__ = ["MemberPassClient"]


def __getattr__(name: str) -> Any:
    if name == "MemberPassClient":
        from connector.client import MemberPassClient

        return MemberPassClient
    raise AttributeError(f"module 'connector' has no attribute {name!r}")
