"""The daily CDC sweep: the safety net Intuit recommends behind its webhooks (reference/qbo-api.md "Change
Data Capture"). Per connected QBO company, once a day:

0. A company whose name variants (domain.name_variants) were never built, or that has a gap (below), has
   them built first: one listing of its active customers (a read per 1000).
1. Ask CDC for the customers changed since the company's checkpoint, QBO's LastUpdatedTime of the newest
   change processed so far (the first sweep looks one day back). CDC looks back 30 days at most: a
   checkpoint older than that (a long outage) is moved up to the limit, and the gap is reported.
2. Hand each object, oldest change first, to domain.qbo_changes, exactly as a webhook's change would be,
   except that the object is already there: no read per customer. What the webhooks delivered is
   recognised (same SyncToken, same history entry) and changes nothing; what they missed is applied.
3. Move the checkpoint to the newest LastUpdatedTime processed, after each answer. An answer holds at most
   1000 objects and QBO says nothing when it cuts: a full answer is followed by another from the new
   checkpoint, until one is not full (or `max_rounds`). `changedSince` is inclusive, so the objects of the
   checkpoint's second are seen twice, harmlessly.

One merchant's connection serves the company (the next one if its connection is broken). A company that
fails keeps its checkpoint and is tried again the next day (or at the next run); the others go on. The
sweep stops before the invocation runs out of time; the next run resumes from the checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from customer_sync.domain.name_variants import build_name_variants, variants_built
from customer_sync.domain.qbo_changes import QboChangeService
from customer_sync.errors import ConcurrentModification, QboCompanyChanging, QboConnectionBroken
from customer_sync.observability import logger
from customer_sync.ports import (
    CdcCheckpoints,
    Clock,
    MerchantClients,
    NameVariantsRepository,
    QboCustomers,
    RealmDirectory,
)

MAX_LOOK_BACK = timedelta(days=30)
# A margin so a checkpoint right at the limit is not refused by the time QBO reads the request.
_LOOK_BACK_MARGIN = timedelta(hours=1)
FIRST_WINDOW = timedelta(days=1)
CDC_ANSWER_LIMIT = 1000
# Seconds a company's sweep may need at worst; a company is started only with this much time left.
SECONDS_PER_COMPANY = 20.0
_OBSERVE_ATTEMPTS = 3


@dataclass(frozen=True)
class CompanySweep:
    realm_id: str
    outcome: Literal["swept", "failed", "not_connected"]
    objects: int = 0
    qbo_calls: int = 0
    applied: int = 0  # objects that changed something (what the webhooks missed)
    checkpoint: datetime | None = None
    gap: bool = False  # the checkpoint was older than CDC's 30 days: changes in between may be missed
    incomplete: bool = False  # still full answers after max_rounds: the next run goes on
    name_variants: int | None = None  # how many the company has, when they were (re)built in this sweep
    error: str | None = None


class CdcSweep:
    def __init__(
        self,
        *,
        realms: RealmDirectory,
        checkpoints: CdcCheckpoints,
        variants: NameVariantsRepository,
        clients: MerchantClients,
        changes: QboChangeService,
        clock: Clock,
        answer_limit: int = CDC_ANSWER_LIMIT,
        max_rounds: int = 20,
    ) -> None:
        self._realms = realms
        self._checkpoints = checkpoints
        self._variants = variants
        self._clients = clients
        self._changes = changes
        self._clock = clock
        self._answer_limit = answer_limit
        self._max_rounds = max_rounds

    def sweep_all(self, seconds_left: Callable[[], float]) -> list[CompanySweep]:
        merchants_by_realm: dict[str, list[str]] = {}
        for connection in self._realms.connections():
            merchants_by_realm.setdefault(connection.realm_id, []).append(connection.merchant_id)
        results: list[CompanySweep] = []
        for realm_id, merchants in merchants_by_realm.items():
            if seconds_left() < SECONDS_PER_COMPANY:
                logger.warning("CDC sweep out of time; the next run resumes", extra={"realm_id": realm_id})
                break
            try:
                results.append(self.sweep(realm_id, merchants))
            except Exception as error:  # one company's failure never stops the others
                logger.exception("CDC sweep of a company failed", extra={"realm_id": realm_id})
                results.append(CompanySweep(realm_id, "failed", error=type(error).__name__))
        return results

    def sweep(self, realm_id: str, merchant_ids: list[str]) -> CompanySweep:
        client = self._client(realm_id, merchant_ids)
        if client is None:
            return CompanySweep(realm_id, "not_connected")
        now = self._clock.now()
        since = self._checkpoints.checkpoint(realm_id) or now - FIRST_WINDOW
        earliest = now - MAX_LOOK_BACK + _LOOK_BACK_MARGIN
        gap = since < earliest
        since = max(since, earliest)
        calls_before = client.calls_made
        built = None
        if gap or not variants_built(self._variants, merchant_ids, realm_id):
            built = build_name_variants(client, self._variants, merchant_ids, realm_id, now=now).variants
        objects = applied = 0
        full = False
        for _ in range(self._max_rounds):
            answer = sorted(client.customer_changes(since), key=_last_updated_or_min)
            newest = since
            for customer in answer:
                applied += self._observe(realm_id, customer)
                newest = max(newest, _last_updated_or_min(customer))
            objects += len(answer)
            self._checkpoints.save_checkpoint(realm_id, newest)
            full = len(answer) >= self._answer_limit
            stuck = newest <= since  # a full answer all in one second: the next one would be the same
            since = newest
            if not full or stuck:
                break
        return CompanySweep(
            realm_id,
            "swept",
            objects=objects,
            qbo_calls=client.calls_made - calls_before,
            applied=applied,
            checkpoint=since,
            gap=gap,
            incomplete=full,
            name_variants=built,
        )

    def _client(self, realm_id: str, merchant_ids: list[str]) -> QboCustomers | None:
        """A client of `realm_id` through one of its merchants (one whose connection is being changed to
        another company is passed over)."""
        for merchant_id in merchant_ids:
            try:
                return self._clients.qbo(merchant_id, connected_realm_id=realm_id)
            except (QboConnectionBroken, QboCompanyChanging):
                continue
        return None

    def _observe(self, realm_id: str, customer: Mapping[str, Any]) -> int:
        """1 when the object changed something for some merchant, else 0. A link written concurrently (a
        sync, a webhook) is read again and the object applied to what is there now."""
        for attempt in range(1, _OBSERVE_ATTEMPTS + 1):
            try:
                outcomes = self._changes.observe(realm_id, customer)
            except ConcurrentModification:
                if attempt == _OBSERVE_ATTEMPTS:
                    raise
                continue
            return int(any(outcome.action not in ("ignored", "echo") for outcome in outcomes))
        return 0


def _last_updated_or_min(customer: Mapping[str, Any]) -> datetime:
    text = (customer.get("MetaData") or {}).get("LastUpdatedTime")
    try:
        moment = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        moment = None
    return moment if moment is not None and moment.tzinfo is not None else datetime.min.replace(tzinfo=UTC)
