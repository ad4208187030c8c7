"""Protocols the domain depends on. Adapters implement them; unit tests pass in-memory fakes.

Each concern has its own section; add to a section rather than defining a second port for the same thing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


# ---------------------------------------------------------------------------------------------------------
# QBO: the customer API, its access tokens, and what token refresh needs (secrets, a lock, connection health).
# Adapters: adapters/qbo_client.py, adapters/tokens.py, adapters/secrets.py, adapters/locks.py,
# adapters/dynamodb_connection.py. Errors raised are the typed ones of adapters/qbo_errors.py.
# ---------------------------------------------------------------------------------------------------------

from collections.abc import Mapping, Sequence  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    from customer_sync.models.qbo import BatchItem, BatchItemResult, ConnectionState, QboCustomer, TokenSet


class AccessTokenSource(Protocol):
    """A valid QBO access token for one realm, refreshed as needed."""

    def access_token(self) -> str: ...

    def refresh_after_unauthorized(self, stale_access_token: str) -> str:
        """QBO rejected `stale_access_token` (401/3200): return a newer one (refreshing if nobody has)."""
        ...


class QboCustomers(Protocol):
    """The QBO Customer API of one realm."""

    @property
    def calls_made(self) -> int: ...

    def query_customers(self, where: str, *, include_inactive: bool = False) -> list[QboCustomer]: ...

    def query(self, statement: str) -> dict[str, Any]: ...

    def read_customer(self, customer_id: str) -> QboCustomer: ...

    def create_customer(self, fields: Mapping[str, Any], *, request_id: str) -> QboCustomer: ...

    def sparse_update(
        self,
        customer_id: str,
        sync_token: str,
        fields: Mapping[str, Any],
        *,
        request_id: str | None = None,
    ) -> QboCustomer: ...

    def batch(
        self, items: Sequence[BatchItem], *, request_id: str | None = None
    ) -> list[BatchItemResult]: ...


class TokenEndpoint(Protocol):
    """The OAuth 2.0 token endpoint. Raises InvalidGrant for a dead refresh token or code."""

    def refresh(self, refresh_token: str) -> TokenSet: ...

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet: ...


class SecretStore(Protocol):
    """JSON secrets by name. `max_age_seconds=0` (or `force_fetch`) reads the current value."""

    def get_json(
        self, name: str, *, max_age_seconds: int | None = None, force_fetch: bool = False
    ) -> dict[str, Any]: ...

    def put_json(self, name: str, value: Mapping[str, Any]) -> None: ...


class MerchantLock(Protocol):
    """A short lease per merchant. `try_acquire` returns an owner token, or None while someone holds it."""

    def try_acquire(self, merchant_id: str) -> str | None: ...

    def release(self, merchant_id: str, owner: str) -> None: ...


class ConnectionStateRecorder(Protocol):
    """Where a merchant's QBO connection health is recorded (read by the admin status)."""

    def mark_broken(self, merchant_id: str, reason: str) -> None: ...

    def mark_connected(self, merchant_id: str, realm_id: str) -> None: ...

    def current(self, merchant_id: str) -> ConnectionState | None: ...


# ---------------------------------------------------------------------------------------------------------
# Ingest: the PaySimple webhook endpoint's signing keys and the change queue.
# Adapters: adapters/merchant_secrets.py (MerchantPaySimpleSecrets), adapters/sqs.py (SqsChangePublisher).
# ---------------------------------------------------------------------------------------------------------

if TYPE_CHECKING:
    from customer_sync.models.messages import CustomerChangeMessage


class SigningKeys(Protocol):
    """A merchant's PaySimple webhook signing key, or None for a merchant this deployment does not know."""

    def signing_key(self, merchant_id: str) -> str | None: ...


class ChangePublisher(Protocol):
    """Puts a change on CustomerChangesQueue (FIFO: grouped per customer, de-duplicated by event id)."""

    def publish(self, message: CustomerChangeMessage) -> None: ...


# ---------------------------------------------------------------------------------------------------------
# Repositories: links, settings, mappings, history and parked failures in DynamoDB.
# Adapters: adapters/dynamodb_links.py, adapters/dynamodb_settings.py, adapters/dynamodb_history.py.
# In-memory fakes with the same behaviour: tests/fakes/repositories.py (kept honest by parity tests).
# Every value handed to a repository is already scrubbed of payment data; repositories store what they get.
# ---------------------------------------------------------------------------------------------------------

if TYPE_CHECKING:
    from collections.abc import Iterable

    from customer_sync.models.common import Page
    from customer_sync.models.history import HistoryEntry, ParkedFailure
    from customer_sync.models.links import CustomerLink, LinkStatus
    from customer_sync.models.mapping import FieldMapping, MappingRow
    from customer_sync.models.settings import MerchantSettings, OAuthState, SettingsChanges


class RepositoryError(Exception):
    """Base of the errors repositories raise on purpose (anything else is an infrastructure failure)."""


class ConcurrentModification(RepositoryError):
    """Someone else wrote the record since it was read (optimistic version check failed): re-read, retry."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} was modified concurrently")
        self.what = what


class QboCustomerAlreadyLinked(RepositoryError):
    """A QBO customer is linked to at most one PaySimple customer; `linked_to` is the one holding it."""

    def __init__(self, qbo_customer_id: str, linked_to: str) -> None:
        super().__init__(
            f"QBO customer {qbo_customer_id} is already linked to PaySimple customer {linked_to}"
        )
        self.qbo_customer_id = qbo_customer_id
        self.linked_to = linked_to


class LinkNotFound(RepositoryError):
    def __init__(self, merchant_id: str, paysimple_customer_id: str) -> None:
        super().__init__(f"no record of PaySimple customer {paysimple_customer_id}")
        self.merchant_id = merchant_id
        self.paysimple_customer_id = paysimple_customer_id


class InvalidCursor(RepositoryError, ValueError):
    """A paging cursor that this listing did not issue (tampered, or from another merchant or list)."""

    def __init__(self) -> None:
        super().__init__("invalid cursor")


class LinksRepository(Protocol):
    """Customer links, the one-owner claim on each QBO customer, and an email index (LinksTable).

    Writes are conditional on `expected_version` (the `version` that was read; 0 = must not exist yet) and
    raise ConcurrentModification when it no longer matches. Link, QBO claim and email index change in one
    transaction: a conflict writes nothing.
    """

    def get(self, merchant_id: str, paysimple_customer_id: str) -> CustomerLink | None: ...

    def save_linked(self, link: CustomerLink, *, expected_version: int) -> CustomerLink:
        """Store a `linked` record and claim its QBO customer (releasing any previous claim).

        Raises QboCustomerAlreadyLinked if another PaySimple customer holds the QBO customer. Returns the
        stored record (version = expected_version + 1)."""
        ...

    def save_unlinked(self, link: CustomerLink, *, expected_version: int) -> CustomerLink:
        """Store an `unlinked` record (reason, candidates), releasing any QBO claim it held."""
        ...

    def update_snapshot(
        self,
        merchant_id: str,
        paysimple_customer_id: str,
        *,
        sync_token: str,
        snapshot: Mapping[str, Any],
        expected_version: int,
        synced_at: datetime,
        event_at: datetime | None = None,
    ) -> CustomerLink:
        """After a QBO write to a linked customer: the new SyncToken and payload, in one conditional write."""
        ...

    def mark_source_deleted(
        self,
        merchant_id: str,
        paysimple_customer_id: str,
        *,
        expected_version: int,
        event_at: datetime,
        now: datetime,
    ) -> CustomerLink:
        """The customer was deleted in PaySimple. A QBO claim is kept (never auto-link that QBO record to a
        newcomer); `unlink` releases it. Raises LinkNotFound if there is no record."""
        ...

    def unlink(self, merchant_id: str, paysimple_customer_id: str, *, now: datetime) -> CustomerLink:
        """Admin unlink: release the QBO claim and clear qbo id, SyncToken and snapshot. A linked customer
        becomes `unlinked` (reason unlinked_by_admin); a source_deleted one stays source_deleted. Already
        unlinked or merged: returned unchanged. Raises LinkNotFound."""
        ...

    def merge(
        self,
        merchant_id: str,
        primary_paysimple_customer_id: str,
        duplicate_paysimple_customer_ids: Sequence[str],
        qbo_customer_id: str,
        *,
        now: datetime,
    ) -> CustomerLink:
        """Duplicates become `merged` into the primary (their claims and emails released); the primary is
        linked to `qbo_customer_id` (reason merge) — all in one transaction. Returns the primary.

        Raises LinkNotFound for a missing record, QboCustomerAlreadyLinked if a customer outside the merge
        holds the QBO customer, ValueError for a bad request (primary among duplicates, too many)."""
        ...

    def qbo_link_owner(self, merchant_id: str, qbo_customer_id: str) -> str | None:
        """The PaySimple customer holding this QBO customer, if any."""
        ...

    def qbo_link_owners(self, merchant_id: str, qbo_customer_ids: Iterable[str]) -> dict[str, str]:
        """qbo id → PaySimple id for those of `qbo_customer_ids` that are claimed."""
        ...

    def other_customers_with_email(
        self, merchant_id: str, email: str, *, excluding_paysimple_customer_id: str
    ) -> list[str]:
        """PaySimple ids of other (not merged) customers of the merchant with this email (any case)."""
        ...

    def list_customers(
        self,
        merchant_id: str,
        status: LinkStatus,
        *,
        query: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[CustomerLink]:
        """Customers with this status ordered by 'last first' name. `query` (case-insensitive) matches a
        substring of 'first last', 'last first', the email or the PaySimple id. A page may hold fewer than
        `limit` items and still have a cursor. Raises InvalidCursor."""
        ...


class SettingsRepository(Protocol):
    """Merchant profile (onboarding), settings and last successful sync time (SettingsTable)."""

    def merchant_exists(self, merchant_id: str) -> bool: ...

    def ensure_merchant(self, merchant_id: str, *, now: datetime) -> bool:
        """Record the merchant as onboarded; True if it was new (created_at is never overwritten)."""
        ...

    def get_settings(self, merchant_id: str) -> MerchantSettings:
        """The merchant's settings, or the defaults (sync disabled) if none were saved."""
        ...

    def update_settings(
        self, merchant_id: str, changes: SettingsChanges, *, now: datetime
    ) -> MerchantSettings:
        """Apply a partial update. Switching sync on records enabled_at = now (every time it goes from off
        to on); switching it off records disabled_at and keeps enabled_at."""
        ...

    def record_successful_sync(self, merchant_id: str, at: datetime) -> None:
        """Move the last-successful-sync time forward (never back)."""
        ...

    def last_successful_sync(self, merchant_id: str) -> datetime | None: ...


class MappingRepository(Protocol):
    """Versioned field mappings (SettingsTable). Version 0 is `default_mapping()`, never stored."""

    def current_mapping(self, merchant_id: str) -> FieldMapping: ...

    def mapping_in_effect_at(self, merchant_id: str, at: datetime) -> FieldMapping:
        """The newest version with effective_at <= at (the default if none)."""
        ...

    def save_mapping(self, merchant_id: str, rows: Sequence[MappingRow], *, now: datetime) -> FieldMapping:
        """Store the rows as a new version (previous + 1) effective now; concurrent saves get distinct
        versions. Rows are stored as given: validate them first (domain.mapping.validate_mapping)."""
        ...


class OAuthStateRepository(Protocol):
    """One-time `state` values of the QBO connect flow (SettingsTable, expired by TTL)."""

    def save_oauth_state(self, state: OAuthState) -> None: ...

    def consume_oauth_state(self, nonce: str, *, now: datetime) -> OAuthState | None:
        """Take the state out (at most once); None if unknown, already used or expired."""
        ...


class HistoryRepository(Protocol):
    """Per-customer history, newest first (HistoryTable)."""

    def append(self, entry: HistoryEntry) -> bool:
        """Record the entry; False (and nothing written) if (event_id, action) was already recorded."""
        ...

    def list_for_customer(
        self, merchant_id: str, paysimple_customer_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[HistoryEntry]: ...


class FailuresRepository(Protocol):
    """Changes parked after a permanent failure (HistoryTable), one per (customer, event)."""

    def park(self, failure: ParkedFailure) -> None:
        """Store the failure, replacing an earlier one for the same customer and event."""
        ...

    def get_failure(
        self, merchant_id: str, paysimple_customer_id: str, event_id: str
    ) -> ParkedFailure | None: ...

    def remove_failure(self, merchant_id: str, paysimple_customer_id: str, event_id: str) -> bool:
        """True if there was one to remove."""
        ...

    def list_failures(
        self, merchant_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> Page[ParkedFailure]:
        """Ordered by PaySimple customer id, then event id."""
        ...


# ---------------------------------------------------------------------------------------------------------
# PaySimple: the customer API of one merchant (the sync fetches the full, current record for every event).
# Adapter: adapters/paysimple_client.py (PaySimpleClient). Errors raised are the typed ones of
# adapters/paysimple_errors.py: PaySimpleTransientError (retry), PaySimpleAuthError, PaySimpleRequestError.
# ---------------------------------------------------------------------------------------------------------

if TYPE_CHECKING:
    from customer_sync.models.paysimple import CustomerPage, PaySimpleCustomer


class PaySimpleCustomers(Protocol):
    """PaySimple API v4 customers of one merchant (its API credentials pick the merchant)."""

    def get_customer(self, customer_id: str) -> PaySimpleCustomer | None:
        """The full, current record; None when PaySimple answers 404 (deleted or unknown)."""
        ...

    def list_customers(self, page: int = 1, page_size: int = 200) -> CustomerPage:
        """One page (1-based) of the merchant's customers."""
        ...


# ---------------------------------------------------------------------------------------------------------
# Sync: the per-merchant API clients the sync service (and the admin API) work with.
# Adapter: adapters/merchant_clients.py (MerchantClientFactory). Fakes: tests/fakes/merchant_clients.py.
# ---------------------------------------------------------------------------------------------------------


class MerchantNotConfigured(Exception):
    """The deployment has no usable PaySimple secret for this merchant (never onboarded, off-boarded, or
    malformed). Names the merchant only, never a secret value."""

    def __init__(self, merchant_id: str, what: str = "PaySimple credentials") -> None:
        super().__init__(f"merchant {merchant_id} has no usable {what}")
        self.merchant_id = merchant_id


class MerchantClients(Protocol):
    """The API clients of one merchant, built from its secrets (cached while the Lambda is warm).

    `paysimple` raises MerchantNotConfigured; `qbo` raises QboConnectionBroken when QBO was never connected
    (or the stored connection is unusable) — both before any call is made.
    """

    def paysimple(self, merchant_id: str) -> PaySimpleCustomers: ...

    def qbo(self, merchant_id: str) -> QboCustomers: ...


# ---------------------------------------------------------------------------------------------------------
# Admin: what the admin API needs beyond the repositories and MerchantClients above — merchant secrets, the
# QBO connect flow, the dead-letter queue and queue depths.
# Adapters: adapters/admin_secrets.py (SecretsManagerMerchantCredentials, SecretsManagerQboConnections),
# adapters/sqs_dead_letters.py (SqsDeadLetterQueue), adapters/queue_stats.py (SqsQueueStats).
# ---------------------------------------------------------------------------------------------------------

from contextlib import AbstractContextManager  # noqa: E402
from dataclasses import dataclass  # noqa: E402

if TYPE_CHECKING:
    from customer_sync.models.paysimple import PaySimpleCredentials
    from customer_sync.models.qbo import QboAppCredentials, QboConnection


class MerchantCredentialsStore(Protocol):
    """Writes a merchant's PaySimple secret (created on first save, a new version after). Never read back."""

    def save_paysimple_credentials(self, merchant_id: str, credentials: PaySimpleCredentials) -> None: ...


class QboConnections(Protocol):
    """The deployment's QBO app and each merchant's stored QBO connection."""

    def app_credentials(self) -> QboAppCredentials:
        """The OAuth client (`{prefix}qbo-app`): client_id and redirect_uri build the authorize URL."""
        ...

    def state_signing_key(self) -> bytes:
        """The HMAC key (`{prefix}oauth-state-key`) that signs the connect flow's `state`."""
        ...

    def stored_connection(self, merchant_id: str) -> QboConnection | None:
        """The stored connection (tokens stay SecretStr), or None if QBO was never connected."""
        ...

    def connect(self, merchant_id: str, *, code: str, realm_id: str) -> QboConnection:
        """Exchange the authorization code and store the connection in the format the token provider reads,
        then mark the connection healthy. Raises InvalidGrant for a dead or unknown code."""
        ...


@dataclass(frozen=True)
class QueueDepth:
    """SQS's approximate counts: waiting, being processed (in flight), and delayed."""

    visible: int
    in_flight: int
    delayed: int = 0


class QueueStats(Protocol):
    """Depths of CustomerChangesQueue and its dead-letter queue (shared by every merchant)."""

    def changes_queue(self) -> QueueDepth: ...

    def dead_letter_queue(self) -> QueueDepth: ...


@dataclass(frozen=True)
class DeadLetterMessage:
    """A message as received from the DLQ. `receipt` is the handle that deletes it (opaque to the domain)."""

    message_id: str
    body: str
    receive_count: int
    sent_at: datetime | None
    receipt: str


class DeadLetterScan(Protocol):
    """The messages one scan holds. `complete` is False when the scan stopped at its limit."""

    @property
    def messages(self) -> Sequence[DeadLetterMessage]: ...

    @property
    def complete(self) -> bool: ...

    def delete(self, message: DeadLetterMessage) -> None:
        """Remove a held message for good (call only after it was re-sent)."""
        ...


class DeadLetterQueue(Protocol):
    """The DLQ of CustomerChangesQueue, read without consuming it."""

    def scan(self, *, limit: int) -> AbstractContextManager[DeadLetterScan]:
        """Receive up to `limit` messages and hold them (invisible) inside the `with` block; on leaving it,
        every held message that was not deleted is made visible again at once."""
        ...
