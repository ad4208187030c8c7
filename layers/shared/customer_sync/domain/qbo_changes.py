"""Following what people do in QBO (DESIGN.md "QBO webhooks and change data capture"): one change to one
QBO customer, from a webhook event (ids only) or from the CDC sweep (the whole object), applied to the
links of every merchant connected to that company. QBO is never written here.

For the merchant whose link claims the QBO customer:

- **Our own write echoed back.** A webhook event no later than the LastUpdatedTime of the last state we
  wrote or saw (`CustomerLink.qbo_updated_at`) is ignored without a read: each of our writes comes back as
  an event, and reading it would add a metered read to every sync. (QBO's times are whole seconds: a
  person's edit in the same second as our write is indistinguishable by time, and the daily CDC sweep,
  which compares SyncTokens, finds it.) A read (or a CDC object) whose SyncToken is the one we hold is
  unchanged too.
- **Merged in QBO** (`merged`, on the survivor, with `deletedid`): the link of the merged-away customer
  moves to the survivor, reason `qbo_merge`, with a history entry; nothing is read, and the next PaySimple
  save reads the survivor before its first write (as after an admin link). If the survivor is already
  linked to another PaySimple customer, a QBO customer is never linked twice: the customer goes to the
  unlinked list with the survivor as its candidate, for the admin.
- **Deleted** (a 610 on the read, or CDC's `Deleted`): the link is flagged `deleted` and kept (a merge
  event may still name the survivor); the next PaySimple save puts it on the unlinked list.
- **Made inactive** (announced as updated or deleted: `Active` is what counts): the link is flagged
  `inactive` and shown. A later PaySimple save never quietly reactivates it: by default it is held
  (parked, reason qbo_customer_inactive); the merchant's `on_qbo_inactive` "reactivate" makes the save
  reactivate it, saying so. **Made active again**: the flag is cleared and the held changes are queued
  again, so they are applied by themselves.
- **Edited by a person** (a newer SyncToken): the mapped fields that now differ from our last write are
  recorded as drift (field, what we wrote, what QBO holds: domain.drift) and shown on the customer, with a
  `qbo_edited` history entry; the newer SyncToken is kept, so the next PaySimple save writes over the edit
  in one call (domain.sync.service) and its history says it overwrote a QBO edit.

A change of a QBO customer nobody links, of a company nobody is connected to, or while the merchant's QBO
connection is broken (the CDC sweep catches up after the reconnect) changes no link.

Per company, once for all its merchants, the change also keeps the company's **name variants** current
(domain.name_variants: the customers whose names a person typed differently from their normalized form,
which the sync's one exact name query cannot find): a CDC object updates them as it is; a customer read
for a link above is used as read; a deletion, or a merge's merged-away customer, is dropped; and a
webhook event of a customer nobody links is read once (action `indexed`), when the company's variants are
built. Our own writes' echoes are not read: we write names normalized, so never a variant.

Every read is counted in the outcome, its history entry and a metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from customer_sync.domain.drift import detect_drift
from customer_sync.domain.name_variants import drop_variant, keep_current, variants_built
from customer_sync.domain.qbo_values import scrub_changes
from customer_sync.domain.redrive import resend_all_parked
from customer_sync.domain.scrub import scrub_payment_data
from customer_sync.domain.sync.outcomes import PARK_QBO_CUSTOMER_INACTIVE
from customer_sync.errors import QboCompanyChanging, QboConnectionBroken, QboNotFound
from customer_sync.models.history import FieldChange, HistoryAction, HistoryEntry
from customer_sync.models.links import REASON_QBO_MERGE, CustomerLink, DriftedField, LinkCandidate
from customer_sync.models.qbo_events import QboChangeMessage
from customer_sync.ports import (
    ChangePublisher,
    Clock,
    FailuresRepository,
    HistoryRepository,
    LinksRepository,
    MerchantClients,
    NameVariantsRepository,
    RealmDirectory,
)

REASON_QBO_MERGED_INTO_LINKED = "qbo_merged_into_linked"
CDC_EVENT_TYPE = "qbo.cdc"

QboChangeAction = Literal[
    "ignored",  # nobody here links that QBO customer (or company), or the connection is broken
    "echo",  # our own write, or nothing new
    "edited",  # drift recorded (or cleared, or only the SyncToken moved on)
    "inactive",
    "reactivated",
    "deleted",
    "relinked",  # a merge moved the link to the survivor
    "unlinked",  # a merge into a QBO customer linked to someone else
    "indexed",  # nobody links it: read once to keep the company's name variants (detail: variant|regular)
]


@dataclass(frozen=True)
class QboChangeOutcome:
    action: QboChangeAction
    merchant_id: str | None = None
    paysimple_customer_id: str | None = None
    qbo_reads: int = 0
    detail: str | None = None
    redriven: int = 0
    # The customer as a read showed it (kept for the name variants; never logged).
    seen: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class _Seen:
    """The QBO customer as the change shows it: the object, or None when it is deleted / merged away."""

    customer: Mapping[str, Any] | None
    reads: int


class QboChangeService:
    def __init__(
        self,
        *,
        realms: RealmDirectory,
        variants: NameVariantsRepository,
        links: LinksRepository,
        history: HistoryRepository,
        failures: FailuresRepository,
        publisher: ChangePublisher,
        clients: MerchantClients,
        clock: Clock,
    ) -> None:
        self._realms = realms
        self._variants = variants
        self._links = links
        self._history = history
        self._failures = failures
        self._publisher = publisher
        self._clients = clients
        self._clock = clock

    def process(self, change: QboChangeMessage) -> list[QboChangeOutcome]:
        """A webhook's change: ids only, so the customer is read when it is not our own echo."""
        return self._for_each_merchant(change, supplied=None)

    def observe(self, realm_id: str, customer: Mapping[str, Any]) -> list[QboChangeOutcome]:
        """A CDC object: the customer as QBO holds it now (or `{"status": "Deleted", "Id": ..}`)."""
        deleted = customer.get("status") == "Deleted"
        updated = str((customer.get("MetaData") or {}).get("LastUpdatedTime", ""))
        change = QboChangeMessage(
            realm_id=realm_id,
            qbo_customer_id=str(customer["Id"]),
            change="deleted" if deleted else "updated",
            event_id=f"cdc:{realm_id}:{customer['Id']}:{customer.get('SyncToken', 'deleted')}:{updated}",
            occurred_at=datetime.fromisoformat(updated) if updated else None,
        )
        return self._for_each_merchant(change, supplied=_Seen(None if deleted else customer, reads=0))

    # -- per merchant ------------------------------------------------------------------------------------

    def _for_each_merchant(
        self, change: QboChangeMessage, *, supplied: _Seen | None
    ) -> list[QboChangeOutcome]:
        merchants = self._realms.merchants_for_realm(change.realm_id)
        if not merchants:
            return [QboChangeOutcome("ignored", detail="company_not_connected")]
        outcomes = [self._for_merchant(merchant_id, change, supplied) for merchant_id in merchants]
        indexed = self._keep_name_variants(change, supplied, outcomes, merchants)
        return outcomes + ([indexed] if indexed is not None else [])

    # -- the company's name variants ---------------------------------------------------------------------

    def _keep_name_variants(
        self,
        change: QboChangeMessage,
        supplied: _Seen | None,
        outcomes: list[QboChangeOutcome],
        merchants: list[str],
    ) -> QboChangeOutcome | None:
        realm_id, qbo_id = change.realm_id, change.qbo_customer_id
        if change.change == "merged":
            if change.deleted_id:  # the survivor keeps its own names
                drop_variant(self._variants, merchants, realm_id, change.deleted_id)
            return None
        if supplied is not None:  # a CDC object: as QBO holds it now
            if supplied.customer is None:
                drop_variant(self._variants, merchants, realm_id, qbo_id)
            else:
                keep_current(self._variants, merchants, realm_id, supplied.customer)
            return None
        if change.change == "deleted" or any(outcome.action == "deleted" for outcome in outcomes):
            drop_variant(self._variants, merchants, realm_id, qbo_id)
            return None
        seen = next((outcome.seen for outcome in outcomes if outcome.seen is not None), None)
        if seen is not None:
            keep_current(self._variants, merchants, realm_id, seen)
            return None
        if any(outcome.detail != "not_linked" for outcome in outcomes):
            return None  # our own echo (never a variant), or a broken connection (the sweep catches up)
        if not variants_built(self._variants, merchants, realm_id):
            return None  # the build lists the company's customers as they are then
        return self._read_for_name_variants(realm_id, qbo_id, merchants)

    def _read_for_name_variants(
        self, realm_id: str, qbo_id: str, merchants: list[str]
    ) -> QboChangeOutcome | None:
        for merchant_id in merchants:
            try:
                qbo = self._clients.qbo(merchant_id, connected_realm_id=realm_id)
                before = qbo.calls_made
                try:
                    customer: Mapping[str, Any] | None = qbo.read_customer(qbo_id).raw
                except QboNotFound:
                    customer = None
            except (QboConnectionBroken, QboCompanyChanging):
                continue
            reads = qbo.calls_made - before
            if customer is None:
                drop_variant(self._variants, merchants, realm_id, qbo_id)
                return QboChangeOutcome("indexed", merchant_id, qbo_reads=reads, detail="gone")
            kept = keep_current(self._variants, merchants, realm_id, customer)
            detail = "variant" if kept else "regular"
            return QboChangeOutcome("indexed", merchant_id, qbo_reads=reads, detail=detail)
        return None

    def _for_merchant(
        self, merchant_id: str, change: QboChangeMessage, supplied: _Seen | None
    ) -> QboChangeOutcome:
        survivor_owner = self._links.qbo_link_owner(merchant_id, change.qbo_customer_id)
        if change.change == "merged" and change.deleted_id:
            merged_owner = self._links.qbo_link_owner(merchant_id, change.deleted_id)
            if merged_owner is not None and merged_owner != survivor_owner:
                return self._merged(merchant_id, change, merged_owner, survivor_owner)
        if survivor_owner is None:
            return QboChangeOutcome("ignored", merchant_id, detail="not_linked")
        link = self._links.get(merchant_id, survivor_owner)
        if link is None or link.status != "linked" or link.qbo_customer_id != change.qbo_customer_id:
            return QboChangeOutcome("ignored", merchant_id, survivor_owner, detail="not_linked")
        return self._changed(link, change, supplied)

    def _changed(
        self, link: CustomerLink, change: QboChangeMessage, supplied: _Seen | None
    ) -> QboChangeOutcome:
        merchant_id, paysimple_id = link.merchant_id, link.paysimple_customer_id
        if supplied is None and _is_echo(change, link):
            return QboChangeOutcome("echo", merchant_id, paysimple_id, detail="no_later_than_our_last_write")
        try:
            seen = supplied or self._read(link, change.realm_id)
        except QboConnectionBroken:
            return QboChangeOutcome("ignored", merchant_id, paysimple_id, detail="qbo_connection_broken")
        current = seen.customer
        if current is None:
            return self._deleted(link, change, seen.reads)
        if link.qbo_sync_token is not None and str(current.get("SyncToken")) == link.qbo_sync_token:
            return QboChangeOutcome(
                "echo", merchant_id, paysimple_id, seen.reads, detail="same_sync_token", seen=current
            )
        return self._updated(link, change, current, seen.reads)

    def _read(self, link: CustomerLink, realm_id: str) -> _Seen:
        """The customer as `realm_id`, the event's company, holds it (never another company's by its id)."""
        qbo = self._clients.qbo(link.merchant_id, connected_realm_id=realm_id)
        before = qbo.calls_made
        try:
            customer: Mapping[str, Any] | None = qbo.read_customer(str(link.qbo_customer_id)).raw
        except QboNotFound:
            customer = None
        return _Seen(customer, reads=qbo.calls_made - before)

    # -- what happened -----------------------------------------------------------------------------------

    def _updated(
        self, link: CustomerLink, change: QboChangeMessage, current: Mapping[str, Any], reads: int
    ) -> QboChangeOutcome:
        now = self._clock.now()
        active = current.get("Active", True) is not False
        entries: list[tuple[HistoryAction, dict[str, FieldChange], str]] = []
        flag = link.qbo_flag
        action: QboChangeAction = "edited"
        if not active and flag != "inactive":
            flag, action = "inactive", "inactive"
            entries.append(
                ("qbo_inactive", {}, "made inactive in QBO: PaySimple saves are held until it is active")
            )
        elif active and flag == "inactive":
            flag, action = None, "reactivated"
            entries.append(("qbo_reactivated", {}, "made active again in QBO: held changes are applied"))
        elif flag == "deleted":
            flag = None if active else "inactive"  # it is there after all (a read that failed, or restored)
        known = link.qbo_sync_token is not None  # a snapshot of our last write to compare with
        drift = detect_drift(link.snapshot, current, earlier=link.drift, now=now) if known else []
        new = _new_drift(drift, link.drift)
        if new:
            changes = {entry.field: FieldChange(before=entry.ours, after=entry.theirs) for entry in new}
            entries.append(("qbo_edited", changes, f"edited in QBO: {', '.join(changes)}"))
        saved = self._links.save_linked(
            link.revised(
                qbo_sync_token=str(current.get("SyncToken")) if known else None,
                qbo_updated_at=_last_updated(current) or link.qbo_updated_at,
                drift=drift,
                qbo_flag=flag,
                updated_at=now,
            ),
            expected_version=link.version,
        )
        for history_action, changes, detail in entries:
            self._record(saved, change, history_action, reads=reads, changes=changes, detail=detail)
        redriven = self._redrive_held(saved) if action == "reactivated" else 0
        fields = ", ".join(entry.field for entry in drift) or None
        return QboChangeOutcome(
            action,
            saved.merchant_id,
            saved.paysimple_customer_id,
            qbo_reads=reads,
            detail=f"drift: {fields}" if fields else None,
            redriven=redriven,
            seen=current,
        )

    def _deleted(self, link: CustomerLink, change: QboChangeMessage, reads: int) -> QboChangeOutcome:
        merchant_id, paysimple_id = link.merchant_id, link.paysimple_customer_id
        if link.qbo_flag == "deleted":
            return QboChangeOutcome(
                "echo", merchant_id, paysimple_id, reads, detail="already_flagged_deleted"
            )
        saved = self._links.save_linked(
            link.revised(qbo_flag="deleted", updated_at=self._clock.now()), expected_version=link.version
        )
        detail = f"QBO customer {link.qbo_customer_id} was deleted or merged away in QBO"
        self._record(saved, change, "qbo_deleted", reads=reads, detail=detail)
        return QboChangeOutcome("deleted", merchant_id, paysimple_id, reads)

    def _merged(
        self, merchant_id: str, change: QboChangeMessage, merged_owner: str, survivor_owner: str | None
    ) -> QboChangeOutcome:
        link = self._links.get(merchant_id, merged_owner)
        survivor, merged = change.qbo_customer_id, str(change.deleted_id)
        if link is None or link.qbo_customer_id != merged:
            return QboChangeOutcome("ignored", merchant_id, merged_owner, detail="not_linked")
        now = self._clock.now()
        if survivor_owner is not None:
            candidate = LinkCandidate(qbo_customer_id=survivor, display_name=f"QBO customer {survivor}")
            saved = self._links.save_unlinked(
                link.revised(
                    status="unlinked",
                    reason=REASON_QBO_MERGED_INTO_LINKED,
                    candidates=[candidate],
                    qbo_customer_id=None,
                    qbo_sync_token=None,
                    snapshot={},
                    drift=[],
                    qbo_flag=None,
                    updated_at=now,
                ),
                expected_version=link.version,
            )
            detail = (
                f"QBO merged customer {merged} into {survivor}, which is linked to PaySimple customer "
                f"{survivor_owner}: unlinked for review"
            )
            self._record(saved, change, "qbo_merged", qbo_customer_id=survivor, detail=detail)
            return QboChangeOutcome(
                "unlinked", merchant_id, merged_owner, detail=REASON_QBO_MERGED_INTO_LINKED
            )
        moved = self._links.save_linked(
            link.revised(
                qbo_customer_id=survivor,
                qbo_sync_token=None,  # the next save reads the survivor before writing to it
                snapshot={},
                drift=[],
                qbo_flag=None,
                qbo_updated_at=change.occurred_at,
                reason=REASON_QBO_MERGE,
                updated_at=now,
            ),
            expected_version=link.version,
        )
        detail = f"QBO merged customer {merged} into {survivor}: the link moved to QBO customer {survivor}"
        self._record(moved, change, "qbo_merged", qbo_customer_id=survivor, detail=detail)
        return QboChangeOutcome("relinked", merchant_id, merged_owner, detail=f"{merged} -> {survivor}")

    def _redrive_held(self, link: CustomerLink) -> int:
        """The changes held while the QBO customer was inactive, queued again (as an admin redrive would)."""
        sent = resend_all_parked(
            self._failures,
            self._publisher,
            link.merchant_id,
            chosen=lambda failure: (
                failure.paysimple_customer_id == link.paysimple_customer_id
                and failure.reason == PARK_QBO_CUSTOMER_INACTIVE
            ),
        )
        return len(sent)

    def _record(
        self,
        link: CustomerLink,
        change: QboChangeMessage,
        action: HistoryAction,
        *,
        reads: int = 0,
        changes: Mapping[str, FieldChange] | None = None,
        detail: str,
        qbo_customer_id: str | None = None,
    ) -> None:
        now = self._clock.now()
        cdc = change.event_id.startswith("cdc:")
        self._history.append(
            HistoryEntry(
                merchant_id=link.merchant_id,
                paysimple_customer_id=link.paysimple_customer_id,
                event_id=change.event_id,
                event_type=CDC_EVENT_TYPE if cdc else f"qbo.customer.{change.change}.v1",
                occurred_at=change.occurred_at or now,
                recorded_at=now,
                action=action,
                qbo_customer_id=qbo_customer_id or link.qbo_customer_id or change.qbo_customer_id,
                changes=scrub_changes(changes or {}),
                qbo_calls=reads,
                detail=scrub_payment_data(detail).text,
            )
        )


def _is_echo(change: QboChangeMessage, link: CustomerLink) -> bool:
    """A webhook event no later than the last QBO state we wrote or saw (both whole seconds, QBO's clock)."""
    if change.occurred_at is None or link.qbo_updated_at is None or change.occurred_at.tzinfo is None:
        return False
    return change.occurred_at <= link.qbo_updated_at


def _last_updated(customer: Mapping[str, Any]) -> datetime | None:
    text = (customer.get("MetaData") or {}).get("LastUpdatedTime")
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _new_drift(drift: list[DriftedField], earlier: list[DriftedField]) -> list[DriftedField]:
    """Drift not recorded before (a new field, or a field edited again)."""
    known = {(entry.field, repr(entry.theirs)) for entry in earlier}
    return [entry for entry in drift if (entry.field, repr(entry.theirs)) not in known]
