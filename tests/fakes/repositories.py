"""In-memory repositories with the behaviour of the DynamoDB adapters: optimistic versions, the one-owner
QBO claim, idempotent history, ordering and paging. tests/integration/test_repositories.py runs the same
tests against these and the adapters, so a unit test passing on a fake means something.

Records are copied in and out, as a database would: mutating a returned object never changes the store.
`fail_next_write(error)` makes the next write raise, for testing how callers handle conflicts.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from customer_sync.adapters.link_writes import LinkWrites
from customer_sync.domain.mapping import default_mapping, mapping_in_effect
from customer_sync.domain.names import email_key
from customer_sync.domain.sync.outcomes import SyncOutcome
from customer_sync.domain.sync.records import ChangeKey, Completion, JournalPrefetch, change_key, customer_key
from customer_sync.errors import (
    ConcurrentModification,
    InvalidCursor,
    NameClaimedElsewhere,
    QboCustomerAlreadyLinked,
)
from customer_sync.models.common import Page, iso_utc
from customer_sync.models.history import HistoryEntry, ParkedFailure
from customer_sync.models.links import (
    CustomerLink,
    LinkStatus,
    NameClaim,
    NameClaimRelease,
    list_order_key,
    normalize_query,
    search_text,
)
from customer_sync.models.mapping import FieldMapping, MappingRow
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.models.settings import MerchantSettings, MerchantSyncConfig, OAuthState, SettingsChanges

if TYPE_CHECKING:
    from tests.fakes.qbo_side import InMemoryNameVariants

T = TypeVar("T")


def _page(
    items: Iterable[T],
    sort_key: Callable[[T], str],
    *,
    scope: str,
    cursor: str | None,
    limit: int,
    descending: bool = False,
) -> Page[T]:
    """Order `items` by `sort_key` (as DynamoDB orders a sort key) and cut a page after the cursor, which
    is the sort key of the last item returned before."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    ordered = sorted(items, key=sort_key, reverse=descending)
    if cursor is not None:
        after = _decode(cursor, scope)
        ordered = [
            item for item in ordered if (sort_key(item) < after if descending else sort_key(item) > after)
        ]
    page = ordered[:limit]
    more = len(ordered) > limit
    return Page(items=page, next_cursor=_encode(scope, sort_key(page[-1])) if more else None)


def _encode(scope: str, after: str) -> str:
    raw = json.dumps({"scope": scope, "after": after}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, scope: str) -> str:
    try:
        plain = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidCursor() from error
    if not isinstance(plain, dict) or plain.get("scope") != scope or not isinstance(plain.get("after"), str):
        raise InvalidCursor()
    return str(plain["after"])


class _FailureInjection:
    def __init__(self) -> None:
        self._next_write_error: Exception | None = None

    def fail_next_write(self, error: Exception) -> None:
        self._next_write_error = error

    def _before_write(self) -> None:
        error, self._next_write_error = self._next_write_error, None
        if error is not None:
            raise error


class InMemoryLinksRepository(_FailureInjection, LinkWrites):
    def __init__(self) -> None:
        super().__init__()
        self._links: dict[tuple[str, str], CustomerLink] = {}
        self._claims: dict[tuple[str, str], str] = {}
        # (merchant, name) -> (owner, expires_at, released_at)
        self.name_claims: dict[tuple[str, str], tuple[str, float, float | None]] = {}

    # -- reads -----------------------------------------------------------------------------------------

    def get(self, merchant_id: str, paysimple_customer_id: str) -> CustomerLink | None:
        link = self._links.get((merchant_id, paysimple_customer_id))
        return link.model_copy(deep=True) if link else None

    def qbo_link_owner(self, merchant_id: str, qbo_customer_id: str) -> str | None:
        return self._claims.get((merchant_id, qbo_customer_id))

    def qbo_link_owners(self, merchant_id: str, qbo_customer_ids: Iterable[str]) -> dict[str, str]:
        owners = {qbo_id: self._claims.get((merchant_id, qbo_id)) for qbo_id in set(qbo_customer_ids)}
        return {qbo_id: owner for qbo_id, owner in owners.items() if owner is not None}

    def other_customers_with_email(
        self, merchant_id: str, email: str, *, excluding_paysimple_customer_id: str
    ) -> list[str]:
        if not email.strip():
            return []
        wanted = email_key(email)
        return sorted(
            ps_id
            for (m, ps_id), link in self._links.items()
            if m == merchant_id and link.indexed_email == wanted and ps_id != excluding_paysimple_customer_id
        )

    def list_customers(
        self,
        merchant_id: str,
        status: LinkStatus,
        *,
        query: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[CustomerLink]:
        needle = normalize_query(query)
        matching = [
            link.model_copy(deep=True)
            for (m, _), link in self._links.items()
            if m == merchant_id and link.status == status and (needle is None or needle in search_text(link))
        ]
        return _page(
            matching, list_order_key, scope=f"links:{merchant_id}:{status}", cursor=cursor, limit=limit
        )

    # -- writes (the transitions are LinkWrites'; here is how they are stored) ------------------------------

    def store(
        self, link: CustomerLink, *, expected_version: int, name_check: NameClaim | None = None
    ) -> CustomerLink:
        """The journal's link write, whatever the status (adapters/dynamodb_sync_journal.py)."""
        return self._save(link, expected_version=expected_version, name_check=name_check)

    def release_name_claim(self, release: NameClaimRelease) -> None:
        key = (release.merchant_id, release.name)
        owner, expires_at, _ = self.name_claims.get(key, ("", 0.0, None))
        self.name_claims[key] = (owner, expires_at, release.released_at.timestamp())

    def _save(
        self,
        link: CustomerLink,
        *,
        expected_version: int,
        current: CustomerLink | None = None,
        name_claim: NameClaim | None = None,
        name_check: NameClaim | None = None,
    ) -> CustomerLink:
        # The conditions are checked against what the store holds, as DynamoDB's conditions are.
        stored = self._links.get((link.merchant_id, link.paysimple_customer_id))
        if (stored.version if stored else 0) != expected_version:
            raise ConcurrentModification(f"PaySimple customer {link.paysimple_customer_id}")
        if name_claim is not None:
            key = (name_claim.merchant_id, name_claim.name)
            held = self.name_claims.get(key)
            if held is not None and not name_claim.may_replace(
                owner=held[0], expires_at=held[1], released_at=held[2]
            ):
                raise NameClaimedElsewhere()
        if name_check is not None:
            held = self.name_claims.get((name_check.merchant_id, name_check.name))
            if held is not None and not (
                held[0] == name_check.paysimple_customer_id
                or held[2] is not None
                or held[1] < name_check.claimed_at.timestamp()
            ):
                raise NameClaimedElsewhere()
        new_claim = link.claimed_qbo_customer_id
        old_claim = stored.claimed_qbo_customer_id if stored else None
        if new_claim is not None and new_claim != old_claim:
            owner = self._claims.get((link.merchant_id, new_claim))
            if owner is not None and owner != link.paysimple_customer_id:
                raise QboCustomerAlreadyLinked(new_claim, owner)
        self._before_write()
        if name_claim is not None:
            self.name_claims[(name_claim.merchant_id, name_claim.name)] = (
                name_claim.paysimple_customer_id,
                name_claim.expires_at(),
                None,
            )
        return self._apply(link, stored)

    def _save_merge(
        self,
        primary: tuple[CustomerLink, CustomerLink],
        duplicates: Sequence[tuple[CustomerLink, CustomerLink]],
        *,
        members: Sequence[str],
        qbo_customer_id: str,
    ) -> CustomerLink:
        self._before_write()
        for current, new in duplicates:
            self._apply(new, current)
        current_primary, new_primary = primary
        return self._apply(new_primary, current_primary)

    def _apply(self, link: CustomerLink, current: CustomerLink | None) -> CustomerLink:
        """Write the record and move its claim (conditions were checked by the caller)."""
        merchant_id = link.merchant_id
        old_claim = current.claimed_qbo_customer_id if current else None
        if old_claim is not None and self._claims.get((merchant_id, old_claim)) == link.paysimple_customer_id:
            del self._claims[(merchant_id, old_claim)]
        if link.claimed_qbo_customer_id is not None:
            self._claims[(merchant_id, link.claimed_qbo_customer_id)] = link.paysimple_customer_id
        stored = link.model_copy(update={"version": (current.version if current else 0) + 1}, deep=True)
        self._links[(merchant_id, link.paysimple_customer_id)] = stored
        return stored.model_copy(deep=True)


class InMemorySettingsRepository(_FailureInjection):
    def __init__(self) -> None:
        super().__init__()
        self._profiles: dict[str, datetime] = {}
        self._settings: dict[str, MerchantSettings] = {}
        self._last_sync: dict[str, datetime] = {}

    def merchant_exists(self, merchant_id: str) -> bool:
        return merchant_id in self._profiles

    def onboarded_merchants(self) -> list[str]:
        return sorted(self._profiles)

    def ensure_merchant(self, merchant_id: str, *, now: datetime) -> bool:
        if merchant_id in self._profiles:
            return False
        self._before_write()
        self._profiles[merchant_id] = now
        return True

    def get_settings(self, merchant_id: str) -> MerchantSettings:
        return self._settings.get(merchant_id, MerchantSettings())

    def update_settings(
        self, merchant_id: str, changes: SettingsChanges, *, now: datetime
    ) -> MerchantSettings:
        self._before_write()
        updated = self.get_settings(merchant_id).with_changes(changes, now=now)
        self._settings[merchant_id] = updated
        return updated

    def record_successful_sync(self, merchant_id: str, at: datetime) -> None:
        previous = self._last_sync.get(merchant_id)
        if previous is None or iso_utc(previous) < iso_utc(at):
            self._last_sync[merchant_id] = at

    def set_last_sync(self, merchant_id: str, at: datetime) -> None:
        """The journal's unconditional write (adapters/dynamodb_sync_journal.py)."""
        self._last_sync[merchant_id] = at

    def last_successful_sync(self, merchant_id: str) -> datetime | None:
        return self._last_sync.get(merchant_id)


class InMemoryMappingRepository(_FailureInjection):
    def __init__(self) -> None:
        super().__init__()
        self._versions: dict[str, list[FieldMapping]] = {}

    def current_mapping(self, merchant_id: str) -> FieldMapping:
        versions = self._versions.get(merchant_id)
        return versions[-1] if versions else default_mapping()

    def mapping_in_effect_at(self, merchant_id: str, at: datetime) -> FieldMapping:
        return mapping_in_effect(reversed(self.saved_versions(merchant_id)), at)

    def saved_versions(self, merchant_id: str) -> list[FieldMapping]:
        """Oldest first."""
        return list(self._versions.get(merchant_id, []))

    def save_mapping(self, merchant_id: str, rows: Sequence[MappingRow], *, now: datetime) -> FieldMapping:
        self._before_write()
        mapping = FieldMapping(
            version=self.current_mapping(merchant_id).version + 1, effective_at=now, rows=tuple(rows)
        )
        self._versions.setdefault(merchant_id, []).append(mapping)
        return mapping


class InMemoryOAuthStateRepository:
    def __init__(self) -> None:
        self._states: dict[str, OAuthState] = {}

    def save_oauth_state(self, state: OAuthState) -> None:
        if state.nonce in self._states:
            raise ConcurrentModification("OAuth state (nonce reused)")
        self._states[state.nonce] = state

    def consume_oauth_state(self, nonce: str, *, now: datetime) -> OAuthState | None:
        state = self._states.get(nonce)
        if state is None or state.expires_at <= now:
            return None
        del self._states[nonce]
        return state


def _history_sk(entry: HistoryEntry) -> str:
    return f"{iso_utc(entry.recorded_at)}#{entry.event_id}#{entry.action}"


class InMemoryHistoryRepository(_FailureInjection):
    def __init__(self) -> None:
        super().__init__()
        self._entries: dict[tuple[str, str], list[HistoryEntry]] = {}
        self._recorded: set[tuple[str, str, str, str]] = set()

    def append(self, entry: HistoryEntry) -> bool:
        key = (entry.merchant_id, entry.paysimple_customer_id, entry.event_id, entry.action)
        if key in self._recorded:
            return False
        self._before_write()
        self._recorded.add(key)
        self.record(entry)
        return True

    def record(self, entry: HistoryEntry) -> None:
        """The journal's write of a change's entry (its outcome guards against doing it twice)."""
        self._entries.setdefault((entry.merchant_id, entry.paysimple_customer_id), []).append(entry)

    def list_for_customer(
        self, merchant_id: str, paysimple_customer_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[HistoryEntry]:
        entries = self._entries.get((merchant_id, paysimple_customer_id), [])
        scope = f"history:{merchant_id}:{paysimple_customer_id}"
        return _page(entries, _history_sk, scope=scope, cursor=cursor, limit=limit, descending=True)

    def entries(self, merchant_id: str, paysimple_customer_id: str) -> list[HistoryEntry]:
        """Every entry of one customer, newest first (a test convenience, not part of the port)."""
        return self.list_for_customer(merchant_id, paysimple_customer_id, limit=10_000).items


def _failure_sk(failure: ParkedFailure) -> str:
    return f"PS#{failure.paysimple_customer_id}#{failure.event_id}"


class InMemoryFailuresRepository(_FailureInjection):
    def __init__(self) -> None:
        super().__init__()
        self._failures: dict[tuple[str, str, str], ParkedFailure] = {}

    def park(self, failure: ParkedFailure) -> None:
        self._before_write()
        self._failures[(failure.merchant_id, failure.paysimple_customer_id, failure.event_id)] = failure

    def get_failure(
        self, merchant_id: str, paysimple_customer_id: str, event_id: str
    ) -> ParkedFailure | None:
        return self._failures.get((merchant_id, paysimple_customer_id, event_id))

    def remove_failure(self, merchant_id: str, paysimple_customer_id: str, event_id: str) -> bool:
        return self._failures.pop((merchant_id, paysimple_customer_id, event_id), None) is not None

    def replace_failure(self, failure: ParkedFailure) -> bool:
        key = (failure.merchant_id, failure.paysimple_customer_id, failure.event_id)
        if key not in self._failures:
            return False
        self.park(failure)
        return True

    def list_failures(
        self, merchant_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> Page[ParkedFailure]:
        failures = [failure for (m, _, _), failure in self._failures.items() if m == merchant_id]
        return _page(failures, _failure_sk, scope=f"failures:{merchant_id}", cursor=cursor, limit=limit)


class InMemorySyncConfigs:
    """ports.SyncConfigSource over the in-memory settings, mappings and name variants."""

    def __init__(
        self,
        settings: InMemorySettingsRepository,
        mappings: InMemoryMappingRepository,
        variants: InMemoryNameVariants | None = None,
    ) -> None:
        self._settings = settings
        self._mappings = mappings
        self._variants = variants
        self.reads = 0

    def sync_config(self, merchant_id: str) -> MerchantSyncConfig:
        self.reads += 1
        saved = tuple(reversed(self._mappings.saved_versions(merchant_id)))
        variants = None if self._variants is None else self._variants.built_for(merchant_id)
        return MerchantSyncConfig(
            settings=self._settings.get_settings(merchant_id), mappings=saved, name_variants=variants
        )


class InMemorySyncJournal(_FailureInjection):
    """ports.SyncJournal over the in-memory repositories. A completion is checked in full before anything
    is applied, so it is all or nothing like DynamoDB's transaction."""

    def __init__(
        self,
        *,
        links: InMemoryLinksRepository,
        history: InMemoryHistoryRepository,
        failures: InMemoryFailuresRepository,
        settings: InMemorySettingsRepository,
    ) -> None:
        super().__init__()
        self._links = links
        self._history = history
        self._failures = failures
        self._settings = settings
        self.outcomes: dict[ChangeKey, SyncOutcome] = {}
        self.prefetches = 0

    def prefetch(self, changes: Sequence[CustomerChangeMessage]) -> JournalPrefetch:
        self.prefetches += 1
        return JournalPrefetch(
            links={customer_key(change): self._links.get(*customer_key(change)) for change in changes},
            outcomes={
                change_key(change): self.outcomes[change_key(change)]
                for change in changes
                if change_key(change) in self.outcomes
            },
        )

    def complete(self, completion: Completion) -> CustomerLink | None:
        key = change_key(completion.message)
        if key in self.outcomes:
            raise ConcurrentModification(f"change {key} completed twice")
        stored = None
        if completion.link is not None:
            # The link write goes first: its conditions are the ones that can fail.
            stored = self._links.store(
                completion.link.link,
                expected_version=completion.link.expected_version,
                name_check=completion.link.name_check,
            )
        self._before_write()
        self._history.record(completion.history)
        message = completion.message
        if completion.successful_sync_at is not None:
            self._settings.set_last_sync(message.merchant_id, completion.successful_sync_at)
        if completion.releases_name is not None:
            self._links.release_name_claim(completion.releases_name)
        if completion.parked is not None:
            self._failures.park(completion.parked)
        elif completion.resolves_parked_failure:
            self._failures.remove_failure(message.merchant_id, message.customer_id, message.event_id)
        self.outcomes[key] = completion.outcome
        return stored
