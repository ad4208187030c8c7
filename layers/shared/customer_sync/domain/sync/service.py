"""The sync of one queued PaySimple change into QuickBooks Online (DESIGN.md "Sync" and "Matching").

`SyncService.process(message)` runs these steps and returns what happened (domain.sync.outcomes.SyncOutcome):

1. **Gate.** Sync off for the merchant, or the event happened while sync was off (before it was first
   enabled, or during a pause): "skipped", nothing fetched, no QBO call. This is the no-retroactive rule:
   enabling sync never touches existing QBO customers; only saves made afterwards flow. A change saved in
   any enabled period is applied, even when it is redriven (or delivered late) after a pause and a resume.
2. **Fetch** the current PaySimple record (a 404 means deleted). Events carry ids only and the record is
   always fetched, so the newest PaySimple state wins whatever the delivery order. An event older than one
   already synced for the customer is skipped as superseded (it could only carry an older mapping).
3. **Scrub** card and bank numbers from every field, then build the QBO payload from the mapping in effect
   at the event's time (a mapping change affects only later saves). First and last name are always sent,
   whatever a stored mapping says.
4. **Resolve the link.**
   - *Linked*: diff the payload against the snapshot we last pushed. Nothing changed: 0 QBO calls.
     Otherwise one sparse update with the cached SyncToken (1 call). On 5010: read, re-diff only the
     fields we meant to change, retry (3 calls). On 610 (merged away or deleted in QBO): the customer goes
     to the unlinked list with reason "qbo_customer_missing".
   - *Not linked*: query by name (1 call, shared by the batch's new customers: see "Batches" below) and
     `matching.decide_match`:
     - one match: link (the QBO customer is claimed in our links table first, so a QBO customer is never
       linked twice) and update it with the fields that differ from what QBO holds — empty PaySimple values
       never clear QBO data we did not write;
     - ambiguous: the unlinked list, with candidates and reason;
     - none: create (1 call, plus the shared query), DisplayName "First Last" set on create only.
   - *Deleted*: the link is marked source_deleted (keeping its claim on the QBO customer); the QBO customer
     is deactivated only if the merchant's `deactivate_on_delete` says so.
5. **Record** a history entry: event, action, QBO fields before → after, truncations, QBO calls, error,
   together with the link and the change's outcome ("Writes" below).

Every QBO call goes to the company the merchant is connected to now, as its sync config records it: a
container that loaded the connection before the merchant connected another company reads it again, and
while the stored connection is still another company's (a connect under way) the change is delivered
again later (QboCompanyChanging). A QBO id means nothing in another company: no update may land on the
customer that happens to have it there.

Creates are crash-safe. Before the first create call, an intent is stored: the customer's record becomes
unlinked with reason "creating". The create's `requestid` is derived from merchant, PaySimple id and the
intent record's version (domain.sync.request_ids), never from the attempt or the time. If the Lambda dies
after QBO answered but before the link was written, the redelivery finds the intent, repeats the create with
the same requestid, gets QBO's original answer, and links that customer: there is never a second customer.
A create QBO rejects for good releases the intent (reason "create_rejected"), so the next save starts with
a fresh requestid instead of having QBO replay the old failure.

One decision per name. Two new customers of the same name arriving at once (two Lambdas) would both find
no QBO customer and both create one (the second suffixed after 6240). So a create claims its normalised
name (models.links.NameClaim) in the same transaction as its intent: the claim is refused while another
customer's create of that name is under way, or when it ended after this change's name lookup (which then
cannot have seen it). A refused change is delivered again (transient), looks the name up afresh, and finds
the first one's QBO customer: it goes to the unlinked list ("already_linked"), exactly as it would have one
after the other. The claim ends in the transaction that completes the create (created, or decided
otherwise), not while the intent is kept (a broken connection); a claim whose create never finishes
expires after an hour. No extra DynamoDB call: both ride on writes that were made anyway.

Link, SyncToken and snapshot are written as one record; the links repository makes that write conditional
on the version we read, together with the claim on the QBO customer and the email index.

6240 (Duplicate Name) on create. DisplayName is unique across customers, vendors and employees, inactive
ones included, and the Id in the fault may belong to any of them, so it is never used as a customer id.
We query customers holding that DisplayName (`Active IN (true, false)`):
- an inactive customer holds it: unlinked, reason "inactive_name_holder", with that customer as the
  candidate. We never reactivate it on our own: the admin decides.
- an active customer we have not linked holds it (it did not match by first/last name, e.g. its name
  parts were never filled in): it may well be the same person, so no suffixed duplicate is created. The
  customer is unlinked with reason "display_name_taken" and that candidate for the admin to link.
- otherwise (a vendor or an employee holds it, or a customer already linked to another PaySimple customer,
  i.e. a different person): one retry with the merchant's collision suffix ("First Last (PS-<id>)" by
  default) under a requestid of its own. If that collides too, the change is parked
  ("duplicate_name_unresolvable") and the customer is unlinked with reason "name_collision".

Deleted, then back. If a customer whose link is source_deleted is found again in PaySimple (a restore, or
a 404 that was not final), its link is restored and the save synced as for a linked customer; a QBO
customer we deactivated because of the delete is made active again (it was ours: the snapshot remembers
the deactivation). A *new* PaySimple customer re-created with the same name gets a new id: its name match
is the deleted customer's QBO record, which stays claimed, so it lands on the unlinked list
("already_linked", detail "name_held_by_deleted_customer") for the admin to confirm.

An admin unlink is respected: that customer is not matched automatically again ("unlinked", detail
"unlinked_by_admin") until the admin links it. Merged duplicates are skipped.

Batches. `start_batch` returns the domain.sync.batch.ChangeBatch the handler passes with each change of a
Lambda batch: the batch reads once what its changes share (links, done outcomes, settings and mapping, one
QBO name query per realm for its new customers: domain.sync.name_lookup). When the name query runs, the
other new customers it covers whose names match nobody in QBO (and no other customer of the batch) get
their create intent at once: a change the company's QBO budget then sends back to the queue keeps its
place and needs no second query when it returns. Each change is still decided and written on its own, in
the batch's order.

Writes. A change's bookkeeping is stored in one round trip at its end (ports.SyncJournal.complete): the
final link write, the history entry, the merchant's last successful sync and the change's outcome, which
answers a redelivery of the same change (merchant, event, redrive attempt) without syncing it again. Only
the writes that must come before a QBO call are made on their own: a create's intent, and the claim on a
matched QBO customer.

Errors follow domain.sync.failure_policy: transient ones propagate (SQS delivers again), permanent ones are
parked with their reason and the message is acknowledged. A company whose QBO budget is known to be used
up is not called at all: its changes go back to the queue before anything is fetched.

Redrives (`redrive_attempt` > 0, domain.redrive). The change's parked entry is removed in its completion
when the change is done (applied, or decided: unlinked, superseded...). A redriven change that is parked
again, or skipped because sync is off or it was saved while sync was off, keeps its entry, with that
outcome as its reason: nothing an admin redrove disappears without being applied.

Everything stored — link names and email, snapshot, history before/after (values read back from QBO
included), candidates, failure texts — is scrubbed of card and bank numbers first. This module logs
nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from customer_sync.domain.diff import changed_fields_from_qbo, diff_payload
from customer_sync.domain.drift import changes_over_drift
from customer_sync.domain.mapping import mapping_in_effect, without_empty_values
from customer_sync.domain.matching import (
    Ambiguous,
    LinkTo,
    QboCandidate,
    collision_display_name,
    decide_match,
    display_name_for,
)
from customer_sync.domain.name_collision import (
    FlagInactiveHolder,
    FlagUnmatchedHolder,
    customers_holding,
    decide_collision,
)
from customer_sync.domain.name_variants import build_name_variants
from customer_sync.domain.names import name_key
from customer_sync.domain.qbo_query import build_display_name_query
from customer_sync.domain.qbo_values import for_admin, in_payload_shape, scrub_changes
from customer_sync.domain.sync import outcomes
from customer_sync.domain.sync.batch import ChangeBatch
from customer_sync.domain.sync.failure_policy import PermanentFailure, describe, permanent_failure
from customer_sync.domain.sync.name_lookup import CandidatePool, look_up_names
from customer_sync.domain.sync.outcomes import SyncAction, SyncOutcome
from customer_sync.domain.sync.records import Completion, LinkWrite, history_entry, parked_failure
from customer_sync.domain.sync.request_ids import CreateVariant, create_request_id
from customer_sync.domain.sync.run import (
    ACTIVE,
    StepResult,
    SyncRun,
    SyncSource,
    first_write_changes,
    last_updated,
)
from customer_sync.errors import (
    ConcurrentModification,
    HeldForInactiveQboCustomer,
    PaySimpleError,
    QboAuthorizationFailed,
    QboBudgetExhausted,
    QboConnectionBroken,
    QboCustomerAlreadyLinked,
    QboDuplicateName,
    QboError,
    QboNotFound,
    QboStaleObject,
)
from customer_sync.models.history import FieldChange
from customer_sync.models.links import (
    REASON_ALREADY_LINKED,
    REASON_CREATED,
    REASON_INACTIVE_NAME_HOLDER,
    REASON_NAME_COLLISION,
    REASON_UNLINKED_BY_ADMIN,
    CustomerLink,
    LinkCandidate,
    NameClaim,
    NameClaimRelease,
)
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.models.qbo import QboCustomer
from customer_sync.models.settings import MerchantSettings
from customer_sync.ports import (
    Clock,
    FailuresRepository,
    HistoryRepository,
    LinksRepository,
    MerchantClients,
    NameVariantsRepository,
    SyncConfigSource,
    SyncJournal,
)

DETAIL_RESTORED = "restored_after_delete"
DETAIL_COLLISION_SUFFIX = "created_with_collision_suffix"
DETAIL_HELD_BY_DELETED = "name_held_by_deleted_customer"
DETAIL_INACTIVE_HOLDER = "inactive_customer_holds_display_name"
DETAIL_ACTIVE_HOLDER = "unmatched_active_customer_holds_display_name"
DETAIL_NOTHING_TO_DEACTIVATE = "qbo_customer_already_gone"
DETAIL_REACTIVATED = "reactivated_in_qbo"
DETAIL_OVERWROTE_QBO_EDIT = "overwrote_qbo_edit"


def _update_detail(*, restored: bool, reactivated: bool, overwritten: tuple[str, ...]) -> str | None:
    """ "restored_after_delete", "reactivated_in_qbo" and "overwrote_qbo_edit: F1, F2", as they apply."""
    parts = [DETAIL_RESTORED] if restored else []
    if reactivated:
        parts.append(DETAIL_REACTIVATED)
    if overwritten:
        parts.append(f"{DETAIL_OVERWROTE_QBO_EDIT}: {', '.join(overwritten)}")
    return "; ".join(parts) or None


# Outcomes after which the merchant's "last successful sync" moves forward.
_SUCCESSFUL: frozenset[SyncAction] = frozenset(
    {"created", "updated", "linked", "unchanged", "deleted", "deactivated"}
)


class SyncService:
    def __init__(
        self,
        *,
        configs: SyncConfigSource,
        links: LinksRepository,
        history: HistoryRepository,
        failures: FailuresRepository,
        journal: SyncJournal,
        clients: MerchantClients,
        variants: NameVariantsRepository,
        clock: Clock,
    ) -> None:
        self._configs = configs
        self._variants = variants
        self._links = links
        self._history = history
        self._failures = failures
        self._journal = journal
        self._clients = clients
        self._clock = clock

    def start_batch(
        self,
        messages: Sequence[CustomerChangeMessage],
        *,
        working_on: Callable[[CustomerChangeMessage], AbstractContextManager[object]] | None = None,
    ) -> ChangeBatch:
        """The state a batch's changes share; pass it to `process` with each of them, in order.
        `working_on(change)` wraps work done for a change ahead of its turn (see domain.sync.batch)."""
        return ChangeBatch(
            messages, journal=self._journal, configs=self._configs, links=self._links, working_on=working_on
        )

    def process(
        self, message: CustomerChangeMessage, batch: ChangeBatch | None = None, *, delivery: int = 1
    ) -> SyncOutcome:
        """Sync one change (of `batch`, or alone). Returns the outcome (parked failures included; a
        redelivered change that was done already gets its first outcome back, marked `duplicate`); raises on
        transient failures so the message is delivered again. `delivery` counts SQS's deliveries of it."""
        batch = batch or self.start_batch([message])
        run = SyncRun(message, self._clock.now(), self._clients)
        try:
            self._check_qbo_budget(run)
            done = batch.outcome_of(message)
            if done is not None:
                return done.model_copy(update={"duplicate": True})
            result = self._sync(run, batch)
        except Exception as error:
            failure = permanent_failure(error)
            if failure is None:
                batch.links.forget(run.merchant_id, run.customer_id)
                self._note_retry(run, error, delivery)
                raise
            return self._park(run, failure, batch)
        return self._finish(run, result, batch)

    # -- gate, fetch, dispatch ---------------------------------------------------------------------------

    def _check_qbo_budget(self, run: SyncRun) -> None:
        """A company whose QBO budget is known to be used up (for longer than the client may wait for its
        turn, or while another invocation waits for it) is not worked on at all (no I/O here)."""
        try:
            qbo = run.qbo()
        except QboConnectionBroken:
            return  # not connected: the change may need no QBO at all; a step that does will say so
        qbo.check_budget()

    def _gate(self, run: SyncRun, settings: MerchantSettings, link: CustomerLink | None) -> StepResult | None:
        """Why this change is not synced at all, or None."""
        if not settings.sync_enabled:
            return StepResult("skipped", detail=outcomes.SKIP_SYNC_DISABLED)
        if not settings.was_enabled_at(run.occurred_at):
            return StepResult("skipped", detail=outcomes.SKIP_BEFORE_SYNC_ENABLED)
        if link is not None and link.status == "merged":
            # Recorded, never silently dropped: the history says where it went (an unmerge brings it back).
            return StepResult("skipped", link=link, detail=f"{outcomes.SKIP_MERGED} {link.merged_into}")
        if link is not None and link.last_event_at is not None and run.occurred_at < link.last_event_at:
            return StepResult("skipped", link=link, detail=outcomes.SKIP_SUPERSEDED)
        return None

    def _sync(self, run: SyncRun, batch: ChangeBatch) -> StepResult:
        config = batch.config(run.merchant_id)
        run.works_in(config.realm_id)
        settings = config.settings
        link = batch.links.get(run.merchant_id, run.customer_id)
        gated = self._gate(run, settings, link)
        if gated is not None:
            return gated

        source = batch.take_source(run.message) if batch.has_source(run.message) else self._fetch(run, batch)
        if source is None:
            return self._deleted(run, batch, link, settings)
        run.truncations = source.truncations

        if link is None:
            return self._match(run, batch, None, source, settings)
        if link.status == "linked":
            return self._update_linked(run, batch, link, source, settings)
        if link.status == "source_deleted" and link.qbo_customer_id:
            return self._update_linked(run, batch, link, source, settings, restored=True)
        if _needs_create(link):
            run.name_claim = claim_name(link.first_name, link.last_name)
            return self._create(run, batch, link, source, settings)
        if _held_for_admin(link):
            return self._hold_for_admin(run, batch, link, source)
        return self._match(run, batch, link, source, settings)

    def _fetch(self, run: SyncRun, batch: ChangeBatch) -> SyncSource | None:
        """The current PaySimple record, scrubbed and mapped (None: deleted in PaySimple)."""
        fetched = self._clients.paysimple(run.merchant_id).get_customer(run.customer_id)
        if fetched is None:
            return None
        mappings = batch.config(run.merchant_id).mappings
        return SyncSource.build(fetched, mapping_in_effect(mappings, run.occurred_at))

    # -- linked ------------------------------------------------------------------------------------------

    def _update_linked(
        self,
        run: SyncRun,
        batch: ChangeBatch,
        link: CustomerLink,
        source: SyncSource,
        settings: MerchantSettings,
        *,
        restored: bool = False,
    ) -> StepResult:
        qbo_id = link.qbo_customer_id
        assert qbo_id is not None
        if link.qbo_flag == "deleted":
            return self._qbo_customer_missing(run, link, source)
        reactivate = restored and link.snapshot.get(ACTIVE) is False
        inactive_in_qbo = link.qbo_flag == "inactive"
        overwritten: tuple[str, ...] = ()
        kept_drift = list(link.drift)
        if link.qbo_sync_token is None:
            # Linked by the admin or by a merge: we never wrote to it, so look at what it holds first.
            try:
                current = run.qbo().read_customer(qbo_id)
            except QboNotFound:
                return self._qbo_customer_missing(run, link, source)
            token = current.SyncToken
            changes = first_write_changes(current.raw, source.payload)
            inactive_in_qbo = inactive_in_qbo or (not current.Active and not reactivate)
            reactivate = reactivate and not current.Active
            kept_drift = []
        else:
            token = link.qbo_sync_token
            over = changes_over_drift(link.snapshot, link.drift, source.payload)
            changes, overwritten, kept_drift = over.changes, over.overwritten, list(over.kept)
        if inactive_in_qbo:
            if settings.on_qbo_inactive == "hold":
                raise HeldForInactiveQboCustomer(qbo_id)
            reactivate = True
        if reactivate:
            changes[ACTIVE] = FieldChange(before=False, after=True)

        action: SyncAction = "linked" if restored else "updated"
        detail = _update_detail(restored=restored, reactivated=inactive_in_qbo, overwritten=overwritten)
        if not changes:
            unchanged = link.revised(
                status="linked", qbo_sync_token=token, drift=kept_drift, **source.identity()
            )
            store = None
            if unchanged != link:
                drift_resolved = len(kept_drift) != len(link.drift)
                snapshot = source.payload if link.qbo_sync_token is None or drift_resolved else link.snapshot
                store = LinkWrite(unchanged.revised(snapshot=snapshot, updated_at=run.now), link.version)
            return StepResult(
                action if restored else "unchanged",
                link=link,
                qbo_customer_id=qbo_id,
                reason=link.reason,
                detail=detail,
                store=store,
            )
        try:
            written, changes = self._write(run, batch, qbo_id, token, changes, source.payload)
        except QboNotFound:
            return self._qbo_customer_missing(run, link, source)
        snapshot = {**source.payload, **({ACTIVE: True} if ACTIVE in changes else {})}
        updated = link.revised(
            status="linked",
            qbo_sync_token=written.SyncToken,
            snapshot=snapshot,
            drift=kept_drift,
            qbo_flag=None if reactivate else link.qbo_flag,
            qbo_updated_at=last_updated(written),
            last_synced_at=run.now,
            last_event_at=run.occurred_at,
            updated_at=run.now,
            **source.identity(),
        )
        return StepResult(
            action,
            link=updated,
            qbo_customer_id=qbo_id,
            reason=updated.reason,
            detail=detail,
            changes=changes,
            store=LinkWrite(updated, link.version),
        )

    def _write(
        self,
        run: SyncRun,
        batch: ChangeBatch,
        qbo_id: str,
        sync_token: str,
        changes: Mapping[str, FieldChange],
        payload: Mapping[str, Any],
    ) -> tuple[QboCustomer, dict[str, FieldChange]]:
        """One sparse update of `changes`; on 5010 one fresh read, a re-diff of the same fields, one retry.
        Returns the customer as QBO now holds it and the changes actually made."""
        qbo = run.qbo()
        fields = {field: change.after for field, change in changes.items()}
        try:
            written = qbo.sparse_update(qbo_id, sync_token, fields)
            self._keep_candidate(run, batch, written)
            return written, dict(changes)
        except QboStaleObject:
            fresh = qbo.read_customer(qbo_id)
        # Only the fields we meant to change: QBO holds values in others that are not ours to clear.
        meant = {field: payload[field] for field in changes if field in payload}
        still = changed_fields_from_qbo(fresh.raw, meant)
        if ACTIVE in changes and fresh.Active != changes[ACTIVE].after:
            still[ACTIVE] = FieldChange(before=fresh.Active, after=changes[ACTIVE].after)
        if not still:
            return fresh, {}
        retry_fields = {field: change.after for field, change in still.items()}
        # A second 5010 propagates: transient, SQS delivers the message again.
        written = qbo.sparse_update(qbo_id, fresh.SyncToken, retry_fields)
        self._keep_candidate(run, batch, written)
        return written, still

    def _qbo_customer_missing(self, run: SyncRun, link: CustomerLink, source: SyncSource) -> StepResult:
        """The linked QBO customer was merged away or deleted (610): back to the unlinked list."""
        reason = outcomes.REASON_QBO_CUSTOMER_MISSING
        store = self._unlinked(run, link, source, reason=reason, candidates=[])
        return StepResult(
            "unlinked",
            link=store.link if store else link,
            qbo_customer_id=link.qbo_customer_id,
            reason=reason,
            detail=reason,
            store=store,
        )

    # -- not linked: match -------------------------------------------------------------------------------

    def _match(
        self,
        run: SyncRun,
        batch: ChangeBatch,
        link: CustomerLink | None,
        source: SyncSource,
        settings: MerchantSettings,
    ) -> StepResult:
        customer = source.customer
        found = self._candidate_pool(run, batch, source).candidates_for(customer)
        raw_by_id = {str(raw["Id"]): raw for raw in found}
        candidates = [QboCandidate.from_qbo(raw) for raw in found]
        owners = self._links.qbo_link_owners(run.merchant_id, raw_by_id) if raw_by_id else {}
        taken = {qbo_id for qbo_id, owner in owners.items() if owner != run.customer_id}

        def email_shared(email: str) -> bool:
            others = self._links.other_customers_with_email(
                run.merchant_id, email, excluding_paysimple_customer_id=run.customer_id
            )
            return bool(others)

        decision = decide_match(
            customer, candidates, linked_qbo_ids=taken, email_shared_with_other_customer=email_shared
        )
        if isinstance(decision, LinkTo):
            return self._link_existing(run, batch, link, source, raw_by_id[decision.qbo_id], decision.reason)
        if isinstance(decision, Ambiguous):
            chosen = [c for c in candidates if c.id in decision.candidate_ids]
            detail: str = decision.detail
            if decision.reason == REASON_ALREADY_LINKED and self._held_by_deleted(run, batch, chosen, owners):
                detail = DETAIL_HELD_BY_DELETED
            store = self._unlinked(run, link, source, reason=decision.reason, candidates=for_admin(chosen))
            return StepResult(
                "unlinked",
                link=store.link if store else link,
                reason=decision.reason,
                detail=detail,
                store=store,
            )
        intent = self._save_intent(run, batch, link, source)
        return self._create(run, batch, intent, source, settings)

    def _candidate_pool(self, run: SyncRun, batch: ChangeBatch, source: SyncSource) -> CandidatePool:
        """The batch's QBO candidates for this merchant: one name query for this change's customer and the
        batch's later new customers of the merchant, with the company's name variants of those names
        (domain.sync.name_lookup), made the first time one is needed. New customers that lookup shows to
        match nobody get their create intent right away."""
        pool = batch.candidate_pool(run.merchant_id)
        if pool is not None:
            return pool
        ahead = self._new_customers_ahead(run, batch)
        qbo = run.qbo()
        customers = [source.customer, *(later.customer for _, later in ahead)]
        variants = batch.config(run.merchant_id).name_variants
        if variants is None or variants.realm_id != qbo.realm_id:
            # A company just connected (or reconnected to another): its variants are built now, once.
            merchants = [run.merchant_id]
            variants = build_name_variants(qbo, self._variants, merchants, qbo.realm_id, now=run.now).kept
        looked_up_at = self._clock.now()
        pool = look_up_names(qbo, customers, variants)
        batch.keep_candidate_pool(run.merchant_id, pool, looked_up_at=looked_up_at)
        self._save_intents_ahead(run, batch, source, ahead, pool)
        return pool

    def _new_customers_ahead(self, run: SyncRun, batch: ChangeBatch) -> list[tuple[SyncRun, SyncSource]]:
        """The batch's later changes of this merchant that will need a name match when their turn comes,
        with their PaySimple records (fetched now and kept for their turn). A record PaySimple cannot give
        now is left out: its change fetches again at its turn and fails or goes on from there."""
        seen = {run.customer_id}
        ahead: list[tuple[SyncRun, SyncSource]] = []
        config = batch.config(run.merchant_id)
        settings = config.settings
        for message in batch.later_changes_of_merchant(run.message):
            if message.customer_id in seen or batch.outcome_of(message) is not None:
                continue
            seen.add(message.customer_id)
            later = SyncRun(message, run.now, self._clients)
            later.works_in(config.realm_id)
            link = batch.links.get(later.merchant_id, later.customer_id)
            if self._gate(later, settings, link) is not None or not _needs_match(link):
                continue
            try:
                with batch.working_on(message):
                    source = self._fetch(later, batch)
            except PaySimpleError:
                continue
            batch.keep_source(message, source)
            if source is not None:
                ahead.append((later, source))
        return ahead

    def _save_intents_ahead(
        self,
        run: SyncRun,
        batch: ChangeBatch,
        source: SyncSource,
        ahead: list[tuple[SyncRun, SyncSource]],
        pool: CandidatePool,
    ) -> None:
        """The create intent of each later new customer that matches nobody in QBO, unless another customer
        of the batch shares its name: that one may create the name first, and the later one then has to be
        matched against it at its own turn."""
        names = [_name_of(source), *(_name_of(later) for _, later in ahead)]
        for later, later_source in ahead:
            if names.count(_name_of(later_source)) > 1 or pool.candidates_for(later_source.customer):
                continue
            link = batch.links.get(later.merchant_id, later.customer_id)
            # A conflict only means the change finds its record changed at its turn, and goes on from there.
            with contextlib.suppress(ConcurrentModification):
                self._save_intent(later, batch, link, later_source)

    def _save_intent(
        self, run: SyncRun, batch: ChangeBatch, link: CustomerLink | None, source: SyncSource
    ) -> CustomerLink:
        """The customer's record says a create is under way (crash safety, see the module docstring), and
        the customer holds the claim on its name (one decision per name, see the module docstring)."""
        intent = self._unlinked(run, link, source, reason=outcomes.REASON_CREATING, candidates=[])
        if intent is None:
            assert link is not None
            return link
        looked_up_at = batch.looked_up_at(run.merchant_id)
        assert looked_up_at is not None, "a create is decided after the name lookup"
        name = claim_name(intent.link.first_name, intent.link.last_name)
        claim = NameClaim(
            merchant_id=run.merchant_id,
            name=name,
            paysimple_customer_id=run.customer_id,
            claimed_at=self._clock.now(),
            looked_up_at=looked_up_at,
        )
        saved = batch.links.save_create_intent(
            intent.link, expected_version=intent.expected_version, claim=claim
        )
        run.name_claim = name
        return saved

    def _held_by_deleted(
        self,
        run: SyncRun,
        batch: ChangeBatch,
        candidates: list[QboCandidate],
        owners: Mapping[str, str],
    ) -> bool:
        for candidate in candidates:
            owner = owners.get(candidate.id)
            held = batch.links.get(run.merchant_id, owner) if owner else None
            if held is not None and held.status == "source_deleted":
                return True
        return False

    def _link_existing(
        self,
        run: SyncRun,
        batch: ChangeBatch,
        link: CustomerLink | None,
        source: SyncSource,
        qbo_customer: Mapping[str, Any],
        reason: str,
    ) -> StepResult:
        target = QboCustomer.model_validate(qbo_customer)
        changes = first_write_changes(qbo_customer, source.payload)
        linked = self._record(
            run,
            link,
            source,
            status="linked",
            qbo_customer_id=target.Id,
            qbo_sync_token=target.SyncToken,
            qbo_updated_at=last_updated(target),
            snapshot=dict(source.payload),
            reason=reason,
            candidates=[],
            last_synced_at=run.now,
            last_event_at=run.occurred_at,
        )
        expected_version = link.version if link is not None else 0
        # Never the QBO customer another customer of this name is creating (its link is not written yet).
        name_check = NameClaim(
            merchant_id=run.merchant_id,
            name=claim_name(linked.first_name, linked.last_name),
            paysimple_customer_id=run.customer_id,
            claimed_at=self._clock.now(),
            looked_up_at=batch.looked_up_at(run.merchant_id) or run.now,
        )
        if not changes:
            return StepResult(
                "linked",
                link=linked,
                qbo_customer_id=target.Id,
                reason=reason,
                store=LinkWrite(linked, expected_version, name_check=name_check),
            )
        # Claim the QBO customer before writing to it: if someone else got it first, we write nothing.
        claimed = batch.links.save_linked(
            linked.revised(snapshot={}, last_synced_at=None),
            expected_version=expected_version,
            name_check=name_check,
        )
        written, changes = self._write(run, batch, target.Id, target.SyncToken, changes, source.payload)
        done = claimed.revised(
            qbo_sync_token=written.SyncToken,
            snapshot=dict(source.payload),
            last_synced_at=run.now,
            qbo_updated_at=last_updated(written),
        )
        return StepResult(
            "linked",
            link=done,
            qbo_customer_id=target.Id,
            reason=reason,
            changes=changes,
            store=LinkWrite(done, claimed.version),
        )

    # -- not linked: create ------------------------------------------------------------------------------

    def _create(
        self,
        run: SyncRun,
        batch: ChangeBatch,
        intent: CustomerLink,
        source: SyncSource,
        settings: MerchantSettings,
    ) -> StepResult:
        body: dict[str, Any] = {
            **without_empty_values(source.payload),
            "DisplayName": display_name_for(source.customer),
        }
        try:
            created = self._create_once(run, batch, intent, body, "display_name")
        except QboDuplicateName:
            return self._resolve_name_collision(run, batch, intent, source, settings, body)
        return self._link_created(run, batch, intent, source, created, body)

    def _create_once(
        self,
        run: SyncRun,
        batch: ChangeBatch,
        intent: CustomerLink,
        body: Mapping[str, Any],
        variant: CreateVariant,
    ) -> QboCustomer:
        request_id = create_request_id(run.merchant_id, run.customer_id, intent.version, variant)
        try:
            created = run.qbo().create_customer(body, request_id=request_id)
        except QboDuplicateName:
            raise
        except QboError as error:
            # QBO replays a failed requestid too: release the intent so the next save starts afresh. A
            # broken connection never reached QBO, so a redrive may resume the same create.
            if error.permanent and not isinstance(error, QboConnectionBroken | QboAuthorizationFailed):
                batch.links.save_unlinked(
                    intent.revised(reason=outcomes.REASON_CREATE_REJECTED, updated_at=run.now),
                    expected_version=intent.version,
                )
            raise
        self._keep_candidate(run, batch, created)
        return created

    def _resolve_name_collision(
        self,
        run: SyncRun,
        batch: ChangeBatch,
        intent: CustomerLink,
        source: SyncSource,
        settings: MerchantSettings,
        body: Mapping[str, Any],
    ) -> StepResult:
        """6240 on create: see domain.name_collision."""
        display_name = str(body["DisplayName"])
        response = run.qbo().query(build_display_name_query(display_name))
        holders = customers_holding(display_name, response.get("Customer", []))
        owners = self._links.qbo_link_owners(run.merchant_id, [h.id for h in holders]) if holders else {}
        decision = decide_collision(holders, claimed_ids=owners)
        if isinstance(decision, FlagInactiveHolder | FlagUnmatchedHolder):
            inactive = isinstance(decision, FlagInactiveHolder)
            reason = REASON_INACTIVE_NAME_HOLDER if inactive else outcomes.REASON_DISPLAY_NAME_TAKEN
            candidates = for_admin(decision.holders)
            store = self._unlinked(run, intent, source, reason=reason, candidates=candidates)
            detail = DETAIL_INACTIVE_HOLDER if inactive else DETAIL_ACTIVE_HOLDER
            return StepResult(
                "unlinked", link=store.link if store else intent, reason=reason, detail=detail, store=store
            )

        suffixed = {**body, "DisplayName": collision_display_name(source.customer, settings.collision_suffix)}
        try:
            created = self._create_once(run, batch, intent, suffixed, "collision_suffix")
        except QboDuplicateName:
            collided = self._unlinked(run, intent, source, reason=REASON_NAME_COLLISION, candidates=[])
            if collided is not None:
                batch.links.save_unlinked(collided.link, expected_version=collided.expected_version)
            raise
        return self._link_created(
            run, batch, intent, source, created, suffixed, detail=DETAIL_COLLISION_SUFFIX
        )

    def _link_created(
        self,
        run: SyncRun,
        batch: ChangeBatch,
        intent: CustomerLink,
        source: SyncSource,
        created: QboCustomer,
        body: Mapping[str, Any],
        *,
        detail: str | None = None,
    ) -> StepResult:
        # A repeated requestid returns the original customer, possibly made from an older version of the
        # record: the snapshot is what QBO holds, so the diff below brings it up to date (normally nothing).
        snapshot = in_payload_shape(created.raw, source.payload)
        linked = intent.revised(
            status="linked",
            qbo_customer_id=created.Id,
            qbo_sync_token=created.SyncToken,
            qbo_updated_at=last_updated(created),
            snapshot=snapshot,
            reason=REASON_CREATED,
            candidates=[],
            last_synced_at=run.now,
            last_event_at=run.occurred_at,
            updated_at=run.now,
            **source.identity(),
        )
        changes = {field: FieldChange(before=None, after=value) for field, value in body.items()}
        behind = diff_payload(snapshot, source.payload)
        if behind:
            # Crash safety holds without storing the link first: a redelivery repeats the create (same
            # requestid, same customer) and this catch-up update, which then meets at worst a 5010.
            written, made = self._write(run, batch, created.Id, created.SyncToken, behind, source.payload)
            linked = linked.revised(
                qbo_sync_token=written.SyncToken,
                snapshot=dict(source.payload),
                qbo_updated_at=last_updated(written),
            )
            changes.update(made)
        return StepResult(
            "created",
            link=linked,
            qbo_customer_id=created.Id,
            reason=REASON_CREATED,
            detail=detail,
            changes=changes,
            store=LinkWrite(linked, intent.version),
        )

    def _keep_candidate(self, run: SyncRun, batch: ChangeBatch, written: QboCustomer) -> None:
        """The batch's name lookup sees the customers the batch itself creates and changes."""
        pool = batch.candidate_pool(run.merchant_id)
        if pool is not None:
            pool.remember(written.raw)

    # -- held, deleted -----------------------------------------------------------------------------------

    def _hold_for_admin(
        self, run: SyncRun, batch: ChangeBatch, link: CustomerLink, source: SyncSource
    ) -> StepResult:
        """Unlinked by the admin: not matched again automatically; only its name and email are kept fresh
        (and a customer deleted and back in PaySimple returns to the unlinked list)."""
        store = self._unlinked(run, link, source, reason=link.reason, candidates=list(link.candidates))
        return StepResult(
            "unlinked",
            link=store.link if store else link,
            reason=link.reason,
            detail=outcomes.SKIP_ADMIN_UNLINKED,
            store=store,
        )

    def _deleted(
        self, run: SyncRun, batch: ChangeBatch, link: CustomerLink | None, settings: MerchantSettings
    ) -> StepResult:
        if link is None:
            return StepResult("skipped", detail=outcomes.SKIP_UNKNOWN_DELETED)
        if link.status == "source_deleted":
            return StepResult(
                "skipped",
                link=link,
                qbo_customer_id=link.qbo_customer_id,
                detail=outcomes.SKIP_ALREADY_DELETED,
            )
        action: SyncAction = "deleted"
        detail: str | None = None
        changes: dict[str, FieldChange] = {}
        qbo_id = link.qbo_customer_id
        current = link
        wants_deactivation = settings.deactivate_on_delete and link.snapshot.get(ACTIVE) is not False
        if link.status == "linked" and qbo_id is not None and wants_deactivation:
            try:
                current, changes = self._deactivate(run, batch, link, qbo_id)
                action = "deactivated"
            except QboNotFound:
                detail = DETAIL_NOTHING_TO_DEACTIVATE
        deleted = current.deleted_at_source(event_at=run.occurred_at, now=run.now)
        return StepResult(
            action,
            link=deleted,
            qbo_customer_id=qbo_id,
            reason=link.reason,
            detail=detail,
            changes=changes,
            store=LinkWrite(deleted, link.version),
        )

    def _deactivate(
        self, run: SyncRun, batch: ChangeBatch, link: CustomerLink, qbo_id: str
    ) -> tuple[CustomerLink, dict[str, FieldChange]]:
        token = link.qbo_sync_token or run.qbo().read_customer(qbo_id).SyncToken
        wanted = {ACTIVE: FieldChange(before=True, after=False)}
        written, made = self._write(run, batch, qbo_id, token, wanted, {})
        # The snapshot remembers the deactivation, so a restore makes the customer active again.
        deactivated = link.revised(
            qbo_sync_token=written.SyncToken,
            snapshot={**link.snapshot, ACTIVE: False},
            qbo_updated_at=last_updated(written),
            last_synced_at=run.now,
            updated_at=run.now,
        )
        return deactivated, made

    # -- records -----------------------------------------------------------------------------------------

    def _record(
        self, run: SyncRun, link: CustomerLink | None, source: SyncSource, **fields: Any
    ) -> CustomerLink:
        """`link` revised with `fields` and the fresh identity, or a new record for this customer."""
        values = {**source.identity(), **fields, "updated_at": run.now}
        if link is not None:
            return link.revised(**values)
        return CustomerLink(merchant_id=run.merchant_id, paysimple_customer_id=run.customer_id, **values)

    def _unlinked(
        self,
        run: SyncRun,
        link: CustomerLink | None,
        source: SyncSource,
        *,
        reason: str | None,
        candidates: list[LinkCandidate],
    ) -> LinkWrite | None:
        """The write that puts the customer on the unlinked list; None when the record says so already."""
        record = self._record(
            run,
            link,
            source,
            status="unlinked",
            reason=reason,
            candidates=candidates,
            qbo_customer_id=None,
            qbo_sync_token=None,
            snapshot={},
        )
        if link is not None and record.revised(updated_at=link.updated_at) == link:
            return None  # nothing new to store
        return LinkWrite(record, link.version if link is not None else 0)

    def _finish(self, run: SyncRun, result: StepResult, batch: ChangeBatch) -> SyncOutcome:
        changes = scrub_changes(result.changes or {})
        outcome = SyncOutcome(
            action=result.action,
            merchant_id=run.merchant_id,
            paysimple_customer_id=run.customer_id,
            event_id=run.message.event_id,
            qbo_customer_id=result.qbo_customer_id,
            qbo_calls=run.qbo_calls,
            reason=result.reason,
            detail=result.detail,
            changed_fields=tuple(changes),
        )
        completion = Completion(
            message=run.message,
            outcome=outcome,
            history=history_entry(
                run,
                result.action,
                qbo_customer_id=result.qbo_customer_id,
                changes=changes,
                detail=result.detail,
            ),
            link=result.store,
            successful_sync_at=run.now if result.action in _SUCCESSFUL else None,
            resolves_parked_failure=bool(run.message.redrive_attempt),
            releases_name=self._name_claim_release(run, result.store.link if result.store else result.link),
        )
        if (
            run.message.redrive_attempt
            and result.action == "skipped"
            and result.detail in outcomes.SKIPS_NOT_APPLIED
        ):
            # A redriven change that is still not applied stays parked, with this outcome as its reason.
            message = run.message
            earlier = self._failures.get_failure(message.merchant_id, message.customer_id, message.event_id)
            parked = parked_failure(run, reason=result.detail, code=result.action, earlier=earlier)
            completion = dataclasses.replace(completion, parked=parked, resolves_parked_failure=False)
        self._complete(run, batch, completion)
        return outcome

    def _park(self, run: SyncRun, failure: PermanentFailure, batch: ChangeBatch) -> SyncOutcome:
        message = run.message
        earlier = self._failures.get_failure(message.merchant_id, message.customer_id, message.event_id)
        outcome = SyncOutcome(
            action="parked",
            merchant_id=message.merchant_id,
            paysimple_customer_id=message.customer_id,
            event_id=message.event_id,
            qbo_calls=run.qbo_calls,
            reason=failure.reason,
            detail=failure.code,
        )
        completion = Completion(
            message=message,
            outcome=outcome,
            history=history_entry(run, "parked", detail=failure.reason, error=failure.description),
            parked=parked_failure(run, reason=failure.reason, code=failure.code, earlier=earlier),
            releases_name=self._name_claim_release(
                run, batch.links.get(message.merchant_id, message.customer_id)
            ),
        )
        self._complete(run, batch, completion)
        return outcome

    def _name_claim_release(self, run: SyncRun, final: CustomerLink | None) -> NameClaimRelease | None:
        """The end of the run's name claim, unless the customer's create is still under way (its intent
        is kept: a broken connection, a crash)."""
        if run.name_claim is None or (final is not None and _needs_create(final)):
            return None
        return NameClaimRelease(
            merchant_id=run.merchant_id, name=run.name_claim, released_at=self._clock.now()
        )

    def _complete(self, run: SyncRun, batch: ChangeBatch, completion: Completion) -> None:
        try:
            stored = self._journal.complete(completion)
        except (ConcurrentModification, QboCustomerAlreadyLinked):
            batch.links.forget(run.merchant_id, run.customer_id)
            raise
        if stored is not None:
            batch.links.stored(stored)

    def _note_retry(self, run: SyncRun, error: Exception, delivery: int) -> None:
        """Best effort: the history shows that (and why) the change is waiting for another delivery, once
        per change: a long outage redelivers a change many times. A change that waits for its company's QBO
        budget is not failing, and is not noted."""
        if delivery > 1 or isinstance(error, QboBudgetExhausted):
            return
        # The original error is what matters (it propagates next), not a failure to note it.
        with contextlib.suppress(Exception):
            self._history.append(history_entry(run, "retried", error=describe(error)))


def _needs_create(link: CustomerLink) -> bool:
    """The record holds a create intent (a create was decided, and maybe made: the requestid replays it)."""
    return link.status == "unlinked" and link.reason == outcomes.REASON_CREATING


def _held_for_admin(link: CustomerLink) -> bool:
    return link.reason == REASON_UNLINKED_BY_ADMIN and link.qbo_customer_id is None


def _needs_match(link: CustomerLink | None) -> bool:
    """Whether a change of a customer with this record is matched by name (the dispatch of `_sync`)."""
    if link is None:
        return True
    if link.status in ("linked", "merged") or (link.status == "source_deleted" and link.qbo_customer_id):
        return False
    return not _needs_create(link) and not _held_for_admin(link)


def _name_of(source: SyncSource) -> tuple[str, str]:
    return name_key(source.customer.FirstName), name_key(source.customer.LastName)


def claim_name(first_name: str, last_name: str) -> str:
    """The name a create claims: first and last name normalised as matching compares them."""
    return f"{name_key(first_name)}\x1f{name_key(last_name)}"
