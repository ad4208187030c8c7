"""An access-token source (QboClient's AccessTokenSource) that always has the same token."""

from __future__ import annotations


class FixedTokens:
    """One token, and the stale tokens a refresh was asked for (the same token comes back: a real 401
    then fails the call)."""

    def __init__(self, access_token: str) -> None:
        self.token = access_token
        self.refreshes: list[str] = []
        self.broken: list[str] = []

    def access_token(self) -> str:
        return self.token

    def refresh_after_unauthorized(self, stale_access_token: str) -> str:
        self.refreshes.append(stale_access_token)
        return self.token

    def connection_broken(self, reason: str) -> None:
        self.broken.append(reason)
