"""Keeping every QBO connection alive (reference/qbo-api.md "OAuth 2.0"), once a day.

A refresh token lives about 100 days from its last use, and an idle merchant (no PaySimple saves, so no
sync) would lose its connection. Each day, for every onboarded merchant with a stored connection:

- a connection whose refresh token expires within `refresh_within` (60 days: idle for 40) is refreshed,
  under the merchant's refresh lease, and the rotated tokens stored (adapters/tokens.py);
- the hard expiry (at most 5 years after consent) cannot be refreshed away: the merchant must reconnect.
  Within `warn_within` (30 days) of it the connection counts as expiring, which the handler turns into the
  metric its alarm watches; the admin status says "expires in N days" all along;
- a connection already known broken is not tried again (its one alarm fired when it broke); a refresh QBO
  refuses (`invalid_grant`: revoked or expired) marks it broken, once;
- the merchant is (re)registered under its company, for the QBO webhooks and the CDC sweep, and taken out
  when it has no connection any more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from customer_sync.errors import QboConnectionBroken
from customer_sync.models.qbo import QboConnection
from customer_sync.observability import logger
from customer_sync.ports import (
    Clock,
    ConnectionStateRecorder,
    MerchantList,
    QboConnectionRefresher,
    QboConnections,
    RealmDirectory,
)

REFRESH_WITHIN = timedelta(days=60)
WARN_WITHIN = timedelta(days=30)
# Seconds one merchant may need at worst (a secret read, a lease, a token call, a secret write).
SECONDS_PER_MERCHANT = 15.0


def days_until(moment: datetime | None, now: datetime) -> int | None:
    """Whole days left (0 on the last day, negative once past), or None when unknown."""
    return None if moment is None else (moment - now) // timedelta(days=1)


@dataclass(frozen=True)
class ConnectionCheck:
    merchant_id: str
    outcome: Literal["refreshed", "alive", "not_connected", "broken", "failed"]
    realm_id: str | None = None
    refresh_token_expires_at: datetime | None = None
    hard_expires_at: datetime | None = None
    expires_in_days: int | None = None
    expiring: bool = False
    error: str | None = None


class KeepAlive:
    def __init__(
        self,
        *,
        merchants: MerchantList,
        connections: QboConnections,
        connection_state: ConnectionStateRecorder,
        refresher: QboConnectionRefresher,
        realms: RealmDirectory,
        clock: Clock,
        refresh_within: timedelta = REFRESH_WITHIN,
        warn_within: timedelta = WARN_WITHIN,
    ) -> None:
        self._merchants = merchants
        self._connections = connections
        self._connection_state = connection_state
        self._refresher = refresher
        self._realms = realms
        self._clock = clock
        self._refresh_within = refresh_within
        self._warn_within = warn_within

    def run(self, seconds_left: Callable[[], float]) -> list[ConnectionCheck]:
        checks: list[ConnectionCheck] = []
        for merchant_id in self._merchants.onboarded_merchants():
            if seconds_left() < SECONDS_PER_MERCHANT:
                logger.warning(
                    "keep-alive out of time; the next run goes on", extra={"merchant_id": merchant_id}
                )
                break
            try:
                checks.append(self.check(merchant_id))
            except Exception as error:  # one merchant's failure never stops the others
                logger.exception("keep-alive of a connection failed", extra={"merchant_id": merchant_id})
                checks.append(ConnectionCheck(merchant_id, "failed", error=type(error).__name__))
        return checks

    def check(self, merchant_id: str) -> ConnectionCheck:
        try:
            connection = self._connections.stored_connection(merchant_id)
        except QboConnectionBroken:
            return ConnectionCheck(merchant_id, "broken", error="the stored QBO connection is unreadable")
        if connection is None:
            self._realms.unregister(merchant_id)
            return ConnectionCheck(merchant_id, "not_connected")
        self._realms.register(merchant_id, connection.realm_id)
        state = self._connection_state.current(merchant_id)
        if state is not None and state.status == "broken":
            return self._checked(merchant_id, "broken", connection)
        now = self._clock.now()
        rolling = connection.refresh_token_expires_at
        if rolling is not None and rolling - now > self._refresh_within:
            return self._checked(merchant_id, "alive", connection)
        try:
            refreshed = self._refresher.refresh_connection(merchant_id)
        except QboConnectionBroken:
            return self._checked(merchant_id, "broken", connection)
        return self._checked(merchant_id, "refreshed", refreshed)

    def _checked(
        self,
        merchant_id: str,
        outcome: Literal["refreshed", "alive", "broken"],
        connection: QboConnection,
    ) -> ConnectionCheck:
        now = self._clock.now()
        hard = connection.refresh_token_hard_expires_at
        return ConnectionCheck(
            merchant_id,
            outcome,
            realm_id=connection.realm_id,
            refresh_token_expires_at=connection.refresh_token_expires_at,
            hard_expires_at=hard,
            expires_in_days=days_until(hard, now),
            expiring=outcome != "broken" and hard is not None and hard - now <= self._warn_within,
        )
