"""The writes of ports.LinksRepository as transitions of CustomerLink, written once.

The DynamoDB adapter and the tests' in-memory fake both build on this, so they check the same things in
the same order (a link's status, its version, the members of a merge, who holds the QBO customer) and
differ only in how a transition is stored: `_save` for one link, `_save_merge` for a merge.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from customer_sync.errors import ConcurrentModification, LinkNotFound, QboCustomerAlreadyLinked
from customer_sync.models.links import CustomerLink, NameClaim, check_merge_request


class LinkWrites(ABC):
    # -- what a store provides -----------------------------------------------------------------------------

    @abstractmethod
    def get(self, merchant_id: str, paysimple_customer_id: str) -> CustomerLink | None: ...

    @abstractmethod
    def qbo_link_owner(self, merchant_id: str, qbo_customer_id: str) -> str | None: ...

    @abstractmethod
    def _save(
        self,
        link: CustomerLink,
        *,
        expected_version: int,
        current: CustomerLink | None = None,
        name_claim: NameClaim | None = None,
        name_check: NameClaim | None = None,
    ) -> CustomerLink:
        """Store `link` if the stored record is still at `expected_version` (`current`, when the caller
        has just read it) and no other customer holds its QBO customer, with `name_claim` if `claim` allows
        it (NameClaimedElsewhere otherwise); the stored record comes back."""

    @abstractmethod
    def _save_merge(
        self,
        primary: tuple[CustomerLink, CustomerLink],
        duplicates: Sequence[tuple[CustomerLink, CustomerLink]],
        *,
        members: Sequence[str],
        qbo_customer_id: str,
    ) -> CustomerLink:
        """Store every (as read, new) pair at once, the QBO claim passing to the primary from any member;
        the stored primary comes back."""

    # -- the writes ----------------------------------------------------------------------------------------

    def save_linked(
        self, link: CustomerLink, *, expected_version: int, name_check: NameClaim | None = None
    ) -> CustomerLink:
        if link.status != "linked":
            raise ValueError("save_linked stores linked customers only")
        return self._save(link, expected_version=expected_version, name_check=name_check)

    def save_unlinked(self, link: CustomerLink, *, expected_version: int) -> CustomerLink:
        if link.status != "unlinked":
            raise ValueError("save_unlinked stores unlinked customers only")
        return self._save(link, expected_version=expected_version)

    def save_create_intent(
        self, link: CustomerLink, *, expected_version: int, claim: NameClaim
    ) -> CustomerLink:
        if link.status != "unlinked":
            raise ValueError("a create intent is an unlinked record")
        return self._save(link, expected_version=expected_version, name_claim=claim)

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
        current = self._current(merchant_id, paysimple_customer_id, expected_version)
        new = current.with_snapshot(
            sync_token=sync_token, snapshot=snapshot, synced_at=synced_at, event_at=event_at
        )
        return self._save(new, expected_version=expected_version, current=current)

    def mark_source_deleted(
        self,
        merchant_id: str,
        paysimple_customer_id: str,
        *,
        expected_version: int,
        event_at: datetime,
        now: datetime,
    ) -> CustomerLink:
        current = self._current(merchant_id, paysimple_customer_id, expected_version)
        new = current.deleted_at_source(event_at=event_at, now=now)
        return self._save(new, expected_version=expected_version, current=current)

    def unlink(self, merchant_id: str, paysimple_customer_id: str, *, now: datetime) -> CustomerLink:
        current = self._existing(merchant_id, paysimple_customer_id)
        if current.claimed_qbo_customer_id is None:
            return current
        new = current.unlinked_by_admin(now=now)
        return self._save(new, expected_version=current.version, current=current)

    def merge(
        self,
        merchant_id: str,
        primary_paysimple_customer_id: str,
        duplicate_paysimple_customer_ids: Sequence[str],
        qbo_customer_id: str,
        *,
        now: datetime,
    ) -> CustomerLink:
        duplicate_ids = list(dict.fromkeys(duplicate_paysimple_customer_ids))
        check_merge_request(primary_paysimple_customer_id, duplicate_ids, qbo_customer_id)
        primary = self._existing(merchant_id, primary_paysimple_customer_id)
        duplicates = [self._existing(merchant_id, duplicate_id) for duplicate_id in duplicate_ids]
        members = [primary_paysimple_customer_id, *duplicate_ids]
        owner = self.qbo_link_owner(merchant_id, qbo_customer_id)
        if owner is not None and owner not in members:
            raise QboCustomerAlreadyLinked(qbo_customer_id, owner)
        return self._save_merge(
            (primary, primary.as_merge_primary(qbo_customer_id, now=now)),
            [
                (duplicate, duplicate.as_merged_into(primary_paysimple_customer_id, now=now))
                for duplicate in duplicates
            ],
            members=members,
            qbo_customer_id=qbo_customer_id,
        )

    # -- reads the writes start from -----------------------------------------------------------------------

    def _existing(self, merchant_id: str, paysimple_customer_id: str) -> CustomerLink:
        current = self.get(merchant_id, paysimple_customer_id)
        if current is None:
            raise LinkNotFound(merchant_id, paysimple_customer_id)
        return current

    def _current(self, merchant_id: str, paysimple_customer_id: str, expected_version: int) -> CustomerLink:
        current = self._existing(merchant_id, paysimple_customer_id)
        if current.version != expected_version:
            raise ConcurrentModification(f"PaySimple customer {paysimple_customer_id}")
        return current
