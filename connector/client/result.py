"""What one successful call returns: the parsed body and what is worth knowing about how it went."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Result:
    body: Any  # parsed JSON; None for an empty answer (204)
    status: int
    request_id: str | None
    headers: Mapping[str, str] = field(repr=False)
    replayed: bool  # `Idempotent-Replayed: true`: the server answered from its idempotency record (C4)
    attempts: int
    idempotency_key: str | None = None
    waited: float = 0.0  # seconds spent waiting before attempts: backoff plus rate governor
    throttled: float = 0.0  # of which in the rate governor

    @property
    def data(self) -> Any:
        """``body["data"]``, the object or list inside the MemberPass envelope."""
        return self.body.get("data") if isinstance(self.body, dict) else None

    @property
    def meta(self) -> dict[str, Any]:
        meta = self.body.get("meta") if isinstance(self.body, dict) else None
        return meta if isinstance(meta, dict) else {}
