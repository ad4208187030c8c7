"""In-memory stand-ins for following QBO: the realm directory, CDC checkpoints and name variants (kept
honest by tests/integration/test_qbo_side_repositories.py, which runs the same tests against these and the
DynamoDB adapters), and recording fakes of the queue, the connection store, the refresher and Intuit's
revocation."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr

from customer_sync.errors import QboConnectionBroken, QboTransientError
from customer_sync.models.common import iso_utc
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.models.qbo import ConnectionState, QboAppCredentials, QboConnection
from customer_sync.models.qbo_events import QboChangeMessage
from customer_sync.models.settings import NameVariants
from customer_sync.ports import RealmConnection


class InMemoryRealmDirectory:
    def __init__(self) -> None:
        self._realm_of: dict[str, str] = {}

    def register(self, merchant_id: str, realm_id: str) -> None:
        self._realm_of[merchant_id] = realm_id

    def unregister(self, merchant_id: str) -> None:
        self._realm_of.pop(merchant_id, None)

    def realm_of(self, merchant_id: str) -> str | None:
        return self._realm_of.get(merchant_id)

    def merchants_for_realm(self, realm_id: str) -> list[str]:
        return sorted(merchant for merchant, realm in self._realm_of.items() if realm == realm_id)

    def connections(self) -> list[RealmConnection]:
        return sorted(
            (RealmConnection(realm, merchant) for merchant, realm in self._realm_of.items()),
            key=lambda connection: (connection.realm_id, connection.merchant_id),
        )


class InMemoryCdcCheckpoints:
    def __init__(self) -> None:
        self._checkpoints: dict[str, datetime] = {}

    def checkpoint(self, realm_id: str) -> datetime | None:
        return self._checkpoints.get(realm_id)

    def save_checkpoint(self, realm_id: str, at: datetime) -> None:
        current = self._checkpoints.get(realm_id)
        if current is None or iso_utc(current) < iso_utc(at):
            self._checkpoints[realm_id] = at


class InMemoryNameVariants:
    """ports.NameVariantsRepository per (merchant, company). Stores copies (JSON round trip, as DynamoDB
    does), so a caller's later change never leaks in."""

    def __init__(self) -> None:
        self._customers: dict[tuple[str, str], dict[str, str]] = {}
        self._built_at: dict[tuple[str, str], datetime] = {}
        self.writes = 0

    def load(self, merchant_id: str, realm_id: str) -> NameVariants | None:
        built_at = self._built_at.get((merchant_id, realm_id))
        if built_at is None:
            return None
        stored = self._customers.get((merchant_id, realm_id), {})
        customers = tuple(json.loads(stored[key]) for key in sorted(stored))
        return NameVariants(realm_id=realm_id, customers=customers, built_at=built_at)

    def built_for(self, merchant_id: str) -> NameVariants | None:
        """What the merchant's settings read brings the sync (InMemorySyncConfigs): its one built company."""
        realms = [realm for (merchant, realm) in self._built_at if merchant == merchant_id]
        return self.load(merchant_id, realms[0]) if realms else None

    def is_built(self, merchant_id: str, realm_id: str) -> bool:
        return (merchant_id, realm_id) in self._built_at

    def put(self, merchant_id: str, realm_id: str, customer: Mapping[str, Any]) -> None:
        self.writes += 1
        self._customers.setdefault((merchant_id, realm_id), {})[str(customer["Id"])] = json.dumps(customer)

    def drop(self, merchant_id: str, realm_id: str, qbo_customer_id: str) -> None:
        self.writes += 1
        self._customers.get((merchant_id, realm_id), {}).pop(qbo_customer_id, None)

    def replace(
        self, merchant_id: str, realm_id: str, customers: Sequence[Mapping[str, Any]], *, built_at: datetime
    ) -> None:
        self.writes += 1
        for key in [key for key in self._built_at if key[0] == merchant_id]:  # another company's go
            del self._built_at[key]
            self._customers.pop(key, None)
        stored = {str(customer["Id"]): json.dumps(customer) for customer in customers}
        self._customers[(merchant_id, realm_id)] = stored
        self._built_at[(merchant_id, realm_id)] = built_at


class RecordingChangePublisher:
    """ports.ChangePublisher and ports.QboChangePublisher at once; `fail` makes the next publish raise."""

    def __init__(self) -> None:
        self.changes: list[CustomerChangeMessage] = []
        self.qbo_changes: list[QboChangeMessage] = []
        self.fail = False

    def publish(self, message: CustomerChangeMessage) -> None:
        self.changes.append(message)

    def publish_all(self, messages: Sequence[QboChangeMessage]) -> None:
        if self.fail:
            raise RuntimeError("SQS refused the batch")
        self.qbo_changes.extend(messages)


class FixedVerifierToken:
    def __init__(self, token: str) -> None:
        self._token = token

    def verifier_token(self) -> str:
        return self._token


def connection(
    realm_id: str, now: datetime, *, rolling_days: float = 100, hard_days: float | None = 1800
) -> QboConnection:
    return QboConnection(
        realm_id=realm_id,
        access_token=SecretStr("access"),
        access_token_expires_at=now + timedelta(hours=1),
        refresh_token=SecretStr(f"refresh-{realm_id}"),
        refresh_token_expires_at=now + timedelta(days=rolling_days),
        refresh_token_hard_expires_at=now + timedelta(days=hard_days) if hard_days is not None else None,
    )


class FakeQboConnections:
    """ports.QboConnections as far as the keep-alive and Disconnect use it (stored, cleared)."""

    def __init__(self) -> None:
        self.stored: dict[str, QboConnection] = {}
        self.unreadable: set[str] = set()
        self.cleared: list[str] = []

    def app_credentials(self) -> QboAppCredentials:
        return QboAppCredentials(
            client_id="app", client_secret=SecretStr("s"), redirect_uri="https://x.test/cb"
        )

    def state_signing_key(self) -> bytes:
        return b"k" * 32

    def stored_connection(self, merchant_id: str) -> QboConnection | None:
        if merchant_id in self.unreadable:
            raise QboConnectionBroken("the stored QBO connection is malformed", code="malformed")
        return self.stored.get(merchant_id)

    def connect(self, merchant_id: str, *, code: str, realm_id: str) -> QboConnection:
        raise AssertionError("not used here")

    def clear(self, merchant_id: str, *, realm_id: str | None, at: datetime) -> None:
        self.stored.pop(merchant_id, None)
        self.unreadable.discard(merchant_id)
        self.cleared.append(merchant_id)


class FakeConnectionState:
    def __init__(self) -> None:
        self.states: dict[str, ConnectionState] = {}

    def mark_broken(self, merchant_id: str, reason: str) -> None:
        self.states[merchant_id] = ConnectionState(
            status="broken", reason=reason, at=datetime.now().astimezone()
        )

    def mark_connected(self, merchant_id: str, realm_id: str) -> None:
        self.states[merchant_id] = ConnectionState(
            status="connected", at=datetime.now().astimezone(), realm_id=realm_id
        )

    def current(self, merchant_id: str) -> ConnectionState | None:
        return self.states.get(merchant_id)


class FakeRefresher:
    """Refreshes the stored connection (a new rolling lifetime) or refuses it: `dead` merchants' refresh
    tokens are invalid_grant, `unreachable` ones meet a transient error."""

    def __init__(self, connections: FakeQboConnections, now: datetime) -> None:
        self._connections = connections
        self._now = now
        self.refreshed: list[str] = []
        self.dead: set[str] = set()
        self.unreachable: set[str] = set()

    def refresh_connection(self, merchant_id: str) -> QboConnection:
        if merchant_id in self.unreachable:
            raise QboTransientError("token endpoint unreachable")
        if merchant_id in self.dead:
            raise QboConnectionBroken("invalid_grant", code="invalid_grant")
        current = self._connections.stored[merchant_id]
        renewed = current.model_copy(update={"refresh_token_expires_at": self._now + timedelta(days=100)})
        self._connections.stored[merchant_id] = renewed
        self.refreshed.append(merchant_id)
        return renewed


class RecordingRevoker:
    def __init__(self) -> None:
        self.revoked: list[str] = []
        self.down = False

    def revoke(self, token: str) -> None:
        if self.down:
            raise QboTransientError("revoke endpoint unreachable")
        self.revoked.append(token)
