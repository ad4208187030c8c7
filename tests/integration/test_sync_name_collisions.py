"""6240 Duplicate Name on create, end to end (real handler, moto, emulators over HTTP). QBO keeps DisplayName
unique across customers, vendors and employees, inactive ones included; the sync's answer depends on who
holds the name (domain/sync/service.py, "6240")."""

from __future__ import annotations

from tests.support.sync_stack import SyncStack

ANN = {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@example.com"}
NO_FAILURES: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}


def test_a_name_held_by_a_vendor_is_created_with_the_collision_suffix(sync_stack: SyncStack):
    # Given a vendor named "Ann Lee" (vendor and customer ids overlap: the fault's Id means nothing here)
    sync_stack.qbo.seed_vendor(sync_stack.realm_id, "Ann Lee")
    customer_id = sync_stack.save_customer(**ANN)
    # When the PaySimple customer Ann Lee is synced
    assert sync_stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    # Then the create collided, no customer was found holding the name, and the suffixed create succeeded
    assert [(c["operation"], c["status"]) for c in sync_stack.qbo_calls()] == [
        ("query", 200),
        ("create", 400),
        ("query", 200),
        ("create", 200),
    ]
    [created] = sync_stack.qbo_customers()
    assert created["DisplayName"] == f"Ann Lee (PS-{customer_id})"
    assert (created["GivenName"], created["FamilyName"]) == ("Ann", "Lee")
    assert sync_stack.link(customer_id).qbo_customer_id == created["Id"]


def test_a_name_held_by_an_inactive_customer_is_flagged_and_never_reactivated(sync_stack: SyncStack):
    # Given an inactive QBO customer "Ann Lee" (inactive customers never match a name query)
    inactive = sync_stack.seed_qbo_customer(
        GivenName="Ann", FamilyName="Lee", DisplayName="Ann Lee", Active=False
    )
    customer_id = sync_stack.save_customer(**ANN)
    # When the PaySimple customer Ann Lee is synced
    assert sync_stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    # Then it waits on the unlinked list with the inactive customer as the candidate
    link = sync_stack.link(customer_id)
    assert (link.status, link.reason) == ("unlinked", "inactive_name_holder")
    assert [(c.qbo_customer_id, c.active) for c in link.candidates] == [(inactive["Id"], False)]
    # And QBO was not changed: no new customer, the inactive one still inactive
    [customer] = sync_stack.qbo_customers()
    assert customer["Active"] is False and customer["SyncToken"] == inactive["SyncToken"]


def test_a_name_held_by_an_active_customer_that_did_not_match_by_name_parts_is_left_for_the_admin(
    sync_stack: SyncStack,
):
    # Given an active QBO customer "Ann Lee" whose first/last name were never filled in
    holder = sync_stack.seed_qbo_customer(DisplayName="Ann Lee", CompanyName="Lee Bakery")
    customer_id = sync_stack.save_customer(**ANN)
    # When the PaySimple customer Ann Lee is synced
    assert sync_stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    # Then no suffixed duplicate is created: the customer waits for the admin, with that candidate
    link = sync_stack.link(customer_id)
    assert (link.status, link.reason) == ("unlinked", "display_name_taken")
    assert [c.qbo_customer_id for c in link.candidates] == [holder["Id"]]
    assert len(sync_stack.qbo_customers()) == 1


def test_a_suffixed_name_that_is_taken_too_is_parked(sync_stack: SyncStack):
    # Given vendors holding both "Ann Lee" and the suffixed name
    customer_id = sync_stack.save_customer(**ANN)
    sync_stack.qbo.seed_vendor(sync_stack.realm_id, "Ann Lee")
    sync_stack.qbo.seed_vendor(sync_stack.realm_id, f"Ann Lee (PS-{customer_id})")
    # When the customer is synced
    assert sync_stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    # Then the change is parked as an unresolvable collision and the customer is on the unlinked list
    [failure] = sync_stack.failures()
    assert (failure.reason, failure.code) == ("duplicate_name_unresolvable", "6240")
    assert sync_stack.link(customer_id).reason == "name_collision"
    assert sync_stack.qbo_customers() == []
