"""Bearer authentication as a ``requests`` auth object that never shows its token."""

from __future__ import annotations

import requests
from requests.auth import AuthBase


class BearerAuth(AuthBase):
    def __init__(self, token: str) -> None:
        if not token or not token.strip():
            raise ValueError("A MemberPass token is required.")
        self._token = token.strip()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(token=[redacted])"

    def scrub(self, text: str) -> str:
        """``text`` with this token replaced, for any string that came from elsewhere."""
        return text.replace(self._token, "[redacted]")
