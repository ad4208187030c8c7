"""What a change in QBO does to the links (domain/qbo_changes.py), with in-memory fakes: one test per rule,
and the QBO reads each costs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from customer_sync.domain.qbo_changes import QboChangeService
from customer_sync.models.history import ParkedFailure
from customer_sync.models.links import CustomerLink
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.models.qbo_events import QboChangeKind, QboChangeMessage
from tests.fakes.merchant_clients import FakeMerchantClients, SettableClock
from tests.fakes.qbo_side import InMemoryNameVariants, InMemoryRealmDirectory, RecordingChangePublisher
from tests.fakes.repositories import (
    InMemoryFailuresRepository,
    InMemoryHistoryRepository,
    InMemoryLinksRepository,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MERCHANT, REALM = "1225", "9130350000000001"
SNAPSHOT = {"GivenName": "Ann", "FamilyName": "Lee", "PrimaryPhone": {"FreeFormNumber": "3035550101"}}


class World:
    def __init__(self) -> None:
        self.clock = SettableClock(NOW)
        self.realms = InMemoryRealmDirectory()
        self.realms.register(MERCHANT, REALM)
        self.variants = InMemoryNameVariants()  # not built: no read for a customer nobody links
        self.links = InMemoryLinksRepository()
        self.history = InMemoryHistoryRepository()
        self.failures = InMemoryFailuresRepository()
        self.publisher = RecordingChangePublisher()
        self.clients = FakeMerchantClients()
        _, self.qbo = self.clients.add_merchant(MERCHANT)
        self.service = QboChangeService(
            realms=self.realms,
            variants=self.variants,
            links=self.links,
            history=self.history,
            failures=self.failures,
            publisher=self.publisher,
            clients=self.clients,
            clock=self.clock,
        )

    def linked(self, paysimple_id: str = "41", **fields: Any) -> tuple[CustomerLink, str]:
        """A customer we created in QBO: snapshot and SyncToken of our last write, its time."""
        qbo_id = self.qbo.seed_customer(DisplayName=f"Ann Lee {paysimple_id}", **SNAPSHOT, **fields)["Id"]
        link = self.links.save_linked(
            CustomerLink(
                merchant_id=MERCHANT,
                paysimple_customer_id=paysimple_id,
                status="linked",
                qbo_customer_id=qbo_id,
                qbo_sync_token="0",
                snapshot=dict(SNAPSHOT),
                qbo_updated_at=NOW,
                updated_at=NOW,
            ),
            expected_version=0,
        )
        return link, qbo_id

    def link(self, paysimple_id: str = "41") -> CustomerLink:
        link = self.links.get(MERCHANT, paysimple_id)
        assert link is not None
        return link

    def actions(self, paysimple_id: str = "41") -> list[str]:
        return [entry.action for entry in self.history.entries(MERCHANT, paysimple_id)]


def change(
    qbo_id: str, kind: QboChangeKind = "updated", *, at: datetime | None = None, **extra: Any
) -> QboChangeMessage:
    return QboChangeMessage(
        realm_id=REALM,
        qbo_customer_id=qbo_id,
        change=kind,
        event_id=extra.pop("event_id", f"evt-{qbo_id}-{kind}-{(at or NOW).timestamp()}"),
        occurred_at=at or NOW + timedelta(seconds=5),
        **extra,
    )


@pytest.fixture
def world() -> World:
    return World()


def test_our_own_write_echoed_back_costs_no_read_and_changes_nothing(world: World) -> None:
    _, qbo_id = world.linked()
    [outcome] = world.service.process(change(qbo_id, at=NOW))
    assert (outcome.action, outcome.qbo_reads) == ("echo", 0)
    assert world.qbo.operations() == []
    assert world.actions() == []


def test_a_later_event_with_the_same_sync_token_is_nothing_new(world: World) -> None:
    _, qbo_id = world.linked()
    [outcome] = world.service.process(change(qbo_id))
    assert (outcome.action, outcome.qbo_reads) == ("echo", 1)
    assert world.actions() == []


def test_a_persons_edit_of_a_mapped_field_is_drift_with_history_and_the_newer_token(world: World) -> None:
    _, qbo_id = world.linked()
    world.qbo.edit(qbo_id, GivenName="Annie")
    [outcome] = world.service.process(change(qbo_id))
    link = world.link()
    assert (outcome.action, outcome.qbo_reads, outcome.detail) == ("edited", 1, "drift: GivenName")
    assert [(d.field, d.ours, d.theirs) for d in link.drift] == [("GivenName", "Ann", "Annie")]
    assert link.qbo_sync_token == "1"
    [entry] = world.history.entries(MERCHANT, "41")
    assert (entry.action, entry.qbo_calls, entry.event_type) == ("qbo_edited", 1, "qbo.customer.updated.v1")


def test_an_edit_of_a_field_we_do_not_write_only_moves_the_token_on(world: World) -> None:
    _, qbo_id = world.linked()
    world.qbo.edit(qbo_id, Notes="called")
    world.service.process(change(qbo_id))
    assert (world.link().drift, world.link().qbo_sync_token) == ([], "1")
    assert world.actions() == []


@pytest.mark.parametrize("announced_as", ["updated", "deleted"])
def test_made_inactive_is_flagged_whatever_event_announced_it(
    world: World, announced_as: QboChangeKind
) -> None:
    _, qbo_id = world.linked()
    world.qbo.edit(qbo_id, Active=False)
    [outcome] = world.service.process(change(qbo_id, announced_as))
    assert outcome.action == "inactive"
    assert world.link().qbo_flag == "inactive"
    assert world.actions() == ["qbo_inactive"]


def test_made_active_again_clears_the_flag_and_queues_the_held_changes(world: World) -> None:
    _, qbo_id = world.linked()
    world.qbo.edit(qbo_id, Active=False)
    world.service.process(change(qbo_id, at=NOW + timedelta(seconds=5)))
    held = CustomerChangeMessage(
        merchant_id=MERCHANT,
        customer_id="41",
        event_type="customer_updated",
        event_id="evt-held",
        occurred_at=NOW,
    )
    world.failures.park(
        ParkedFailure(
            merchant_id=MERCHANT,
            paysimple_customer_id="41",
            event_id="evt-held",
            message=held,
            reason="qbo_customer_inactive",
            parked_at=NOW,
        )
    )
    world.qbo.edit(qbo_id, Active=True)
    [outcome] = world.service.process(change(qbo_id, at=NOW + timedelta(seconds=9)))
    assert (outcome.action, outcome.redriven) == ("reactivated", 1)
    assert world.link().qbo_flag is None
    [queued] = world.publisher.changes
    assert (queued.event_id, queued.redrive_attempt) == ("evt-held", 1)
    # (the held entry waits for that attempt: the sync removes it once the change is applied)
    assert [f.message.redrive_attempt for f in world.failures.list_failures(MERCHANT).items] == [1]


def test_a_customer_gone_from_qbo_is_flagged_deleted_and_kept(world: World) -> None:
    _, qbo_id = world.linked()
    world.qbo.remove(qbo_id)
    [outcome] = world.service.process(change(qbo_id, "deleted"))
    assert outcome.action == "deleted"
    link = world.link()
    assert (link.status, link.qbo_customer_id, link.qbo_flag) == ("linked", qbo_id, "deleted")


def test_a_merge_moves_the_link_to_the_survivor_without_a_read(world: World) -> None:
    _, merged_id = world.linked()
    survivor = world.qbo.seed_customer(DisplayName="Ann M. Lee")["Id"]
    world.qbo.remove(merged_id)
    [outcome] = world.service.process(change(survivor, "merged", deleted_id=merged_id))
    link = world.link()
    assert (outcome.action, outcome.qbo_reads) == ("relinked", 0)
    assert (link.qbo_customer_id, link.reason, link.qbo_sync_token, link.snapshot) == (
        survivor,
        "qbo_merge",
        None,
        {},
    )
    assert world.links.qbo_link_owner(MERCHANT, survivor) == "41"
    assert world.links.qbo_link_owner(MERCHANT, merged_id) is None
    assert world.actions() == ["qbo_merged"]


def test_a_merge_into_a_customer_linked_to_someone_else_goes_to_the_unlinked_list(world: World) -> None:
    _, merged_id = world.linked("41")
    _, survivor = world.linked("42")
    [outcome] = world.service.process(change(survivor, "merged", deleted_id=merged_id))
    link = world.link("41")
    assert outcome.action == "unlinked"
    assert (link.status, link.reason) == ("unlinked", "qbo_merged_into_linked")
    assert [candidate.qbo_customer_id for candidate in link.candidates] == [survivor]
    assert world.links.qbo_link_owner(MERCHANT, survivor) == "42"


@pytest.mark.parametrize(
    ("setup", "detail"),
    [
        pytest.param("unlinked_customer", "not_linked", id="a QBO customer nobody links"),
        pytest.param("other_company", "company_not_connected", id="a company nobody is connected to"),
        pytest.param(
            "broken_connection", "qbo_connection_broken", id="the merchant's QBO connection is broken"
        ),
    ],
)
def test_changes_that_are_not_ours_to_follow_are_ignored(world: World, setup: str, detail: str) -> None:
    _, qbo_id = world.linked()
    message = change(world.qbo.seed_customer(DisplayName="Bob Ray")["Id"])
    if setup == "other_company":
        message = message.model_copy(update={"realm_id": "999"})
    if setup == "broken_connection":
        world.clients.disconnected.add(MERCHANT)
        world.qbo.edit(qbo_id, GivenName="Annie")
        message = change(qbo_id)
    [outcome] = world.service.process(message)
    assert (outcome.action, outcome.detail) == ("ignored", detail)
    assert world.actions() == []


def test_a_company_serving_two_merchants_changes_each_ones_link(world: World) -> None:
    world.realms.register("1226", REALM)
    _, qbo_id = world.linked()
    world.links.save_linked(world.link().revised(merchant_id="1226", version=0), expected_version=0)
    world.clients.qbo_by_merchant["1226"] = world.qbo
    world.qbo.edit(qbo_id, GivenName="Annie")
    outcomes = world.service.process(change(qbo_id))
    assert sorted((o.merchant_id, o.action) for o in outcomes) == [("1225", "edited"), ("1226", "edited")]


def test_a_cdc_object_is_applied_without_a_read_and_named_in_the_history(world: World) -> None:
    _, qbo_id = world.linked()
    world.qbo.edit(qbo_id, PrimaryPhone={"FreeFormNumber": "7205550199"})
    current = {**world.qbo.customers[qbo_id], "MetaData": {"LastUpdatedTime": "2026-11-25T05:00:09-07:00"}}
    [outcome] = world.service.observe(REALM, current)
    assert (outcome.action, outcome.qbo_reads) == ("edited", 0)
    assert world.qbo.operations() == []
    [entry] = world.history.entries(MERCHANT, "41")
    assert entry.event_type == "qbo.cdc"
    # Seeing the same object again records nothing more
    world.service.observe(REALM, current)
    assert len(world.history.entries(MERCHANT, "41")) == 1


def test_a_cdc_deleted_object_flags_the_link(world: World) -> None:
    _, qbo_id = world.linked()
    [outcome] = world.service.observe(REALM, {"domain": "QBO", "status": "Deleted", "Id": qbo_id})
    assert outcome.action == "deleted"
    assert world.link().qbo_flag == "deleted"


# -- the company's name variants (domain/name_variants.py) -----------------------------------------------

CURLY = {"GivenName": "Sean", "FamilyName": "O\u2019Brien", "DisplayName": "Sean O\u2019Brien"}


def kept(world: World) -> list[str]:
    variants = world.variants.load(MERCHANT, REALM)
    assert variants is not None
    return [str(customer["Id"]) for customer in variants.customers]


def test_a_customer_a_person_typed_into_qbo_is_read_once_and_kept_as_a_name_variant(world: World) -> None:
    world.variants.replace(MERCHANT, REALM, [], built_at=NOW)
    typed = world.qbo.seed_customer(**CURLY)["Id"]
    [ignored, indexed] = world.service.process(change(typed, "created"))
    assert (ignored.action, ignored.detail) == ("ignored", "not_linked")
    assert (indexed.action, indexed.qbo_reads, indexed.detail) == ("indexed", 1, "variant")
    assert kept(world) == [typed]
    # Retyped in normalized form, it is dropped (the sync's exact query finds it now)
    world.qbo.edit(typed, FamilyName="O'Brien")
    [_, indexed] = world.service.process(change(typed, at=NOW + timedelta(seconds=9)))
    assert (indexed.action, indexed.qbo_reads, indexed.detail) == ("indexed", 1, "regular")
    assert kept(world) == []


def test_before_the_variants_are_built_a_customer_nobody_links_costs_no_read(world: World) -> None:
    typed = world.qbo.seed_customer(**CURLY)["Id"]
    [outcome] = world.service.process(change(typed, "created"))
    assert (outcome.action, outcome.qbo_reads) == ("ignored", 0)
    assert world.qbo.operations() == [] and world.variants.load(MERCHANT, REALM) is None


def test_our_own_echo_is_not_read_for_the_variants_and_a_persons_edit_uses_the_one_read(world: World) -> None:
    world.variants.replace(MERCHANT, REALM, [], built_at=NOW)
    _, qbo_id = world.linked()
    [outcome] = world.service.process(change(qbo_id, at=NOW))
    assert (outcome.action, world.qbo.operations()) == ("echo", [])
    world.qbo.edit(qbo_id, FamilyName="Lee ")  # a person added a space
    [outcome] = world.service.process(change(qbo_id))
    assert (outcome.action, outcome.qbo_reads) == ("edited", 1)  # the drift's read, and no second one
    assert kept(world) == [qbo_id]


def test_deleted_merged_away_and_inactive_customers_are_dropped(world: World) -> None:
    ids = [world.qbo.seed_customer(**{**CURLY, "DisplayName": f"Sean O'Brien {n}"})["Id"] for n in range(3)]
    world.variants.replace(MERCHANT, REALM, [world.qbo.customers[qbo_id] for qbo_id in ids], built_at=NOW)
    world.service.process(change(ids[0], "deleted"))
    world.service.process(change("999", "merged", deleted_id=ids[1]))
    world.qbo.edit(ids[2], Active=False)
    world.service.observe(
        REALM, {**world.qbo.customers[ids[2]], "MetaData": {"LastUpdatedTime": NOW.isoformat()}}
    )
    assert kept(world) == []
    assert world.qbo.operations() == []  # none of it needed a read


def test_a_cdc_object_keeps_the_variants_without_a_read(world: World) -> None:
    world.variants.replace(MERCHANT, REALM, [], built_at=NOW)
    typed = world.qbo.seed_customer(**CURLY)
    world.service.observe(REALM, {**typed, "MetaData": {"LastUpdatedTime": NOW.isoformat()}})
    assert kept(world) == [typed["Id"]]
    assert world.qbo.operations() == []
