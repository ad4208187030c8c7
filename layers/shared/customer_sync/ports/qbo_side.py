"""Following QBO: the webhook's verifier token and queue, which merchants use which QBO company, the CDC
sweep's checkpoints, and keeping each connection alive (or revoking it).

Adapters: adapters/qbo_webhook_verifier.py (SecretsManagerVerifierToken), adapters/sqs.py
(SqsQboChangePublisher), adapters/dynamodb_realms.py (DynamoDbRealmDirectory, DynamoDbCdcCheckpoints,
DynamoDbNameVariants),
adapters/qbo_revocation.py (IntuitTokenRevocation), adapters/merchant_clients.py (MerchantClientFactory as
the QboConnectionRefresher).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from customer_sync.models.qbo import QboConnection
    from customer_sync.models.qbo_events import QboChangeMessage
    from customer_sync.models.settings import NameVariants


class QboVerifierToken(Protocol):
    """The QBO app's webhook verifier token (Intuit's developer portal). Raises SecretMisconfigured when the
    deployment has none: a delivery can then not be verified, and must fail loudly."""

    def verifier_token(self) -> str: ...


class QboChangePublisher(Protocol):
    """Puts changes on QboChangesQueue (FIFO: grouped per company, de-duplicated by event id). Raises unless
    every message was queued."""

    def publish_all(self, messages: Sequence[QboChangeMessage]) -> None: ...


@dataclass(frozen=True)
class RealmConnection:
    realm_id: str
    merchant_id: str


class RealmDirectory(Protocol):
    """Which merchants are connected to which QBO company (a company may serve several merchants)."""

    def register(self, merchant_id: str, realm_id: str) -> None:
        """The merchant is connected to `realm_id` (and to no other company any more)."""
        ...

    def unregister(self, merchant_id: str) -> None: ...

    def realm_of(self, merchant_id: str) -> str | None:
        """The company the merchant is connected to now (None: none recorded)."""
        ...

    def merchants_for_realm(self, realm_id: str) -> list[str]: ...

    def connections(self) -> list[RealmConnection]:
        """Every registered connection, ordered by realm."""
        ...


class CdcCheckpoints(Protocol):
    """Per QBO company: QBO's LastUpdatedTime of the newest change the CDC sweep has processed."""

    def checkpoint(self, realm_id: str) -> datetime | None: ...

    def save_checkpoint(self, realm_id: str, at: datetime) -> None:
        """Moves it forward only (a late, slower sweep never moves it back)."""
        ...


class NameVariantsRepository(Protocol):
    """Per merchant, the customers of its QBO company whose names are typed differently from their
    normalized form. Kept with the merchant (not the company) so the sync reads them with its settings
    (ports.SyncConfigSource, MerchantSyncConfig.name_variants), at no extra call; a company serving several
    merchants keeps a copy for each."""

    def load(self, merchant_id: str, realm_id: str) -> NameVariants | None:
        """The company's variants as the merchant keeps them, or None when never built (or reset)."""
        ...

    def is_built(self, merchant_id: str, realm_id: str) -> bool:
        """Whether `load` would return the variants (one small read)."""
        ...

    def put(self, merchant_id: str, realm_id: str, customer: Mapping[str, Any]) -> None:
        """Keeps the customer (by its Id) as a variant, replacing what was kept of it."""
        ...

    def drop(self, merchant_id: str, realm_id: str, qbo_customer_id: str) -> None:
        """It is no variant (any more), or it is gone; nothing happens when it was none."""
        ...

    def replace(
        self, merchant_id: str, realm_id: str, customers: Sequence[Mapping[str, Any]], *, built_at: datetime
    ) -> None:
        """The company's variants are exactly `customers` now, built at `built_at`; what the merchant kept
        of any other company goes."""
        ...


class MerchantList(Protocol):
    """Every onboarded merchant (the keep-alive visits each one)."""

    def onboarded_merchants(self) -> list[str]: ...


class QboConnectionRefresher(Protocol):
    """Refresh a merchant's QBO tokens now (under its refresh lease), whether or not they are due."""

    def refresh_connection(self, merchant_id: str) -> QboConnection:
        """The connection after the refresh. Raises QboConnectionBroken when QBO refuses the refresh token
        (`invalid_grant`: revoked or expired) or nothing is stored."""
        ...


class TokenRevoker(Protocol):
    """Intuit's revoke endpoint: ends a connection (its refresh and access tokens) at Intuit."""

    def revoke(self, token: str) -> None: ...
