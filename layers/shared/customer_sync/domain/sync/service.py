"""The sync of one queued PaySimple change into QuickBooks Online (DESIGN.md "Sync" and "Matching").

`SyncService.process(message)` runs these steps and returns what happened (domain.sync.outcomes.SyncOutcome):

1. **Gate.** Sync off for the merchant, or the event happened before sync was (last) enabled: "skipped",
   nothing fetched, no QBO call. This is the no-retroactive rule: enabling sync never touches existing QBO
   customers; only saves made afterwards flow.
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
   - *Not linked*: query by name (1 call) and `matching.decide_match`:
     - one match: link (the QBO customer is claimed in our links table first, so a QBO customer is never
       linked twice) and update it with the fields that differ from what QBO holds — empty PaySimple values
       never clear QBO data we did not write;
     - ambiguous: the unlinked list, with candidates and reason;
     - none: create (2 calls: query + create), DisplayName "First Last" set on create only.
   - *Deleted*: the link is marked source_deleted (keeping its claim on the QBO customer); the QBO customer
     is deactivated only if the merchant's `deactivate_on_delete` says so.
5. **Record** a history entry: event, action, QBO fields before → after, truncations, QBO calls, error.

Creates are crash-safe. Before the first create call, an intent is stored: the customer's record becomes
unlinked with reason "creating". The create's `requestid` is derived from merchant, PaySimple id and the
intent record's version (domain.sync.request_ids), never from the attempt or the time. If the Lambda dies
after QBO answered but before the link was written, the redelivery finds the intent, repeats the create with
the same requestid, gets QBO's original answer, and links that customer: there is never a second customer.
A create QBO rejects for good releases the intent (reason "create_rejected"), so the next save starts with
a fresh requestid instead of having QBO replay the old failure.

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

Errors follow domain.sync.failure_policy: transient ones propagate (SQS delivers again), permanent ones are
parked with their reason and the message is acknowledged. Everything stored — link names and email,
snapshot, history before/after (values read back from QBO included), candidates, failure texts — is
scrubbed of card and bank numbers first. This module logs nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from customer_sync.domain.diff import changed_fields_from_qbo, diff_payload
from customer_sync.domain.drift import changes_over_drift
from customer_sync.domain.mapping import without_empty_values
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
from customer_sync.domain.qbo_query import build_display_name_query, candidate_conditions
from customer_sync.domain.qbo_values import for_admin, in_payload_shape, scrub_changes
from customer_sync.domain.sync import outcomes
from customer_sync.domain.sync.failure_policy import PermanentFailure, describe, permanent_failure
from customer_sync.domain.sync.outcomes import SyncAction, SyncOutcome
from customer_sync.domain.sync.records import history_entry, parked_failure
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
    HeldForInactiveQboCustomer,
    QboAuthorizationFailed,
    QboConnectionBroken,
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
)
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.models.qbo import QboCustomer
from customer_sync.models.settings import MerchantSettings
from customer_sync.ports import (
    Clock,
    FailuresRepository,
    HistoryRepository,
    LinksRepository,
    MappingRepository,
    MerchantClients,
    SettingsRepository,
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
        settings: SettingsRepository,
        mappings: MappingRepository,
        links: LinksRepository,
        history: HistoryRepository,
        failures: FailuresRepository,
        clients: MerchantClients,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._mappings = mappings
        self._links = links
        self._history = history
        self._failures = failures
        self._clients = clients
        self._clock = clock

    def process(self, message: CustomerChangeMessage) -> SyncOutcome:
        """Sync one change. Returns the outcome (parked failures included); raises on transient failures so
        the message is delivered again."""
        run = SyncRun(message, self._clock.now(), self._clients)
        try:
            result = self._sync(run)
        except Exception as error:
            failure = permanent_failure(error)
            if failure is None:
                self._note_retry(run, error)
                raise
            return self._park(run, failure)
        return self._finish(run, result)

    # -- gate, fetch, dispatch ---------------------------------------------------------------------------

    def _sync(self, run: SyncRun) -> StepResult:
        settings = self._settings.get_settings(run.merchant_id)
        if not settings.sync_enabled:
            return StepResult("skipped", detail=outcomes.SKIP_SYNC_DISABLED)
        if settings.enabled_at is None or run.occurred_at < settings.enabled_at:
            return StepResult("skipped", detail=outcomes.SKIP_BEFORE_SYNC_ENABLED)
        link = self._links.get(run.merchant_id, run.customer_id)
        if link is not None and link.status == "merged":
            # Recorded, never silently dropped: the history says where it went (an unmerge brings it back).
            return StepResult("skipped", link=link, detail=f"{outcomes.SKIP_MERGED} {link.merged_into}")
        if link is not None and link.last_event_at is not None and run.occurred_at < link.last_event_at:
            return StepResult("skipped", link=link, detail=outcomes.SKIP_SUPERSEDED)

        fetched = self._clients.paysimple(run.merchant_id).get_customer(run.customer_id)
        if fetched is None:
            return self._deleted(run, link, settings)
        source = SyncSource.build(
            fetched, self._mappings.mapping_in_effect_at(run.merchant_id, run.occurred_at)
        )
        run.truncations = source.truncations

        if link is None:
            return self._match(run, None, source, settings)
        if link.status == "linked":
            return self._update_linked(run, link, source, settings)
        if link.status == "source_deleted" and link.qbo_customer_id:
            return self._update_linked(run, link, source, settings, restored=True)
        if link.status == "unlinked" and link.reason == outcomes.REASON_CREATING:
            return self._create(run, link, source, settings)
        if link.reason == REASON_UNLINKED_BY_ADMIN and link.qbo_customer_id is None:
            return self._hold_for_admin(run, link, source)
        return self._match(run, link, source, settings)

    # -- linked ------------------------------------------------------------------------------------------

    def _update_linked(
        self,
        run: SyncRun,
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
            if unchanged != link:
                drift_resolved = len(kept_drift) != len(link.drift)
                snapshot = source.payload if link.qbo_sync_token is None or drift_resolved else link.snapshot
                link = self._links.save_linked(
                    unchanged.revised(snapshot=snapshot, updated_at=run.now), expected_version=link.version
                )
            return StepResult(
                action if restored else "unchanged",
                link=link,
                qbo_customer_id=qbo_id,
                reason=link.reason,
                detail=detail,
            )
        try:
            written, changes = self._write(run, qbo_id, token, changes, source.payload)
        except QboNotFound:
            return self._qbo_customer_missing(run, link, source)
        snapshot = {**source.payload, **({ACTIVE: True} if ACTIVE in changes else {})}
        saved = self._links.save_linked(
            link.revised(
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
            ),
            expected_version=link.version,
        )
        return StepResult(
            action, link=saved, qbo_customer_id=qbo_id, reason=saved.reason, detail=detail, changes=changes
        )

    def _write(
        self,
        run: SyncRun,
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
            return qbo.sparse_update(qbo_id, sync_token, fields), dict(changes)
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
        return qbo.sparse_update(qbo_id, fresh.SyncToken, retry_fields), still

    def _qbo_customer_missing(self, run: SyncRun, link: CustomerLink, source: SyncSource) -> StepResult:
        """The linked QBO customer was merged away or deleted (610): back to the unlinked list."""
        reason = outcomes.REASON_QBO_CUSTOMER_MISSING
        saved = self._save_unlinked(run, link, source, reason=reason, candidates=[])
        return StepResult(
            "unlinked", link=saved, qbo_customer_id=link.qbo_customer_id, reason=reason, detail=reason
        )

    # -- not linked: match -------------------------------------------------------------------------------

    def _match(
        self, run: SyncRun, link: CustomerLink | None, source: SyncSource, settings: MerchantSettings
    ) -> StepResult:
        customer = source.customer
        found = [
            candidate.raw
            for candidate in run.qbo().query_customers(
                candidate_conditions(customer.FirstName, customer.LastName)
            )
        ]
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
            return self._link_existing(run, link, source, raw_by_id[decision.qbo_id], decision.reason)
        if isinstance(decision, Ambiguous):
            chosen = [c for c in candidates if c.id in decision.candidate_ids]
            detail: str = decision.detail
            if decision.reason == REASON_ALREADY_LINKED and self._held_by_deleted(run, chosen, owners):
                detail = DETAIL_HELD_BY_DELETED
            saved = self._save_unlinked(
                run, link, source, reason=decision.reason, candidates=for_admin(chosen)
            )
            return StepResult("unlinked", link=saved, reason=decision.reason, detail=detail)
        intent = self._save_unlinked(run, link, source, reason=outcomes.REASON_CREATING, candidates=[])
        return self._create(run, intent, source, settings)

    def _held_by_deleted(
        self, run: SyncRun, candidates: list[QboCandidate], owners: Mapping[str, str]
    ) -> bool:
        for candidate in candidates:
            owner = owners.get(candidate.id)
            held = self._links.get(run.merchant_id, owner) if owner else None
            if held is not None and held.status == "source_deleted":
                return True
        return False

    def _link_existing(
        self,
        run: SyncRun,
        link: CustomerLink | None,
        source: SyncSource,
        qbo_customer: Mapping[str, Any],
        reason: str,
    ) -> StepResult:
        target = QboCustomer.model_validate(qbo_customer)
        changes = first_write_changes(qbo_customer, source.payload)
        # Claim the QBO customer before writing to it: if someone else got it first, we write nothing.
        claimed = self._links.save_linked(
            self._record(
                run,
                link,
                source,
                status="linked",
                qbo_customer_id=target.Id,
                qbo_sync_token=target.SyncToken,
                qbo_updated_at=last_updated(target),
                snapshot={} if changes else dict(source.payload),
                reason=reason,
                candidates=[],
                last_synced_at=None if changes else run.now,
                last_event_at=run.occurred_at,
            ),
            expected_version=link.version if link is not None else 0,
        )
        if not changes:
            return StepResult("linked", link=claimed, qbo_customer_id=target.Id, reason=reason)
        written, changes = self._write(run, target.Id, target.SyncToken, changes, source.payload)
        saved = self._links.save_linked(
            claimed.revised(
                qbo_sync_token=written.SyncToken,
                snapshot=dict(source.payload),
                last_synced_at=run.now,
                qbo_updated_at=last_updated(written),
            ),
            expected_version=claimed.version,
        )
        return StepResult("linked", link=saved, qbo_customer_id=target.Id, reason=reason, changes=changes)

    # -- not linked: create ------------------------------------------------------------------------------

    def _create(
        self, run: SyncRun, intent: CustomerLink, source: SyncSource, settings: MerchantSettings
    ) -> StepResult:
        body: dict[str, Any] = {
            **without_empty_values(source.payload),
            "DisplayName": display_name_for(source.customer),
        }
        try:
            created = self._create_once(run, intent, body, "display_name")
        except QboDuplicateName:
            return self._resolve_name_collision(run, intent, source, settings, body)
        return self._link_created(run, intent, source, created, body)

    def _create_once(
        self, run: SyncRun, intent: CustomerLink, body: Mapping[str, Any], variant: CreateVariant
    ) -> QboCustomer:
        request_id = create_request_id(run.merchant_id, run.customer_id, intent.version, variant)
        try:
            return run.qbo().create_customer(body, request_id=request_id)
        except QboDuplicateName:
            raise
        except QboError as error:
            # QBO replays a failed requestid too: release the intent so the next save starts afresh. A
            # broken connection never reached QBO, so a redrive may resume the same create.
            if error.permanent and not isinstance(error, QboConnectionBroken | QboAuthorizationFailed):
                self._links.save_unlinked(
                    intent.revised(reason=outcomes.REASON_CREATE_REJECTED, updated_at=run.now),
                    expected_version=intent.version,
                )
            raise

    def _resolve_name_collision(
        self,
        run: SyncRun,
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
            saved = self._save_unlinked(run, intent, source, reason=reason, candidates=candidates)
            detail = DETAIL_INACTIVE_HOLDER if inactive else DETAIL_ACTIVE_HOLDER
            return StepResult("unlinked", link=saved, reason=reason, detail=detail)

        suffixed = {**body, "DisplayName": collision_display_name(source.customer, settings.collision_suffix)}
        try:
            created = self._create_once(run, intent, suffixed, "collision_suffix")
        except QboDuplicateName:
            self._save_unlinked(run, intent, source, reason=REASON_NAME_COLLISION, candidates=[])
            raise
        return self._link_created(run, intent, source, created, suffixed, detail=DETAIL_COLLISION_SUFFIX)

    def _link_created(
        self,
        run: SyncRun,
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
        linked = self._links.save_linked(
            intent.revised(
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
            ),
            expected_version=intent.version,
        )
        changes = {field: FieldChange(before=None, after=value) for field, value in body.items()}
        behind = diff_payload(snapshot, source.payload)
        if behind:
            written, made = self._write(run, created.Id, created.SyncToken, behind, source.payload)
            linked = self._links.save_linked(
                linked.revised(
                    qbo_sync_token=written.SyncToken,
                    snapshot=dict(source.payload),
                    qbo_updated_at=last_updated(written),
                ),
                expected_version=linked.version,
            )
            changes.update(made)
        return StepResult(
            "created",
            link=linked,
            qbo_customer_id=created.Id,
            reason=REASON_CREATED,
            detail=detail,
            changes=changes,
        )

    # -- held, deleted -----------------------------------------------------------------------------------

    def _hold_for_admin(self, run: SyncRun, link: CustomerLink, source: SyncSource) -> StepResult:
        """Unlinked by the admin: not matched again automatically; only its name and email are kept fresh
        (and a customer deleted and back in PaySimple returns to the unlinked list)."""
        saved = self._save_unlinked(run, link, source, reason=link.reason, candidates=list(link.candidates))
        return StepResult("unlinked", link=saved, reason=link.reason, detail=outcomes.SKIP_ADMIN_UNLINKED)

    def _deleted(self, run: SyncRun, link: CustomerLink | None, settings: MerchantSettings) -> StepResult:
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
        wants_deactivation = settings.deactivate_on_delete and link.snapshot.get(ACTIVE) is not False
        if link.status == "linked" and qbo_id is not None and wants_deactivation:
            try:
                link, changes = self._deactivate(run, link, qbo_id)
                action = "deactivated"
            except QboNotFound:
                detail = DETAIL_NOTHING_TO_DEACTIVATE
        deleted = self._links.mark_source_deleted(
            run.merchant_id,
            run.customer_id,
            expected_version=link.version,
            event_at=run.occurred_at,
            now=run.now,
        )
        return StepResult(
            action, link=deleted, qbo_customer_id=qbo_id, reason=link.reason, detail=detail, changes=changes
        )

    def _deactivate(
        self, run: SyncRun, link: CustomerLink, qbo_id: str
    ) -> tuple[CustomerLink, dict[str, FieldChange]]:
        token = link.qbo_sync_token or run.qbo().read_customer(qbo_id).SyncToken
        wanted = {ACTIVE: FieldChange(before=True, after=False)}
        written, made = self._write(run, qbo_id, token, wanted, {})
        # The snapshot remembers the deactivation, so a restore makes the customer active again.
        saved = self._links.save_linked(
            link.revised(
                qbo_sync_token=written.SyncToken,
                snapshot={**link.snapshot, ACTIVE: False},
                qbo_updated_at=last_updated(written),
                last_synced_at=run.now,
                updated_at=run.now,
            ),
            expected_version=link.version,
        )
        return saved, made

    # -- records -----------------------------------------------------------------------------------------

    def _record(
        self, run: SyncRun, link: CustomerLink | None, source: SyncSource, **fields: Any
    ) -> CustomerLink:
        """`link` revised with `fields` and the fresh identity, or a new record for this customer."""
        values = {**source.identity(), **fields, "updated_at": run.now}
        if link is not None:
            return link.revised(**values)
        return CustomerLink(merchant_id=run.merchant_id, paysimple_customer_id=run.customer_id, **values)

    def _save_unlinked(
        self,
        run: SyncRun,
        link: CustomerLink | None,
        source: SyncSource,
        *,
        reason: str | None,
        candidates: list[LinkCandidate],
    ) -> CustomerLink:
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
            return link  # nothing new to store
        return self._links.save_unlinked(record, expected_version=link.version if link is not None else 0)

    def _finish(self, run: SyncRun, result: StepResult) -> SyncOutcome:
        changes = scrub_changes(result.changes or {})
        self._history.append(
            history_entry(
                run,
                result.action,
                qbo_customer_id=result.qbo_customer_id,
                changes=changes,
                detail=result.detail,
            )
        )
        if result.action in _SUCCESSFUL:
            self._settings.record_successful_sync(run.merchant_id, run.now)
        if run.message.redrive_attempt:
            self._failures.remove_failure(run.merchant_id, run.customer_id, run.message.event_id)
        return SyncOutcome(
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

    def _park(self, run: SyncRun, failure: PermanentFailure) -> SyncOutcome:
        message = run.message
        earlier = self._failures.get_failure(message.merchant_id, message.customer_id, message.event_id)
        self._failures.park(parked_failure(run, reason=failure.reason, code=failure.code, earlier=earlier))
        self._history.append(history_entry(run, "parked", detail=failure.reason, error=failure.description))
        return SyncOutcome(
            action="parked",
            merchant_id=message.merchant_id,
            paysimple_customer_id=message.customer_id,
            event_id=message.event_id,
            qbo_calls=run.qbo_calls,
            reason=failure.reason,
            detail=failure.code,
        )

    def _note_retry(self, run: SyncRun, error: Exception) -> None:
        """Best effort: the history shows that (and why) the change is waiting for another delivery."""
        # The original error is what matters (it propagates next), not a failure to note it.
        with contextlib.suppress(Exception):
            self._history.append(history_entry(run, "retried", error=describe(error)))
