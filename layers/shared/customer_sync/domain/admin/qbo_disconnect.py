"""Disconnect QuickBooks: the merchant's tokens are revoked at Intuit, then cleared here.

Revoking first: if Intuit cannot be reached, nothing is cleared and the admin tries again (a connection
cleared here but alive at Intuit would stay authorised with nobody able to end it). What stays in the
connection secret is `{"realm_id", "disconnected_at"}`: no token. The merchant leaves its company in the
realm directory, so QBO's webhooks and the CDC sweep no longer touch its links; the links themselves are
kept (reconnecting the same company picks up where it stopped). Disconnecting a merchant that is not
connected changes nothing and says so.
"""

from __future__ import annotations

from customer_sync.errors import QboConnectionBroken
from customer_sync.models.admin import QboDisconnectResponse
from customer_sync.ports import Clock, QboConnections, RealmDirectory, TokenRevoker


class QboDisconnect:
    def __init__(
        self, *, connections: QboConnections, revoker: TokenRevoker, realms: RealmDirectory, clock: Clock
    ) -> None:
        self._connections = connections
        self._revoker = revoker
        self._realms = realms
        self._clock = clock

    def disconnect(self, merchant_id: str) -> QboDisconnectResponse:
        try:
            connection = self._connections.stored_connection(merchant_id)
        except QboConnectionBroken:
            # Unreadable: there is no token we could revoke; clear it so nothing tries to use it.
            self._connections.clear(merchant_id, realm_id=None, at=self._clock.now())
            connection = None
        if connection is None:
            self._realms.unregister(merchant_id)
            return QboDisconnectResponse(status="not_connected", merchant_id=merchant_id, realm_id=None)
        self._revoker.revoke(connection.refresh_token.get_secret_value())
        self._connections.clear(merchant_id, realm_id=connection.realm_id, at=self._clock.now())
        self._realms.unregister(merchant_id)
        return QboDisconnectResponse(
            status="disconnected", merchant_id=merchant_id, realm_id=connection.realm_id
        )
