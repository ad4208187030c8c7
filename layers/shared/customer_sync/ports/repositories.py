"""Repositories: links, settings, mappings, history and parked failures in DynamoDB.

Adapters: adapters/dynamodb_links.py, adapters/dynamodb_settings.py, adapters/dynamodb_history.py.
In-memory fakes with the same behaviour: tests/fakes/repositories.py (kept honest by parity tests).
Every value handed to a repository is already scrubbed of payment data; repositories store what they get.
The errors they raise on purpose are the repository errors of customer_sync/errors.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable

    from customer_sync.domain.sync.records import Completion, JournalPrefetch
    from customer_sync.models.common import Page
    from customer_sync.models.history import HistoryEntry, ParkedFailure
    from customer_sync.models.links import CustomerLink, LinkStatus, NameClaim
    from customer_sync.models.mapping import FieldMapping, MappingRow
    from customer_sync.models.messages import CustomerChangeMessage
    from customer_sync.models.settings import (
        MerchantSettings,
        MerchantSyncConfig,
        OAuthState,
        SettingsChanges,
    )


class LinksRepository(Protocol):
    """Customer links, the one-owner claim on each QBO customer, and an email index (LinksTable).

    Writes are conditional on `expected_version` (the `version` that was read; 0 = must not exist yet) and
    raise ConcurrentModification when it no longer matches. Link, QBO claim and email index change in one
    transaction: a conflict writes nothing.
    """

    def get(self, merchant_id: str, paysimple_customer_id: str) -> CustomerLink | None: ...

    def save_linked(
        self, link: CustomerLink, *, expected_version: int, name_check: NameClaim | None = None
    ) -> CustomerLink:
        """Store a `linked` record and claim its QBO customer (releasing any previous claim). With
        `name_check`, only while no other customer's create of that name is under way (NameClaimedElsewhere).

        Raises QboCustomerAlreadyLinked if another PaySimple customer holds the QBO customer. Returns the
        stored record (version = expected_version + 1)."""
        ...

    def save_unlinked(self, link: CustomerLink, *, expected_version: int) -> CustomerLink:
        """Store an `unlinked` record (reason, candidates), releasing any QBO claim it held."""
        ...

    def save_create_intent(
        self, link: CustomerLink, *, expected_version: int, claim: NameClaim
    ) -> CustomerLink:
        """Store an `unlinked` record saying a create is under way, together with the claim on its name;
        raises NameClaimedElsewhere when another customer holds that claim (models.links.NameClaim)."""
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


class SyncJournal(Protocol):
    """The sync's bookkeeping around each change, in as few round trips as is safe.

    Adapter: adapters/dynamodb_sync_journal.py (LinksTable, HistoryTable, SettingsTable, IdempotencyTable).
    """

    def prefetch(self, changes: Sequence[CustomerChangeMessage]) -> JournalPrefetch:
        """The links of the changes' customers and the outcomes of changes already done, in one read."""
        ...

    def complete(self, completion: Completion) -> CustomerLink | None:
        """Store everything the change leaves behind, all or nothing. Raises ConcurrentModification when the
        link moved on since it was read or the change was completed meanwhile, QboCustomerAlreadyLinked
        when another customer holds the QBO customer. Returns the link as stored (if one was written)."""
        ...


class SyncConfigSource(Protocol):
    """A merchant's settings and saved mapping versions in one read: what the sync reads once per batch
    (SettingsTable; adapter DynamoDbSyncConfigs)."""

    def sync_config(self, merchant_id: str) -> MerchantSyncConfig: ...


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

    def replace_failure(self, failure: ParkedFailure) -> bool:
        """Store the failure only if one is stored for its customer and event (never bring back one the
        sync has just resolved); True if it was."""
        ...

    def list_failures(
        self, merchant_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> Page[ParkedFailure]:
        """Ordered by PaySimple customer id, then event id."""
        ...
