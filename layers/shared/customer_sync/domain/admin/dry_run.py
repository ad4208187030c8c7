"""Go-live dry run: for each PaySimple customer, what the sync would do — without writing anything anywhere.

It follows the sync's rules (DESIGN.md "Matching"), with QBO reads only:
1. a customer we already hold a record of reports that record (linked, merged, deleted at the source);
2. otherwise the name query (active customers only) and `decide_match`: link by name, link by name+email,
   or ambiguous. QBO customers linked to others — and those this run already assigned — are never linked
   again, and an email shared with another customer (in our tables, or in this run) is no tie-breaker;
3. no match → a create as "First Last", unless that DisplayName is held: QBO keeps DisplayName unique across
   Customers, Vendors and Employees, inactive ones included, so customers (`Active IN (true, false)`),
   vendors and employees are queried by that DisplayName, and the sync's 6240 handling is followed: an
   inactive customer holding it, or an active one nobody is linked to, leaves the customer unlinked for the
   admin; a linked customer, a vendor or an employee means a create with the merchant's collision suffix.
   A second customer of this run with the same name would find the first one's new customer, already
   linked, so it is reported ambiguous.
A customer an admin unlinked is reported as such: the sync does not match it again on its own.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from customer_sync.domain.matching import (
    Ambiguous,
    CreateNew,
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
from customer_sync.domain.names import email_key, name_key
from customer_sync.domain.qbo_query import (
    INCLUDE_INACTIVE,
    all_of,
    build_display_name_query,
    candidate_conditions,
    equals,
)
from customer_sync.domain.qbo_values import for_admin
from customer_sync.domain.scrub import scrub_customer
from customer_sync.errors import Conflict, MerchantNotConfigured
from customer_sync.models.admin import DryRunReport, DryRunRequest, DryRunResult, NameHolder
from customer_sync.models.links import REASON_UNLINKED_BY_ADMIN
from customer_sync.models.paysimple import PaySimpleCustomer
from customer_sync.ports import (
    Clock,
    LinksRepository,
    MerchantClients,
    PaySimpleCustomers,
    QboCustomers,
    SettingsRepository,
)

NameHolderEntity = Literal["Customer", "Vendor", "Employee"]
CSV_COLUMNS = (
    "paysimple_customer_id",
    "first_name",
    "last_name",
    "email",
    "outcome",
    "qbo_customer_id",
    "candidate_qbo_ids",
    "would_create_as",
    "name_held_by",
    "detail",
)
SUFFIX = "the sync would create the customer with the merchant's collision suffix"
INACTIVE_HOLDER = (
    "an inactive QBO customer holds this DisplayName: the sync leaves the customer unlinked for you to "
    "decide (it never reactivates one)"
)
ACTIVE_HOLDER = (
    "an active QBO customer that is not linked holds this DisplayName (its first/last name did not match): "
    "the sync leaves the customer unlinked for you to link, rather than create a look-alike"
)
# A spreadsheet runs a cell starting with these as a formula; names come from merchants' customers.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Run:
    """What one dry run has decided so far, so later customers see earlier ones' links and creates."""

    def __init__(self, customers: Sequence[PaySimpleCustomer]) -> None:
        self.assigned_qbo_ids: set[str] = set()
        self.created_names: dict[tuple[str, str], str] = {}
        self.created_display_names: dict[str, str] = {}
        self.email_counts = Counter(email_key(c.Email) for c in customers if email_key(c.Email))


class DryRun:
    def __init__(
        self,
        *,
        links: LinksRepository,
        settings: SettingsRepository,
        clients: MerchantClients,
        clock: Clock,
    ) -> None:
        self._links = links
        self._settings = settings
        self._clients = clients
        self._clock = clock

    def run(self, merchant_id: str, request: DryRunRequest) -> DryRunReport:
        try:
            paysimple = self._clients.paysimple(merchant_id)
        except MerchantNotConfigured:
            raise Conflict("the merchant has no usable PaySimple credentials") from None
        qbo = self._clients.qbo(merchant_id)
        total: int | None = None
        next_page: int | None = None
        missing: list[str] = []
        if request.paysimple_customer_ids is not None:
            customers = self._fetch(paysimple, request.paysimple_customer_ids, missing)
        else:
            page = paysimple.list_customers(page=request.page, page_size=request.page_size)
            customers = list(page.items)
            total = page.total_items
            next_page = page.page + 1 if page.has_next_page else None
        scrubbed = [scrub_customer(customer)[0] for customer in customers]
        suffix = self._settings.get_settings(merchant_id).collision_suffix
        run = _Run(scrubbed)
        results = [self._preview(merchant_id, customer, qbo, suffix, run) for customer in scrubbed]
        results += [
            DryRunResult(
                paysimple_customer_id=customer_id,
                first_name=None,
                last_name=None,
                email=None,
                outcome="not_in_paysimple",
                detail="PaySimple has no customer with this id",
            )
            for customer_id in missing
        ]
        return DryRunReport(
            merchant_id=merchant_id,
            generated_at=self._clock.now(),
            results=results,
            summary=dict(Counter(result.outcome for result in results)),
            total_customers=total,
            next_page=next_page,
        )

    @staticmethod
    def _fetch(
        paysimple: PaySimpleCustomers, customer_ids: Iterable[str], missing: list[str]
    ) -> list[PaySimpleCustomer]:
        found: list[PaySimpleCustomer] = []
        for customer_id in dict.fromkeys(customer_ids):
            customer = paysimple.get_customer(customer_id)
            if customer is None:
                missing.append(customer_id)
            else:
                found.append(customer)
        return found

    def _preview(
        self, merchant_id: str, customer: PaySimpleCustomer, qbo: QboCustomers, suffix: str, run: _Run
    ) -> DryRunResult:
        paysimple_id = str(customer.Id)
        base: dict[str, Any] = {
            "paysimple_customer_id": paysimple_id,
            "first_name": customer.FirstName,
            "last_name": customer.LastName,
            "email": customer.Email,
        }
        known = self._links.get(merchant_id, paysimple_id)
        if known is not None and known.status == "linked":
            run.assigned_qbo_ids.add(known.qbo_customer_id or "")
            return DryRunResult(**base, outcome="already_linked", qbo_customer_id=known.qbo_customer_id)
        if known is not None and known.status == "merged":
            detail = (
                f"merged into PaySimple customer {known.merged_into}: its own saves are recorded in its "
                "history, not synced; unmerge it to sync it again"
            )
            return DryRunResult(**base, outcome="merged", detail=detail)
        if known is not None and known.status == "unlinked" and known.reason == REASON_UNLINKED_BY_ADMIN:
            detail = "an admin unlinked it: the sync leaves it unlinked until an admin links it"
            return DryRunResult(**base, outcome="unlinked_by_admin", detail=detail)
        if known is not None and known.status == "source_deleted":
            return DryRunResult(**base, outcome="source_deleted", qbo_customer_id=known.qbo_customer_id)

        found = qbo.query_customers(candidate_conditions(customer.FirstName, customer.LastName))
        candidates = [QboCandidate.from_qbo(raw.raw) for raw in found]
        owners = self._links.qbo_link_owners(merchant_id, [candidate.id for candidate in candidates])
        taken = {qbo_id for qbo_id, owner in owners.items() if owner != paysimple_id} | run.assigned_qbo_ids
        decision = decide_match(
            customer,
            candidates,
            linked_qbo_ids=taken,
            email_shared_with_other_customer=self._email_shared(merchant_id, paysimple_id, run),
        )
        by_id = {candidate.id: candidate for candidate in candidates}
        if isinstance(decision, LinkTo):
            run.assigned_qbo_ids.add(decision.qbo_id)
            outcome: Literal["link_by_name", "link_by_name_and_email"] = (
                "link_by_name" if decision.reason == "name" else "link_by_name_and_email"
            )
            return DryRunResult(
                **base,
                outcome=outcome,
                qbo_customer_id=decision.qbo_id,
                candidates=for_admin([by_id[decision.qbo_id]]),
            )
        if isinstance(decision, Ambiguous):
            return DryRunResult(
                **base,
                outcome="ambiguous",
                candidates=for_admin(by_id[qbo_id] for qbo_id in decision.candidate_ids),
                detail=f"{decision.reason}: {decision.detail.replace('_', ' ')}",
            )
        assert isinstance(decision, CreateNew)
        return self._create_preview(merchant_id, customer, qbo, suffix, run, base)

    def _email_shared(self, merchant_id: str, paysimple_id: str, run: _Run) -> Callable[[str], bool]:
        def shared(email: str) -> bool:
            if run.email_counts.get(email, 0) > 1:
                return True
            return bool(
                self._links.other_customers_with_email(
                    merchant_id, email, excluding_paysimple_customer_id=paysimple_id
                )
            )

        return shared

    def _create_preview(
        self,
        merchant_id: str,
        customer: PaySimpleCustomer,
        qbo: QboCustomers,
        suffix: str,
        run: _Run,
        base: dict[str, Any],
    ) -> DryRunResult:
        names = (name_key(customer.FirstName), name_key(customer.LastName))
        earlier = run.created_names.get(names)
        if earlier is not None:
            detail = (
                f"already_linked: PaySimple customer {earlier}, earlier in this run, would create the QBO "
                "customer this name matches"
            )
            return DryRunResult(**base, outcome="ambiguous", detail=detail)
        run.created_names[names] = str(customer.Id)
        display_name = display_name_for(customer)
        suffixed = collision_display_name(customer, suffix)
        earlier = run.created_display_names.get(name_key(display_name))
        if earlier is not None:
            detail = f"PaySimple customer {earlier}, earlier in this run, would create this DisplayName"
            return DryRunResult(
                **base,
                outcome="display_name_collision",
                would_create_as=suffixed,
                detail=f"{detail}; {SUFFIX}",
            )
        response = qbo.query(build_display_name_query(display_name))
        holders = customers_holding(display_name, response.get("Customer", []))
        owners = (
            self._links.qbo_link_owners(merchant_id, [holder.id for holder in holders]) if holders else {}
        )
        decision = decide_collision(holders, claimed_ids=set(owners) | run.assigned_qbo_ids)
        if isinstance(decision, FlagInactiveHolder | FlagUnmatchedHolder):
            return DryRunResult(
                **base,
                outcome="display_name_collision",
                name_held_by=_customer_holder(decision.holders[0]),
                candidates=for_admin(decision.holders),
                detail=INACTIVE_HOLDER if isinstance(decision, FlagInactiveHolder) else ACTIVE_HOLDER,
            )
        holder = _customer_holder(holders[0]) if holders else other_name_holder(qbo, display_name)
        if holder is None:
            run.created_display_names[name_key(display_name)] = str(customer.Id)
            return DryRunResult(**base, outcome="create", would_create_as=display_name)
        run.created_display_names[name_key(suffixed)] = str(customer.Id)
        held_by = f"a {holder.entity}"
        if holders:
            jobs = all(h.is_job for h in holders)
            held_by = "a job or project" if jobs else "a customer linked to another PaySimple customer"
        return DryRunResult(
            **base,
            outcome="display_name_collision",
            name_held_by=holder,
            would_create_as=suffixed,
            detail=f"DisplayName held by {held_by}; {SUFFIX}",
        )


def _customer_holder(customer: QboCandidate) -> NameHolder:
    return NameHolder(
        entity="Customer", qbo_id=customer.id, display_name=customer.display_name, active=customer.active
    )


def other_name_holder(qbo: QboCustomers, display_name: str) -> NameHolder | None:
    """A vendor, else an employee, holding `display_name` (DisplayName is unique across all three)."""
    wanted = name_key(display_name)
    entity: NameHolderEntity
    for entity in ("Vendor", "Employee"):
        conditions = all_of(equals("DisplayName", display_name), INCLUDE_INACTIVE)
        # QBO's query language, not SQL: the value is escaped by qbo_query.equals.
        found = qbo.query(f"SELECT * FROM {entity} WHERE {conditions}").get(entity, [])  # noqa: S608
        for record in found if isinstance(found, list) else []:
            if isinstance(record, dict) and name_key(str(record.get("DisplayName", ""))) == wanted:
                return NameHolder(
                    entity=entity,
                    qbo_id=str(record.get("Id", "")),
                    display_name=str(record.get("DisplayName", "")),
                    active=bool(record.get("Active", True)),
                )
    return None


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def dry_run_csv(report: DryRunReport) -> str:
    """The report as CSV, one row per customer (spreadsheet formulas neutralised)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for result in report.results:
        holder = result.name_held_by
        writer.writerow(
            _cell(value)
            for value in (
                result.paysimple_customer_id,
                result.first_name,
                result.last_name,
                result.email,
                result.outcome,
                result.qbo_customer_id,
                " ".join(candidate.qbo_customer_id for candidate in result.candidates),
                result.would_create_as,
                f"{holder.entity} {holder.qbo_id}{'' if holder.active else ' (inactive)'}"
                if holder
                else None,
                result.detail,
            )
        )
    return buffer.getvalue()
