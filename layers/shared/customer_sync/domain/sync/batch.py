"""One batch of queued changes as the sync works through it, in order, and what its changes share.

A Lambda batch (up to 10 changes, usually of one merchant) reads once what every change of it needs:
- the links of all its customers and the outcomes of changes already done: one read (ports.SyncJournal);
- each merchant's settings and mapping versions: one read per merchant (ports.SyncConfigSource);
- each merchant's QBO candidates for its new customers: one name query per realm (domain.sync.name_lookup),
  with the PaySimple records of the customers it covers fetched for it and kept for their turn.

Work done for a later change ahead of its turn (its PaySimple fetch) runs inside `working_on(change)`, which
the handler makes attribute the log lines written meanwhile to that change.

The batch's view of a link is the record as stored now: every write the batch makes goes through
`BatchLinks`, which keeps it current, so a later change of the same customer in the batch starts from what
the earlier one wrote.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from customer_sync.domain.sync.name_lookup import CandidatePool
from customer_sync.domain.sync.outcomes import SyncOutcome
from customer_sync.domain.sync.records import (
    CustomerKey,
    JournalPrefetch,
    change_key,
    customer_key,
)
from customer_sync.domain.sync.run import SyncSource
from customer_sync.models.links import CustomerLink, NameClaim
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.models.settings import MerchantSyncConfig
from customer_sync.ports import LinksRepository, SyncConfigSource, SyncJournal


class BatchLinks:
    """The batch's links: read once up front, then kept current with every write the batch makes."""

    def __init__(self, repository: LinksRepository, known: dict[CustomerKey, CustomerLink | None]) -> None:
        self._repository = repository
        self._known = known

    def get(self, merchant_id: str, paysimple_customer_id: str) -> CustomerLink | None:
        key = (merchant_id, paysimple_customer_id)
        if key not in self._known:
            self._known[key] = self._repository.get(merchant_id, paysimple_customer_id)
        return self._known[key]

    def save_linked(
        self, link: CustomerLink, *, expected_version: int, name_check: NameClaim | None = None
    ) -> CustomerLink:
        return self.stored(
            self._repository.save_linked(link, expected_version=expected_version, name_check=name_check)
        )

    def save_unlinked(self, link: CustomerLink, *, expected_version: int) -> CustomerLink:
        return self.stored(self._repository.save_unlinked(link, expected_version=expected_version))

    def save_create_intent(
        self, link: CustomerLink, *, expected_version: int, claim: NameClaim
    ) -> CustomerLink:
        return self.stored(
            self._repository.save_create_intent(link, expected_version=expected_version, claim=claim)
        )

    def stored(self, link: CustomerLink) -> CustomerLink:
        """`link` is now the stored record (written by the batch, here or through the journal)."""
        self._known[(link.merchant_id, link.paysimple_customer_id)] = link
        return link

    def forget(self, merchant_id: str, paysimple_customer_id: str) -> None:
        """A write of this customer's link failed: read it afresh when it is next needed."""
        self._known.pop((merchant_id, paysimple_customer_id), None)


class ChangeBatch:
    def __init__(
        self,
        messages: Sequence[CustomerChangeMessage],
        *,
        journal: SyncJournal,
        configs: SyncConfigSource,
        links: LinksRepository,
        working_on: Callable[[CustomerChangeMessage], AbstractContextManager[object]] | None = None,
    ) -> None:
        self.messages = list(messages)
        self.working_on = working_on or (lambda message: contextlib.nullcontext())
        self._journal = journal
        self._configs = configs
        self._links_repository = links
        self._prefetch: JournalPrefetch | None = None
        self._links: BatchLinks | None = None
        self._merchant_configs: dict[str, MerchantSyncConfig] = {}
        self._pools: dict[str, CandidatePool] = {}
        self._looked_up_at: dict[str, datetime] = {}
        # PaySimple records fetched ahead for the name lookup, until their change's turn (None: deleted).
        self._sources: dict[CustomerKey, SyncSource | None] = {}

    # -- read once ---------------------------------------------------------------------------------------

    def _prefetched(self) -> JournalPrefetch:
        if self._prefetch is None:
            self._prefetch = self._journal.prefetch(self.messages)
        return self._prefetch

    @property
    def links(self) -> BatchLinks:
        if self._links is None:
            self._links = BatchLinks(self._links_repository, dict(self._prefetched().links))
        return self._links

    def outcome_of(self, message: CustomerChangeMessage) -> SyncOutcome | None:
        """The outcome of this very change if it was already done (a redelivery)."""
        return self._prefetched().outcomes.get(change_key(message))

    def config(self, merchant_id: str) -> MerchantSyncConfig:
        if merchant_id not in self._merchant_configs:
            self._merchant_configs[merchant_id] = self._configs.sync_config(merchant_id)
        return self._merchant_configs[merchant_id]

    # -- the name lookup ---------------------------------------------------------------------------------

    def later_changes_of_merchant(self, message: CustomerChangeMessage) -> list[CustomerChangeMessage]:
        """The changes after `message` in the batch for the same merchant, in order."""
        position = next(index for index, queued in enumerate(self.messages) if queued is message)
        return [later for later in self.messages[position + 1 :] if later.merchant_id == message.merchant_id]

    def candidate_pool(self, merchant_id: str) -> CandidatePool | None:
        return self._pools.get(merchant_id)

    def keep_candidate_pool(self, merchant_id: str, pool: CandidatePool, *, looked_up_at: datetime) -> None:
        """The pool of a name lookup made at `looked_up_at` (just before the query was sent)."""
        self._pools[merchant_id] = pool
        self._looked_up_at[merchant_id] = looked_up_at

    def looked_up_at(self, merchant_id: str) -> datetime | None:
        return self._looked_up_at.get(merchant_id)

    def keep_source(self, message: CustomerChangeMessage, source: SyncSource | None) -> None:
        """A PaySimple record fetched ahead of its change's turn (None: deleted in PaySimple)."""
        self._sources[customer_key(message)] = source

    def has_source(self, message: CustomerChangeMessage) -> bool:
        return customer_key(message) in self._sources

    def take_source(self, message: CustomerChangeMessage) -> SyncSource | None:
        """The record fetched ahead for this change (only once: a later change of the customer fetches)."""
        return self._sources.pop(customer_key(message))
