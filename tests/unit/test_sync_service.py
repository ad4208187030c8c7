"""SyncService with in-memory repositories and fake PaySimple/QBO clients: every path of DESIGN.md "Sync".

QBO call counts come from the fake's call log, which counts every request like the real client does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from customer_sync.domain.mapping import default_mapping
from customer_sync.domain.scrub import REDACTION_MARKER
from customer_sync.domain.sync.outcomes import SyncOutcome
from customer_sync.domain.sync.request_ids import create_request_id
from customer_sync.domain.sync.service import SyncService, claim_name
from customer_sync.errors import (
    NameClaimedElsewhere,
    PaySimpleAuthError,
    PaySimpleTransientError,
    QboBudgetExhausted,
    QboConnectionBroken,
    QboError,
    QboThrottled,
    QboTransientError,
    QboValidationError,
)
from customer_sync.models.links import CustomerLink, NameClaim
from customer_sync.models.mapping import MappingRow
from customer_sync.models.messages import CustomerChangeMessage, CustomerEventType
from customer_sync.models.settings import SettingsChanges
from tests.fakes.merchant_clients import FakeMerchantClients, SettableClock
from tests.fakes.paysimple import FakePaySimpleCustomers
from tests.fakes.qbo import FakeQboCustomers, stale_object
from tests.fakes.qbo_side import InMemoryNameVariants
from tests.fakes.repositories import (
    InMemoryFailuresRepository,
    InMemoryHistoryRepository,
    InMemoryLinksRepository,
    InMemoryMappingRepository,
    InMemorySettingsRepository,
    InMemorySyncConfigs,
    InMemorySyncJournal,
)

MERCHANT = "1225"
ENABLED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CARD = "4111 1111 1111 1111"
CARD_DIGITS = "4111111111111111"
ANN = {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@example.com", "Phone": "3035550101"}


class CrashOnceLinks(InMemoryLinksRepository):
    """Dies (as a Lambda would) the first time it is asked to store a link to a customer just created."""

    def __init__(self) -> None:
        super().__init__()
        self.crashed = False

    def store(
        self, link: CustomerLink, *, expected_version: int, name_check: NameClaim | None = None
    ) -> CustomerLink:
        if not self.crashed and link.reason == "created":
            self.crashed = True
            raise ConnectionError("the Lambda died before the link was written")
        return super().store(link, expected_version=expected_version, name_check=name_check)


@dataclass
class Harness:
    service: SyncService
    settings: InMemorySettingsRepository
    mappings: InMemoryMappingRepository
    links: InMemoryLinksRepository
    history: InMemoryHistoryRepository
    failures: InMemoryFailuresRepository
    journal: InMemorySyncJournal
    configs: InMemorySyncConfigs
    clients: FakeMerchantClients
    paysimple: FakePaySimpleCustomers
    qbo: FakeQboCustomers
    clock: SettableClock
    variants: InMemoryNameVariants

    _event_ids = itertools.count(1)

    def message(
        self,
        customer_id: int,
        *,
        event_type: CustomerEventType = "customer_updated",
        at: datetime | None = None,
        event_id: str | None = None,
        redrive_attempt: int = 0,
    ) -> CustomerChangeMessage:
        return CustomerChangeMessage(
            merchant_id=MERCHANT,
            customer_id=str(customer_id),
            event_type=event_type,
            event_id=event_id or f"evt_{next(self._event_ids)}",
            occurred_at=at or self.clock.now(),
            redrive_attempt=redrive_attempt,
        )

    def sync(self, customer_id: int, **kwargs: Any) -> SyncOutcome:
        self.clock.advance(seconds=1)
        return self.service.process(self.message(customer_id, **kwargs))

    def link(self, customer_id: int) -> CustomerLink:
        link = self.links.get(MERCHANT, str(customer_id))
        assert link is not None
        return link

    def set_mapping(self, **enabled: bool) -> None:
        rows = [
            row.model_copy(update={"enabled": enabled.get(row.paysimple_field, row.enabled)})
            for row in default_mapping().rows
        ]
        self.mappings.save_mapping(MERCHANT, rows, now=self.clock.now())


def build_harness(links: InMemoryLinksRepository | None = None, *, enabled: bool = True) -> Harness:
    clock = SettableClock(ENABLED_AT - timedelta(hours=1))
    settings, mappings = InMemorySettingsRepository(), InMemoryMappingRepository()
    links = links or InMemoryLinksRepository()
    history, failures = InMemoryHistoryRepository(), InMemoryFailuresRepository()
    clients = FakeMerchantClients()
    paysimple, qbo = clients.add_merchant(MERCHANT)
    if enabled:
        settings.update_settings(MERCHANT, SettingsChanges(sync_enabled=True), now=ENABLED_AT)
    clock.at = ENABLED_AT + timedelta(hours=1)
    journal = InMemorySyncJournal(links=links, history=history, failures=failures, settings=settings)
    variants = InMemoryNameVariants()  # the company's name variants, built (none) by its first sweep
    variants.replace(MERCHANT, qbo.realm_id, [], built_at=ENABLED_AT)
    configs = InMemorySyncConfigs(settings, mappings, variants)
    service = SyncService(
        configs=configs,
        links=links,
        history=history,
        failures=failures,
        journal=journal,
        clients=clients,
        variants=variants,
        clock=clock,
    )
    return Harness(
        service,
        settings,
        mappings,
        links,
        history,
        failures,
        journal,
        configs,
        clients,
        paysimple,
        qbo,
        clock,
        variants,
    )


@pytest.fixture
def h() -> Harness:
    return build_harness()


def qbo_customer(given: str, family: str, **fields: Any) -> dict[str, Any]:
    return {"GivenName": given, "FamilyName": family, "DisplayName": f"{given} {family}", **fields}


# -- gate --------------------------------------------------------------------------------------------------


def test_nothing_is_fetched_or_written_while_sync_is_disabled():
    # Given a merchant who has not enabled sync
    h = build_harness(enabled=False)
    h.paysimple.save(42, **ANN)
    # When a change arrives
    outcome = h.sync(42)
    # Then it is skipped without a PaySimple fetch or a QBO call
    assert (outcome.action, outcome.detail, outcome.qbo_calls) == ("skipped", "sync_disabled", 0)
    assert h.paysimple.fetches == 0 and h.qbo.calls_made == 0
    assert [entry.action for entry in h.history.entries(MERCHANT, "42")] == ["skipped"]


def test_an_event_from_before_sync_was_enabled_is_skipped(h: Harness):
    # Given a customer saved a minute before sync was enabled
    h.paysimple.save(42, **ANN)
    # When that event is delivered after enabling
    outcome = h.sync(42, at=ENABLED_AT - timedelta(minutes=1))
    # Then nothing reaches QBO
    assert (outcome.action, outcome.detail, outcome.qbo_calls) == ("skipped", "before_sync_enabled", 0)
    assert h.qbo.customers == {}


def test_an_event_older_than_the_last_synced_one_is_superseded(h: Harness):
    # Given a customer synced for an event at 10:05
    h.paysimple.save(42, **ANN)
    h.sync(42, at=ENABLED_AT + timedelta(minutes=5))
    calls = h.qbo.calls_made
    # When an older event (10:01) arrives late
    outcome = h.sync(42, at=ENABLED_AT + timedelta(minutes=1))
    # Then it is skipped: the newer one already carried the current record
    assert (outcome.action, outcome.detail) == ("skipped", "superseded_by_newer_event")
    assert h.qbo.calls_made == calls


# -- matching and creating: one table ---------------------------------------------------------------------


@dataclass(frozen=True)
class MatchCase:
    name: str
    qbo: tuple[dict[str, Any], ...]
    paysimple: dict[str, Any]
    action: str
    reason: str | None
    detail: str | None = None
    calls: int = 1
    candidates: tuple[str, ...] = ()
    linked_to: str | None = None
    other_customer_email: str | None = None  # another PaySimple customer we know, with this email
    other_customer_holds: str | None = None  # ... linked to this QBO id


MATCH_CASES = [
    MatchCase("no name match: create", (), ANN, "created", "created", calls=2, linked_to="1"),
    MatchCase(
        "one name match holding the same values: link, no write",
        (
            qbo_customer(
                "Ann",
                "Lee",
                PrimaryEmailAddr={"Address": "ann@example.com"},
                PrimaryPhone={"FreeFormNumber": "3035550101"},
            ),
        ),
        ANN,
        "linked",
        "name",
        calls=1,
        linked_to="1",
    ),
    MatchCase(
        "one name match in another case: link, and PaySimple's spelling wins",
        (qbo_customer("ann", "LEE"),),
        ANN,
        "linked",
        "name",
        calls=2,
        linked_to="1",
    ),
    MatchCase(
        "one name match with other values: link and update",
        (qbo_customer("Ann", "Lee", PrimaryEmailAddr={"Address": "old@example.com"}),),
        ANN,
        "linked",
        "name",
        calls=2,
        linked_to="1",
    ),
    MatchCase(
        "two name matches, one with the email: link name+email",
        (
            qbo_customer(
                "Ann", "Lee", DisplayName="Ann Lee (shop)", PrimaryEmailAddr={"Address": "x@example.com"}
            ),
            qbo_customer("Ann", "Lee", PrimaryEmailAddr={"Address": "ANN@example.com"}),
        ),
        ANN,
        "linked",
        "name+email",
        calls=2,
        linked_to="2",
    ),
    MatchCase(
        "two name matches, no email match: ambiguous",
        (
            qbo_customer("Ann", "Lee", DisplayName="Ann Lee 1"),
            qbo_customer("Ann", "Lee", DisplayName="Ann Lee 2"),
        ),
        ANN,
        "unlinked",
        "ambiguous",
        "no_email_match",
        candidates=("1", "2"),
    ),
    MatchCase(
        "two name matches, the email is shared with another PaySimple customer: ambiguous",
        (
            qbo_customer("Ann", "Lee", DisplayName="Ann Lee 1"),
            qbo_customer(
                "Ann", "Lee", DisplayName="Ann Lee 2", PrimaryEmailAddr={"Address": "ann@example.com"}
            ),
        ),
        ANN,
        "unlinked",
        "ambiguous",
        "email_shared_with_other_customer",
        candidates=("1", "2"),
        other_customer_email="ann@example.com",
    ),
    MatchCase(
        "the only name match is linked to another PaySimple customer: never linked twice",
        (qbo_customer("Ann", "Lee"),),
        ANN,
        "unlinked",
        "already_linked",
        "all_name_matches_linked",
        candidates=("1",),
        other_customer_holds="1",
    ),
    MatchCase(
        "an inactive name match is not a match",
        (qbo_customer("Ann", "Lee", DisplayName="Ann Lee old", Active=False),),
        ANN,
        "created",
        "created",
        calls=2,
        linked_to="2",
    ),
]


@pytest.mark.parametrize("case", MATCH_CASES, ids=[case.name for case in MATCH_CASES])
def test_matching_decides_link_create_or_unlinked(h: Harness, case: MatchCase):
    # Given the QBO customers of the case, and maybe another PaySimple customer we already know
    for fields in case.qbo:
        h.qbo.seed_customer(**fields)
    if case.other_customer_email or case.other_customer_holds:
        other = CustomerLink(
            merchant_id=MERCHANT,
            paysimple_customer_id="7",
            status="linked" if case.other_customer_holds else "unlinked",
            qbo_customer_id=case.other_customer_holds,
            first_name="Ann",
            last_name="Lee",
            email=case.other_customer_email,
            updated_at=ENABLED_AT,
        )
        save = h.links.save_linked if case.other_customer_holds else h.links.save_unlinked
        save(other, expected_version=0)
    h.paysimple.save(42, **case.paysimple)
    # When the customer's save is synced
    outcome = h.sync(42, event_type="customer_created")
    # Then the decision, the link and the QBO calls are those of the table
    link = h.link(42)
    assert (outcome.action, outcome.reason, outcome.detail) == (case.action, case.reason, case.detail)
    assert outcome.qbo_calls == case.calls == h.qbo.calls_made
    assert link.qbo_customer_id == case.linked_to
    assert tuple(c.qbo_customer_id for c in link.candidates) == case.candidates
    assert link.status == ("linked" if case.linked_to else "unlinked")


def test_a_created_customer_gets_display_name_and_only_the_non_empty_enabled_fields(h: Harness):
    # Given a new PaySimple customer with a shipping address (off by default) and no company
    h.paysimple.save(42, **ANN, ShippingAddress={"StreetAddress1": "1 Dock St", "City": "Denver"})
    # When it is synced
    outcome = h.sync(42, event_type="customer_created")
    # Then QBO got a query and one create carrying DisplayName "First Last" and the enabled, non-empty fields
    assert h.qbo.operations() == ["query", "create"]
    created = h.qbo.customers[outcome.qbo_customer_id or ""]
    assert created["DisplayName"] == "Ann Lee"
    assert created["PrimaryEmailAddr"] == {"Address": "ann@example.com"}
    assert "ShipAddr" not in created and "CompanyName" not in created
    # And the link holds the SyncToken QBO returned
    assert h.link(42).qbo_sync_token == created["SyncToken"]


def test_linking_never_clears_qbo_values_paysimple_does_not_have(h: Harness):
    # Given a QBO customer with a phone and a company, matched by a PaySimple customer who has neither
    h.qbo.seed_customer(
        **qbo_customer("Ann", "Lee", CompanyName="Lee Bakery", PrimaryPhone={"FreeFormNumber": "555"})
    )
    h.paysimple.save(42, FirstName="Ann", LastName="Lee", Email="ann@example.com")
    # When it is linked
    outcome = h.sync(42)
    # Then only the email was written; the company and phone the merchant keeps in QBO stay
    assert outcome.changed_fields == ("PrimaryEmailAddr",)
    customer = h.qbo.customers["1"]
    assert customer["CompanyName"] == "Lee Bakery" and customer["PrimaryPhone"] == {"FreeFormNumber": "555"}


# -- linked customers ------------------------------------------------------------------------------------


def linked_ann(h: Harness) -> str:
    h.paysimple.save(42, **ANN)
    outcome = h.sync(42, event_type="customer_created")
    assert outcome.action == "created"
    h.qbo.calls.clear()
    return outcome.qbo_customer_id or ""


def test_a_change_to_a_linked_customer_costs_one_sparse_update(h: Harness):
    # Given a linked customer, and a field someone edited in QBO since
    qbo_id = linked_ann(h)
    h.qbo.edit(qbo_id, Notes="kept in QBO")
    h.links.save_linked(
        h.link(42).revised(qbo_sync_token=h.qbo.customers[qbo_id]["SyncToken"]),
        expected_version=h.link(42).version,
    )
    # When the phone changes in PaySimple
    h.paysimple.save(42, **{**ANN, "Phone": "3035550199"})
    outcome = h.sync(42)
    # Then one update sent the phone only (sparse): the QBO-only note survives
    assert (outcome.action, outcome.qbo_calls, outcome.changed_fields) == ("updated", 1, ("PrimaryPhone",))
    assert h.qbo.customers[qbo_id]["PrimaryPhone"] == {"FreeFormNumber": "3035550199"}
    assert h.qbo.customers[qbo_id]["Notes"] == "kept in QBO"
    entry = h.history.entries(MERCHANT, "42")[0]
    assert entry.changes["PrimaryPhone"].before == {"FreeFormNumber": "3035550101"}


def test_a_save_that_changes_no_enabled_field_costs_nothing(h: Harness):
    # Given a linked customer
    linked_ann(h)
    # When PaySimple saves a change to a field that is not mapped (the fax) and one that is off (website)
    h.paysimple.save(42, **ANN, Fax="3035550000", Website="https://ann.example.com")
    outcome = h.sync(42)
    # Then QBO is not called
    assert (outcome.action, outcome.qbo_calls) == ("unchanged", 0)


def test_a_stale_sync_token_costs_three_calls_and_keeps_the_other_writer_s_change(h: Harness):
    # Given a linked customer that someone else edited in QBO (its SyncToken moved on)
    qbo_id = linked_ann(h)
    h.qbo.edit(qbo_id, CompanyName="Set in QBO")
    # When the phone changes in PaySimple
    h.paysimple.save(42, **{**ANN, "Phone": "3035550199"})
    outcome = h.sync(42)
    # Then update (5010), read, update: three calls, and both changes are in QBO
    assert h.qbo.operations() == ["update", "read", "update"]
    assert (outcome.action, outcome.qbo_calls) == ("updated", 3)
    assert h.qbo.customers[qbo_id]["PrimaryPhone"] == {"FreeFormNumber": "3035550199"}
    assert h.qbo.customers[qbo_id]["CompanyName"] == "Set in QBO"
    assert h.link(42).qbo_sync_token == h.qbo.customers[qbo_id]["SyncToken"]


def test_after_a_stale_token_nothing_is_rewritten_if_qbo_already_holds_our_values(h: Harness):
    # Given someone already typed the new phone into QBO
    qbo_id = linked_ann(h)
    h.qbo.edit(qbo_id, PrimaryPhone={"FreeFormNumber": "3035550199"})
    h.paysimple.save(42, **{**ANN, "Phone": "3035550199"})
    # When the save is synced
    outcome = h.sync(42)
    # Then update (5010) and read only
    assert h.qbo.operations() == ["update", "read"]
    assert outcome.qbo_calls == 2
    assert h.link(42).qbo_sync_token == h.qbo.customers[qbo_id]["SyncToken"]


def test_a_second_stale_token_in_a_row_is_retried_by_the_queue(h: Harness):
    # Given QBO answers 5010 twice
    linked_ann(h)
    h.qbo.fail_next(stale_object(), operation="update", count=2)
    h.paysimple.save(42, **{**ANN, "Phone": "3035550199"})
    # When the save is synced, then it raises (SQS delivers it again) and the history says why
    with pytest.raises(Exception, match="5010"):
        h.sync(42)
    assert h.history.entries(MERCHANT, "42")[0].action == "retried"


def test_a_linked_customer_merged_away_in_qbo_goes_back_to_the_unlinked_list(h: Harness):
    # Given the linked QBO customer was merged into another one in QBO
    qbo_id = linked_ann(h)
    h.qbo.remove(qbo_id)
    h.paysimple.save(42, **{**ANN, "Phone": "3035550199"})
    # When the next save is synced
    outcome = h.sync(42)
    # Then the customer is unlinked with the reason and the claim is released
    link = h.link(42)
    assert (outcome.action, outcome.reason) == ("unlinked", "qbo_customer_missing")
    assert (link.status, link.reason, link.qbo_customer_id) == ("unlinked", "qbo_customer_missing", None)
    assert h.links.qbo_link_owner(MERCHANT, qbo_id) is None


def test_a_customer_linked_by_the_admin_is_read_before_its_first_update(h: Harness):
    # Given the admin linked customer 42 to an existing QBO customer (no SyncToken or snapshot cached)
    h.qbo.seed_customer(**qbo_customer("Ann", "Lee", PrimaryEmailAddr={"Address": "ann@example.com"}))
    h.links.save_linked(
        CustomerLink(
            merchant_id=MERCHANT,
            paysimple_customer_id="42",
            status="linked",
            qbo_customer_id="1",
            reason="manual",
            first_name="Ann",
            last_name="Lee",
            updated_at=ENABLED_AT,
        ),
        expected_version=0,
    )
    h.paysimple.save(42, **ANN)
    # When its save is synced
    outcome = h.sync(42)
    # Then QBO is read, then only the missing phone is written
    assert h.qbo.operations() == ["read", "update"]
    assert outcome.changed_fields == ("PrimaryPhone",)
    assert h.link(42).qbo_sync_token == "1"


# -- 6240 -------------------------------------------------------------------------------------------------


def test_a_display_name_held_by_a_vendor_gets_the_collision_suffix(h: Harness):
    # Given a vendor named "Ann Lee" (its id overlaps a customer's)
    h.qbo.seed_vendor("Ann Lee")
    h.paysimple.save(42, **ANN)
    # When the customer is created
    outcome = h.sync(42, event_type="customer_created")
    # Then after 6240 and a look at the customers holding that name, the suffixed create succeeds
    assert h.qbo.operations() == ["query", "create", "query", "create"]
    assert (outcome.action, outcome.detail) == ("created", "created_with_collision_suffix")
    assert h.qbo.customers[outcome.qbo_customer_id or ""]["DisplayName"] == "Ann Lee (PS-42)"
    assert h.qbo.calls[1].request_id != h.qbo.calls[3].request_id


def test_the_collision_suffix_is_the_merchant_s(h: Harness):
    # Given a merchant suffix template and a vendor holding the name
    h.settings.update_settings(
        MERCHANT, SettingsChanges(collision_suffix="{last}, {first} #{id}"), now=ENABLED_AT
    )
    h.qbo.seed_vendor("Ann Lee")
    h.paysimple.save(42, **ANN)
    # When the customer is created, then the merchant's form is used
    outcome = h.sync(42)
    assert h.qbo.customers[outcome.qbo_customer_id or ""]["DisplayName"] == "Lee, Ann #42"


def test_a_display_name_held_by_an_inactive_customer_is_flagged_and_never_reactivated(h: Harness):
    # Given an inactive QBO customer called "Ann Lee" whose name parts differ
    h.qbo.seed_customer(DisplayName="Ann Lee", GivenName="Annabel", FamilyName="Lee", Active=False)
    h.paysimple.save(42, **ANN)
    # When the customer is synced
    outcome = h.sync(42)
    # Then it waits on the unlinked list with the inactive customer as candidate; QBO is unchanged
    link = h.link(42)
    assert (outcome.action, outcome.reason, outcome.qbo_calls) == ("unlinked", "inactive_name_holder", 3)
    assert [(c.qbo_customer_id, c.active) for c in link.candidates] == [("1", False)]
    assert list(h.qbo.customers) == ["1"] and h.qbo.customers["1"]["Active"] is False


def test_a_display_name_held_by_an_unmatched_active_customer_creates_no_duplicate(h: Harness):
    # Given an active customer "Ann Lee" whose name parts were never filled in (so no name match)
    h.qbo.seed_customer(DisplayName="Ann Lee", CompanyName="Ann's")
    h.paysimple.save(42, **ANN)
    # When the customer is synced
    outcome = h.sync(42)
    # Then no suffixed duplicate: the admin gets that customer as the candidate
    assert (outcome.action, outcome.reason) == ("unlinked", "display_name_taken")
    assert [c.qbo_customer_id for c in h.link(42).candidates] == ["1"]
    assert len(h.qbo.customers) == 1


def test_a_display_name_held_by_a_customer_linked_to_someone_else_gets_the_suffix(h: Harness):
    # Given "Ann Lee" is a QBO customer linked to another PaySimple customer (whose name parts differ)
    h.qbo.seed_customer(DisplayName="Ann Lee", GivenName="Anne", FamilyName="Lee")
    h.links.save_linked(
        CustomerLink(
            merchant_id=MERCHANT,
            paysimple_customer_id="7",
            status="linked",
            qbo_customer_id="1",
            updated_at=ENABLED_AT,
        ),
        expected_version=0,
    )
    h.paysimple.save(42, **ANN)
    # When the customer is synced, then it is a different person: created with the suffix
    outcome = h.sync(42)
    assert (outcome.action, outcome.detail) == ("created", "created_with_collision_suffix")


def test_a_suffixed_name_that_collides_too_is_parked(h: Harness):
    # Given vendors holding both "Ann Lee" and "Ann Lee (PS-42)"
    h.qbo.seed_vendor("Ann Lee")
    h.qbo.seed_vendor("Ann Lee (PS-42)")
    h.paysimple.save(42, **ANN)
    # When the customer is synced
    outcome = h.sync(42)
    # Then the change is parked with the reason, and the customer waits on the unlinked list
    assert (outcome.action, outcome.reason, outcome.detail) == (
        "parked",
        "duplicate_name_unresolvable",
        "6240",
    )
    assert h.link(42).reason == "name_collision"
    failure = h.failures.get_failure(MERCHANT, "42", outcome.event_id)
    assert failure is not None and failure.reason == "duplicate_name_unresolvable"


# -- crash safety ------------------------------------------------------------------------------------------


def test_a_crash_between_the_create_and_the_link_write_never_makes_a_second_customer():
    # Given a Lambda that dies right after QBO created the customer
    h = build_harness(CrashOnceLinks())
    h.paysimple.save(42, **ANN)
    message = h.message(42, event_type="customer_created")
    with pytest.raises(ConnectionError):
        h.service.process(message)
    assert len(h.qbo.customers) == 1
    # When SQS delivers the same message again
    outcome = h.service.process(message)
    # Then the create is repeated with the same requestid, QBO answers with the original, and it is linked
    creates = [call for call in h.qbo.calls if call.operation == "create"]
    assert [call.request_id for call in creates] == [creates[0].request_id] * 2
    assert (outcome.action, outcome.qbo_customer_id) == ("created", "1")
    assert len(h.qbo.customers) == 1 and h.link(42).qbo_customer_id == "1"


def test_a_create_qbo_rejects_is_parked_and_the_next_save_uses_a_new_request_id(h: Harness):
    # Given QBO rejects the first create for good
    h.paysimple.save(42, **ANN)
    h.qbo.fail_next(
        QboValidationError("2050", "QBO error 2050 (HTTP 400): bad length", status=400), operation="create"
    )
    first = h.sync(42)
    assert (first.action, first.reason, first.detail) == ("parked", "qbo_validation_error", "2050")
    assert h.link(42).reason == "create_rejected"
    # When the merchant saves again
    second = h.sync(42)
    # Then a fresh create (new requestid) succeeds
    creates = [call.request_id for call in h.qbo.calls if call.operation == "create"]
    assert second.action == "created" and len(set(creates)) == 2


def test_create_request_ids_are_deterministic_and_distinct():
    # Given the same inputs twice, and inputs differing in one part each
    same = create_request_id("1225", "42", 1, "display_name")
    others = {
        create_request_id("1225", "42", 2, "display_name"),
        create_request_id("1225", "42", 1, "collision_suffix"),
        create_request_id("1225", "4", 21, "display_name"),
        create_request_id("12254", "2", 1, "display_name"),
    }
    # Then the id repeats exactly, differs otherwise, and fits QBO's 50 characters
    assert same == create_request_id("1225", "42", 1, "display_name")
    assert same not in others and len(others) == 4
    assert all(len(request_id) <= 50 for request_id in {same, *others})


# -- deletes -----------------------------------------------------------------------------------------------


def test_a_deleted_customer_is_marked_and_left_active_in_qbo_by_default(h: Harness):
    # Given a linked customer
    qbo_id = linked_ann(h)
    # When it is deleted in PaySimple
    h.paysimple.delete(42)
    outcome = h.sync(42, event_type="customer_deleted")
    # Then the link says source_deleted and QBO was not called
    assert (outcome.action, outcome.qbo_calls) == ("deleted", 0)
    assert h.link(42).status == "source_deleted"
    assert h.qbo.customers[qbo_id]["Active"] is True


def test_a_deleted_customer_is_deactivated_when_the_merchant_says_so_and_restored_when_it_returns(h: Harness):
    # Given deactivate_on_delete and a linked customer that was deleted in PaySimple
    h.settings.update_settings(MERCHANT, SettingsChanges(deactivate_on_delete=True), now=ENABLED_AT)
    qbo_id = linked_ann(h)
    h.paysimple.delete(42)
    deleted = h.sync(42, event_type="customer_deleted")
    assert (deleted.action, deleted.qbo_calls) == ("deactivated", 1)
    assert h.qbo.customers[qbo_id]["Active"] is False
    # When the same customer is found in PaySimple again
    h.paysimple.save(42, **{**ANN, "Phone": "3035550199"})
    restored = h.sync(42)
    # Then its link is restored and the QBO customer made active again with the new phone, in one update
    assert (restored.action, restored.detail, restored.qbo_calls) == ("linked", "restored_after_delete", 1)
    assert h.qbo.customers[qbo_id]["Active"] is True
    assert h.qbo.customers[qbo_id]["PrimaryPhone"] == {"FreeFormNumber": "3035550199"}
    assert h.link(42).status == "linked"


def test_a_new_paysimple_customer_with_a_deleted_customer_s_name_is_left_for_the_admin(h: Harness):
    # Given Ann (42) was linked, then deleted in PaySimple, then re-created as customer 43
    linked_ann(h)
    h.paysimple.delete(42)
    h.sync(42, event_type="customer_deleted")
    h.paysimple.save(43, **ANN)
    # When 43 is synced
    outcome = h.sync(43, event_type="customer_created")
    # Then the deleted customer's QBO record is offered, not auto-linked and not duplicated
    assert (outcome.action, outcome.reason, outcome.detail) == (
        "unlinked",
        "already_linked",
        "name_held_by_deleted_customer",
    )
    assert len(h.qbo.customers) == 1


def test_deleting_a_customer_we_never_synced_does_nothing(h: Harness):
    # When a delete arrives for a customer we have no record of
    outcome = h.sync(42, event_type="customer_deleted")
    # Then it is skipped and nothing is stored but the history
    assert (outcome.action, outcome.qbo_calls) == ("skipped", 0)
    assert h.links.get(MERCHANT, "42") is None


# -- admin decisions ---------------------------------------------------------------------------------------


def test_a_customer_the_admin_unlinked_is_not_matched_again(h: Harness):
    # Given a linked customer the admin unlinked
    linked_ann(h)
    h.links.unlink(MERCHANT, "42", now=h.clock.now())
    # When it is saved again
    h.paysimple.save(42, **{**ANN, "Phone": "3035550199"})
    outcome = h.sync(42)
    # Then it stays unlinked and QBO is not called
    assert (outcome.action, outcome.detail, outcome.qbo_calls) == ("unlinked", "unlinked_by_admin", 0)


def test_a_customer_the_admin_unlinked_after_its_delete_stays_unlinked_when_it_returns(h: Harness):
    # Given a linked customer deleted in PaySimple, then unlinked by the admin
    linked_ann(h)
    h.paysimple.delete(42)
    h.sync(42, event_type="customer_deleted")
    h.links.unlink(MERCHANT, "42", now=h.clock.now())
    # When the customer is back in PaySimple
    h.paysimple.save(42, **ANN)
    outcome = h.sync(42)
    # Then it waits on the unlinked list for the admin, without a QBO call
    assert (outcome.action, outcome.detail, outcome.qbo_calls) == ("unlinked", "unlinked_by_admin", 0)
    assert h.link(42).status == "unlinked"


def test_a_merged_duplicates_save_is_recorded_as_merged_into_its_primary_never_synced(h: Harness):
    # Given customer 43 was merged into 42
    linked_ann(h)
    h.links.save_unlinked(
        CustomerLink(
            merchant_id=MERCHANT, paysimple_customer_id="43", status="unlinked", updated_at=ENABLED_AT
        ),
        expected_version=0,
    )
    h.links.merge(MERCHANT, "42", ["43"], h.link(42).qbo_customer_id or "", now=h.clock.now())
    h.paysimple.save(43, **ANN)
    # When 43 is saved, then nothing is synced, and its history says where its changes go
    outcome = h.sync(43)
    assert (outcome.action, outcome.detail, outcome.qbo_calls) == ("skipped", "merged into 42", 0)
    [entry] = [e for e in h.history.entries(MERCHANT, "43") if e.event_type != "admin_merge"]
    assert (entry.action, entry.detail) == ("skipped", "merged into 42")


# -- mapping -----------------------------------------------------------------------------------------------


def test_a_disabled_field_is_never_written(h: Harness):
    # Given the phone mapping is switched off
    h.set_mapping(Phone=False)
    h.paysimple.save(42, **ANN)
    created = h.sync(42)
    # When only the phone changes afterwards
    h.paysimple.save(42, **{**ANN, "Phone": "3035550199"})
    outcome = h.sync(42)
    # Then QBO never got a phone, and the change cost nothing
    assert "PrimaryPhone" not in h.qbo.customers[created.qbo_customer_id or ""]
    assert (outcome.action, outcome.qbo_calls) == ("unchanged", 0)


def test_a_mapping_change_affects_only_saves_made_after_it(h: Harness):
    # Given a linked customer, then a mapping enabling Notes saved at 11:00
    qbo_id = linked_ann(h)
    change_at = h.clock.advance(minutes=10)
    h.set_mapping(Notes=True)
    h.paysimple.save(42, **ANN, Notes="Prefers email")
    # When an event from before the mapping change is processed
    before = h.sync(42, at=change_at - timedelta(minutes=1))
    # Then the note does not flow; a save after the change carries it
    assert before.action == "unchanged" and "Notes" not in h.qbo.customers[qbo_id]
    after = h.sync(42, at=change_at + timedelta(minutes=1))
    assert after.changed_fields == ("Notes",) and h.qbo.customers[qbo_id]["Notes"] == "Prefers email"


def test_names_are_written_even_if_a_stored_mapping_disables_them(h: Harness):
    # Given a mapping stored (bypassing validation) with first and last name off
    rows = [row.model_copy(update={"enabled": False}) for row in default_mapping().rows]
    h.mappings.save_mapping(MERCHANT, rows, now=h.clock.now())
    h.paysimple.save(42, **ANN)
    # When the customer is synced, then names still go to QBO, and nothing else does
    outcome = h.sync(42)
    customer = h.qbo.customers[outcome.qbo_customer_id or ""]
    assert (customer["GivenName"], customer["FamilyName"]) == ("Ann", "Lee")
    assert "PrimaryEmailAddr" not in customer


def test_a_truncated_value_is_noted_in_the_history(h: Harness):
    # Given a company name longer than QBO's 100 characters
    h.paysimple.save(42, **ANN, Company="C" * 120)
    # When the customer is created
    h.sync(42)
    # Then QBO got 100 characters and the history says so
    entry = h.history.entries(MERCHANT, "42")[0]
    assert [(t.field, t.original_length, t.limit) for t in entry.truncations] == [("CompanyName", 120, 100)]


def test_clearing_a_field_we_wrote_clears_it_in_qbo(h: Harness):
    # Given a linked customer whose phone we wrote
    qbo_id = linked_ann(h)
    # When the phone is removed in PaySimple
    h.paysimple.save(42, **{**ANN, "Phone": None})
    outcome = h.sync(42)
    # Then it is cleared in QBO too (PaySimple is the source of record)
    assert outcome.changed_fields == ("PrimaryPhone",)
    assert h.qbo.customers[qbo_id]["PrimaryPhone"] == {"FreeFormNumber": ""}


# -- payment data ------------------------------------------------------------------------------------------


def test_card_numbers_never_reach_qbo_or_anything_we_store(h: Harness):
    # Given a customer with a card number in the notes (enabled) and in the company name, and a QBO
    # customer with the same name holding a card number the merchant typed there
    h.set_mapping(Notes=True)
    h.qbo.seed_customer(**qbo_customer("Ann", "Lee", Notes=f"card {CARD}"))
    h.paysimple.save(42, **ANN, Company=f"Lee {CARD}", Notes=f"Pays with {CARD} acct 123456789")
    # When it is synced
    outcome = h.sync(42)
    # Then neither QBO nor the link, the history or the outcome carry the digits
    assert outcome.action == "linked"
    stored = [
        h.qbo.customers,
        h.link(42).model_dump(),
        [e.model_dump() for e in h.history.entries(MERCHANT, "42")],
    ]
    assert CARD not in repr(stored) and CARD_DIGITS not in repr(stored)
    assert REDACTION_MARKER in h.qbo.customers["1"]["Notes"]
    assert "123456789" not in h.qbo.customers["1"]["Notes"]


def test_a_zip_plus_4_that_looks_like_a_routing_number_is_kept_and_costs_no_extra_write(h: Harness):
    # Given a new customer whose billing ZIP+4 is written as 9 digits passing the ABA checksum
    h.paysimple.save(42, **ANN, BillingAddress={"StreetAddress1": "5 Elm St", "ZipCode": "100010026"})
    # When it is synced
    outcome = h.sync(42)
    # Then it is created in 2 calls (query + create): what QBO answered matches what we sent, postal code
    # included, so no catch-up update follows, and the history shows the postal code as it is
    assert (outcome.action, outcome.qbo_calls) == ("created", 2)
    assert h.link(42).snapshot["BillAddr"]["PostalCode"] == "100010026"
    [entry] = h.history.entries(MERCHANT, "42")
    assert entry.changes["BillAddr"].after["PostalCode"] == "100010026"


# -- failures ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        QboTransientError("QBO error - (HTTP 503)", status=503),
        QboThrottled("QBO error 3001 (HTTP 429)", status=429),
    ],
    ids=["5xx", "429"],
)
def test_transient_qbo_errors_are_raised_for_sqs_to_retry(h: Harness, error: QboError):
    # Given QBO fails transiently on the first call
    h.paysimple.save(42, **ANN)
    h.qbo.fail_next(error)
    # When the change is processed, then it raises and nothing is parked
    with pytest.raises(type(error)):
        h.sync(42)
    assert h.failures.list_failures(MERCHANT).items == []
    # And the redelivery ends right
    assert h.service.process(h.message(42)).action == "created"


def test_a_transient_paysimple_error_is_raised_and_an_auth_error_is_parked(h: Harness):
    h.paysimple.save(42, **ANN)
    # Given PaySimple fails with a 503, then with a 401
    h.paysimple.fail_next(PaySimpleTransientError("PaySimple answered HTTP 503", status_code=503))
    with pytest.raises(PaySimpleTransientError):
        h.sync(42)
    h.paysimple.fail_next(PaySimpleAuthError("PaySimple answered HTTP 401", status_code=401))
    outcome = h.sync(42)
    # Then only the auth error is parked
    assert (outcome.action, outcome.reason) == ("parked", "paysimple_auth_failed")


def test_a_broken_qbo_connection_parks_the_change_until_a_redrive_after_reconnecting(h: Harness):
    # Given the merchant's QBO connection is broken (invalid_grant)
    h.paysimple.save(42, **ANN)
    h.clients.disconnected.add(MERCHANT)
    message = h.message(42)
    outcome = h.service.process(message)
    # Then the change is parked with its message, and nothing was lost
    failure = h.failures.get_failure(MERCHANT, "42", message.event_id)
    assert (outcome.action, outcome.reason) == ("parked", "qbo_connection_broken")
    assert failure is not None and failure.message == message
    # When the merchant reconnects and the admin redrives it
    h.clients.disconnected.clear()
    redriven = h.service.process(message.model_copy(update={"redrive_attempt": 1}))
    # Then it syncs and the parked failure is gone
    assert redriven.action == "created"
    assert h.failures.get_failure(MERCHANT, "42", message.event_id) is None


def test_a_change_parked_before_a_pause_is_applied_when_redriven_after_the_resume(h: Harness):
    # Given a change parked because the connection broke, while sync was on
    h.paysimple.save(42, **ANN)
    h.clients.disconnected.add(MERCHANT)
    message = h.message(42)
    assert h.service.process(message).action == "parked"
    # When the admin pauses sync, reconnects, resumes, and redrives the change
    h.clock.advance(minutes=5)
    h.settings.update_settings(MERCHANT, SettingsChanges(sync_enabled=False), now=h.clock.now())
    h.clients.disconnected.clear()
    h.clock.advance(minutes=5)
    h.settings.update_settings(MERCHANT, SettingsChanges(sync_enabled=True), now=h.clock.now())
    h.clock.advance(minutes=1)
    redriven = h.service.process(message.model_copy(update={"redrive_attempt": 1}))
    # Then it is applied (it was saved while sync was on), and its parked entry is gone
    assert redriven.action == "created"
    assert h.failures.get_failure(MERCHANT, "42", message.event_id) is None


def test_a_change_saved_during_a_pause_is_skipped_after_the_resume(h: Harness):
    # Given sync paused and resumed, and a customer saved during the pause
    h.settings.update_settings(MERCHANT, SettingsChanges(sync_enabled=False), now=h.clock.now())
    h.clock.advance(minutes=5)
    paused_save = h.clock.now()
    h.paysimple.save(42, **ANN)
    h.clock.advance(minutes=5)
    h.settings.update_settings(MERCHANT, SettingsChanges(sync_enabled=True), now=h.clock.now())
    # When its change arrives, then it is skipped: saved while sync was off
    outcome = h.sync(42, at=paused_save)
    assert (outcome.action, outcome.detail, outcome.qbo_calls) == ("skipped", "before_sync_enabled", 0)


def test_a_change_redriven_while_sync_is_off_stays_parked_with_that_reason(h: Harness):
    # Given a parked change, and sync switched off
    h.paysimple.save(42, **ANN)
    h.clients.disconnected.add(MERCHANT)
    message = h.message(42)
    h.service.process(message)
    h.clients.disconnected.clear()
    h.settings.update_settings(MERCHANT, SettingsChanges(sync_enabled=False), now=h.clock.now())
    # When the admin redrives it
    outcome = h.service.process(message.model_copy(update={"redrive_attempt": 1}))
    # Then it is skipped, and its parked entry stays, with the new outcome as its reason
    assert (outcome.action, outcome.detail) == ("skipped", "sync_disabled")
    failure = h.failures.get_failure(MERCHANT, "42", message.event_id)
    assert failure is not None
    assert (failure.reason, failure.attempts, failure.message.redrive_attempt) == ("sync_disabled", 2, 1)
    assert h.qbo.customers == {}


def test_a_validation_error_on_update_is_parked_and_the_link_kept(h: Harness):
    # Given a linked customer, and QBO rejecting the next update (6000)
    linked_ann(h)
    version = h.link(42).version
    h.qbo.fail_next(QboValidationError("6000", "QBO error 6000 (HTTP 400): business rule", status=400))
    h.paysimple.save(42, **{**ANN, "Phone": "3035550199"})
    # When the save is synced
    outcome = h.sync(42)
    # Then it is parked with the code, and the link is untouched
    assert (outcome.action, outcome.reason, outcome.detail) == ("parked", "qbo_validation_error", "6000")
    assert h.link(42).version == version
    history = h.history.entries(MERCHANT, "42")[0]
    assert history.action == "parked" and history.error and "6000" in history.error


def test_a_merchant_without_paysimple_credentials_is_parked():
    # Given a merchant the clients know nothing about
    h = build_harness()
    h.clients.paysimple_by_merchant.clear()
    # When a change arrives, then it is parked
    outcome = h.sync(42)
    assert (outcome.action, outcome.reason) == ("parked", "merchant_not_configured")


def test_parking_the_same_event_again_counts_attempts(h: Harness):
    # Given a change parked once
    h.clients.disconnected.add(MERCHANT)
    h.paysimple.save(42, **ANN)
    message = h.message(42)
    h.service.process(message)
    # When its redrive fails the same way
    h.service.process(message.model_copy(update={"redrive_attempt": 1}))
    # Then one failure with two attempts
    failure = h.failures.get_failure(MERCHANT, "42", message.event_id)
    assert failure is not None and failure.attempts == 2


def test_the_last_successful_sync_time_moves_forward_on_success_only(h: Harness):
    # Given a parked change, then a successful one
    h.clients.disconnected.add(MERCHANT)
    h.paysimple.save(42, **ANN)
    h.sync(42)
    assert h.settings.last_successful_sync(MERCHANT) is None
    h.clients.disconnected.clear()
    h.sync(42)
    # Then only the success is recorded
    assert h.settings.last_successful_sync(MERCHANT) == h.clock.now()


def test_history_of_a_created_customer_shows_each_field_written(h: Harness):
    h.paysimple.save(42, **ANN)
    outcome = h.sync(42)
    entry = h.history.entries(MERCHANT, "42")[0]
    assert (entry.action, entry.qbo_calls, entry.qbo_customer_id) == ("created", 2, outcome.qbo_customer_id)
    assert entry.changes["DisplayName"].after == "Ann Lee"
    assert entry.changes["GivenName"].before is None


def test_mapping_rows_keep_their_targets(h: Harness):
    # Given CustomerAccount mapped to Notes
    rows = [*default_mapping().rows]
    rows = [r for r in rows if r.paysimple_field != "CustomerAccount"] + [
        MappingRow(paysimple_field="CustomerAccount", qbo_field="Notes", enabled=True)
    ]
    h.mappings.save_mapping(MERCHANT, rows, now=h.clock.now())
    h.paysimple.save(42, **ANN, CustomerAccount="A-77")
    # When created, then the account reference is in the notes
    outcome = h.sync(42)
    assert h.qbo.customers[outcome.qbo_customer_id or ""]["Notes"] == "A-77"


# -- one decision per name -----------------------------------------------------------------------------------

ANN_LEE = claim_name("Ann", "Lee")


def test_a_create_claims_its_name_and_releases_it_once_created(h: Harness):
    # Given a new customer
    h.paysimple.save(42, **ANN)
    # When its change is synced
    outcome = h.sync(42)
    # Then it was created, and its claim on the name is held by it and released
    assert outcome.action == "created"
    owner, _, released_at = h.links.name_claims[(MERCHANT, ANN_LEE)]
    assert owner == "42" and released_at is not None


def test_a_name_another_customer_is_creating_waits_for_it_and_then_ends_as_if_one_after_the_other(
    h: Harness,
):
    # Given customer 41 holds the claim on "Ann Lee" (its create is under way elsewhere)
    h.links.name_claims[(MERCHANT, ANN_LEE)] = ("41", h.clock.now().timestamp() + 3600, None)
    h.paysimple.save(42, **ANN)
    message = h.message(42)
    # When customer 42 of the same name arrives
    with pytest.raises(NameClaimedElsewhere):
        h.service.process(message)
    # Then nothing was created, and the change is delivered again (transient)
    assert h.qbo.customers == {}
    # When 41's create is done (its QBO customer linked, its claim released) and 42 is delivered again
    h.paysimple.save(41, **ANN)
    h.links.name_claims.pop((MERCHANT, ANN_LEE))
    first = h.sync(41)
    h.clock.advance(seconds=5)
    again = h.service.process(message, delivery=2)
    # Then 42 waits on the unlinked list with 41's QBO customer, as it would have one after the other
    assert (first.action, again.action, again.reason) == ("created", "unlinked", "already_linked")
    assert [candidate.qbo_customer_id for candidate in h.link(42).candidates] == [first.qbo_customer_id]
    assert len(h.qbo.customers) == 1


def test_a_qbo_customer_another_customer_of_the_name_is_creating_is_never_linked_by_name(h: Harness):
    # Given 41's create of "Ann Lee" is under way (claimed, not released) and its QBO customer exists
    h.links.name_claims[(MERCHANT, ANN_LEE)] = ("41", h.clock.now().timestamp() + 3600, None)
    h.qbo.seed_customer(**qbo_customer("Ann", "Lee"))
    h.paysimple.save(42, **ANN)
    # When 42 of the same name finds it by name, then it waits: 41's link is about to take it
    with pytest.raises(NameClaimedElsewhere):
        h.sync(42)
    # And once 41's claim is released, 42 links it (nobody else did)
    owner, expires_at, _ = h.links.name_claims[(MERCHANT, ANN_LEE)]
    h.links.name_claims[(MERCHANT, ANN_LEE)] = (owner, expires_at, h.clock.now().timestamp())
    assert h.sync(42).action == "linked"


def test_a_claim_released_after_the_lookup_means_the_lookup_is_made_again(h: Harness):
    # Given 41's claim on the name, released a moment after 42's lookup would start
    h.links.name_claims[(MERCHANT, ANN_LEE)] = (
        "41",
        h.clock.now().timestamp() + 3600,
        h.clock.now().timestamp() + 2,
    )
    h.paysimple.save(42, **ANN)
    # When 42 is synced, then it waits (its lookup may not have seen 41's customer)
    with pytest.raises(NameClaimedElsewhere):
        h.sync(42)


def test_an_expired_claim_of_a_create_that_never_finished_is_taken_over(h: Harness):
    # Given a claim whose create crashed for good more than an hour ago
    h.links.name_claims[(MERCHANT, ANN_LEE)] = ("41", h.clock.now().timestamp() - 1, None)
    h.paysimple.save(42, **ANN)
    # When 42 is synced, then it creates the customer
    assert h.sync(42).action == "created"
    assert h.links.name_claims[(MERCHANT, ANN_LEE)][0] == "42"


def test_a_create_the_broken_connection_interrupted_keeps_its_claim(h: Harness):
    # Given a create decided, then QBO's connection breaks before the create is made
    h.paysimple.save(42, **ANN)
    h.qbo.fail_next(QboConnectionBroken("invalid_grant"), operation="create")
    # When the change is parked
    assert h.sync(42).action == "parked"
    # Then the name stays claimed for the redrive that resumes the same create
    owner, _, released_at = h.links.name_claims[(MERCHANT, ANN_LEE)]
    assert (owner, released_at) == ("42", None)


# -- batches -----------------------------------------------------------------------------------------------


def sync_batch(h: Harness, messages: list[CustomerChangeMessage]) -> list[SyncOutcome | Exception]:
    """The changes as one Lambda batch: each processed in order with the batch's shared state."""
    h.clock.advance(seconds=1)
    batch = h.service.start_batch(messages)
    results: list[SyncOutcome | Exception] = []
    for message in messages:
        try:
            results.append(h.service.process(message, batch))
        except Exception as error:  # what the handler would hand back to SQS
            results.append(error)
    return results


def test_a_batch_of_ten_new_customers_costs_one_name_query_and_one_create_each(h: Harness):
    # Given ten new customers, one of whom QBO already holds
    h.qbo.seed_customer(GivenName="Cus", FamilyName="Tomer3", DisplayName="Cus Tomer3")
    for number in range(10):
        h.paysimple.save(100 + number, FirstName="Cus", LastName=f"Tomer{number}")
    messages = [h.message(100 + number, event_type="customer_created") for number in range(10)]
    configs_read, prefetches = h.configs.reads, h.journal.prefetches
    # When they arrive in one batch
    outcomes = sync_batch(h, messages)
    # Then one query served all ten: nine creates and one link, and the batch read its state once
    assert [outcome.action for outcome in outcomes if isinstance(outcome, SyncOutcome)] == [
        "linked" if number == 3 else "created" for number in range(10)
    ]
    assert h.qbo.operations() == ["query"] + ["create"] * 9
    assert h.configs.reads - configs_read == 1
    assert h.journal.prefetches - prefetches == 1


def test_two_new_customers_with_one_name_in_one_batch_end_as_they_would_one_after_the_other(h: Harness):
    # Given two different PaySimple customers called Ann Lee, new to QBO
    h.paysimple.save(42, **ANN)
    h.paysimple.save(43, **{**ANN, "Email": "other.ann@example.com"})
    # When they arrive in one batch
    first, second = sync_batch(
        h, [h.message(42, event_type="customer_created"), h.message(43, event_type="customer_created")]
    )
    # Then the first is created; the second finds her, already linked, and waits for the admin
    assert isinstance(first, SyncOutcome) and first.action == "created"
    assert isinstance(second, SyncOutcome)
    assert (second.action, second.reason) == ("unlinked", "already_linked")
    assert h.qbo.operations() == ["query", "create"]


def test_a_company_with_no_qbo_budget_left_gets_its_change_back_before_anything_is_fetched(h: Harness):
    # Given a merchant whose company's QBO budget is known to be used up for 5 s
    h.paysimple.save(42, **ANN)
    h.qbo.budget_used_up_for = 5.0
    # When a change arrives
    with pytest.raises(QboBudgetExhausted) as raised:
        h.sync(42, event_type="customer_created")
    # Then it goes back (to come back in 5 s) with nothing fetched, called or written, and no history noise
    assert raised.value.retry_after == 5.0
    assert h.paysimple.fetches == 0 and h.qbo.calls_made == 0
    assert h.history.entries(MERCHANT, "42") == [] and h.links.get(MERCHANT, "42") is None


def test_new_customers_the_budget_sends_back_after_the_batch_query_need_no_second_query(h: Harness):
    # Given two new customers in one batch, and the company's budget running out after the name query
    h.paysimple.save(42, **ANN)
    h.paysimple.save(43, FirstName="Bea", LastName="Bell")
    messages = [h.message(42, event_type="customer_created"), h.message(43, event_type="customer_created")]
    h.qbo.fail_next(QboBudgetExhausted(retry_after=1.0), operation="create")
    h.qbo.fail_next(QboBudgetExhausted(retry_after=1.0), operation="create")
    # When the batch meets the empty budget at the creates
    first = sync_batch(h, messages)
    # Then both went back to SQS, each with its create intent stored by the batch's lookup
    assert all(isinstance(result, QboBudgetExhausted) for result in first)
    assert [h.link(42).reason, h.link(43).reason] == ["creating", "creating"]
    # And when SQS delivers them again, they are created without another query
    again = sync_batch(h, [h.message(42, event_type="customer_created"), h.message(43)])
    assert [result.action for result in again if isinstance(result, SyncOutcome)] == ["created", "created"]
    assert h.qbo.operations() == ["query", "create", "create", "create", "create"]


def test_a_change_delivered_again_after_it_was_done_gets_its_first_outcome_back(h: Harness):
    # Given a change that was synced
    h.paysimple.save(42, **ANN)
    message = h.message(42, event_type="customer_created")
    first = h.service.process(message)
    fetches, calls = h.paysimple.fetches, h.qbo.calls_made
    # When SQS delivers the same change again
    again = h.service.process(message)
    # Then it is answered from the stored outcome: nothing fetched, called or recorded twice
    assert again == first.model_copy(update={"duplicate": True})
    assert (h.paysimple.fetches, h.qbo.calls_made) == (fetches, calls)
    assert [entry.action for entry in h.history.entries(MERCHANT, "42")] == ["created"]
