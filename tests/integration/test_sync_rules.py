"""SyncFunction end to end (real handler, moto, QBO and PaySimple emulators over HTTP): every rule of the seed
article, one test each, and the QBO call counts the design promises, read from the emulator's call log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from customer_sync.adapters.dynamodb_settings import DynamoDbMappingRepository
from customer_sync.domain.mapping import default_mapping, validate_mapping
from customer_sync.models.mapping import MappingRow
from customer_sync.models.settings import SettingsChanges
from tests.support.sync_stack import SyncStack

ANN = {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@example.com", "Phone": "3035550101"}
NO_FAILURES: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}


def ann_in_qbo(**fields: object) -> dict[str, object]:
    return {"GivenName": "Ann", "FamilyName": "Lee", "DisplayName": "Ann Lee", **fields}


def created_ann(stack: SyncStack) -> tuple[int, str]:
    """A PaySimple customer synced into a new QBO customer; the call log is cleared afterwards."""
    customer_id = stack.save_customer(**ANN)
    assert stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    link = stack.link(customer_id)
    assert link.status == "linked" and link.qbo_customer_id
    stack.clear_qbo_calls()
    return customer_id, link.qbo_customer_id


# -- matching ----------------------------------------------------------------------------------------------


def test_a_customer_is_linked_to_the_qbo_customer_with_the_same_first_and_last_name(sync_stack: SyncStack):
    # Given a QBO customer "Ann Lee" (another email) and a PaySimple customer Ann Lee
    existing = sync_stack.seed_qbo_customer(**ann_in_qbo(PrimaryEmailAddr={"Address": "old@example.com"}))
    customer_id = sync_stack.save_customer(**ANN)
    # When the PaySimple customer is saved
    assert sync_stack.sync(customer_id) == NO_FAILURES
    # Then the two are linked by name, and PaySimple's email and phone flow to the QBO customer
    link = sync_stack.link(customer_id)
    assert (link.status, link.reason, link.qbo_customer_id) == ("linked", "name", existing["Id"])
    qbo_customer = sync_stack.qbo_customer(existing["Id"])
    assert qbo_customer["PrimaryEmailAddr"] == {"Address": "ann@example.com"}
    assert len(sync_stack.qbo_customers()) == 1


def test_several_name_matches_are_told_apart_by_email(sync_stack: SyncStack):
    # Given two QBO "Ann Lee"s, one with the PaySimple customer's email
    sync_stack.seed_qbo_customer(**ann_in_qbo(DisplayName="Ann Lee (Denver)"))
    with_email = sync_stack.seed_qbo_customer(**ann_in_qbo(PrimaryEmailAddr={"Address": "ANN@example.com"}))
    customer_id = sync_stack.save_customer(**ANN)
    # When the PaySimple customer is saved
    sync_stack.sync(customer_id)
    # Then it is linked to the one with the same email
    link = sync_stack.link(customer_id)
    assert (link.reason, link.qbo_customer_id) == ("name+email", with_email["Id"])


def test_a_customer_without_a_match_is_created_with_two_calls(sync_stack: SyncStack):
    # Given no QBO customer of that name
    customer_id = sync_stack.save_customer(**ANN)
    # When it is saved in PaySimple
    assert sync_stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    # Then one query and one create made the QBO customer, with DisplayName "First Last"
    assert [(c["operation"], c["status"]) for c in sync_stack.qbo_calls()] == [
        ("query", 200),
        ("create", 200),
    ]
    assert sync_stack.history(customer_id)[0].qbo_calls == 2
    [created] = sync_stack.qbo_customers()
    assert (created["DisplayName"], created["PrimaryPhone"]) == ("Ann Lee", {"FreeFormNumber": "3035550101"})
    assert sync_stack.link(customer_id).qbo_customer_id == created["Id"]


def test_an_ambiguous_match_waits_on_the_unlinked_list_with_its_candidates(sync_stack: SyncStack):
    # Given two QBO "Ann Lee"s, neither with the PaySimple email
    first = sync_stack.seed_qbo_customer(**ann_in_qbo(DisplayName="Ann Lee 1"))
    second = sync_stack.seed_qbo_customer(**ann_in_qbo(DisplayName="Ann Lee 2"))
    customer_id = sync_stack.save_customer(**ANN)
    # When the PaySimple customer is saved
    sync_stack.sync(customer_id)
    # Then it is unlinked, reason ambiguous, with both as candidates, and QBO was only queried
    link = sync_stack.link(customer_id)
    assert (link.status, link.reason) == ("unlinked", "ambiguous")
    assert [c.qbo_customer_id for c in link.candidates] == [first["Id"], second["Id"]]
    assert sync_stack.qbo_operations() == ["query"]


# -- no retroactive updates ----------------------------------------------------------------------------------


def test_enabling_sync_does_not_touch_existing_qbo_customers(sync_stack: SyncStack):
    # Given sync is off while customers exist on both sides and are saved in PaySimple
    sync_stack.update_settings(SettingsChanges(sync_enabled=False))
    sync_stack.seed_qbo_customer(**ann_in_qbo(PrimaryPhone={"FreeFormNumber": "1111111111"}))
    sync_stack.seed_qbo_customer(GivenName="Bob", FamilyName="Ray", DisplayName="Bob Ray")
    ann = sync_stack.save_customer(**ANN)
    bob = sync_stack.save_customer(FirstName="Bob", LastName="Ray", Email="bob@example.com")
    saved_while_off = [sync_stack.message(ann), sync_stack.message(bob)]
    sync_stack.deliver(*saved_while_off)
    before = sync_stack.qbo_customers()
    # When sync is enabled, and the changes saved while it was off are delivered again
    sync_stack.update_settings(SettingsChanges(sync_enabled=True))
    sync_stack.deliver(*[m.model_copy(update={"event_id": m.event_id + "-again"}) for m in saved_while_off])
    # Then QBO was never called: nothing is overwritten retroactively
    assert sync_stack.qbo_customers() == before
    assert sync_stack.qbo_operations() == []
    # And only a save made after enabling updates the matched customer
    sync_stack.sync(ann)
    assert sync_stack.qbo_customer(sync_stack.link(ann).qbo_customer_id or "")["PrimaryPhone"] == {
        "FreeFormNumber": "3035550101"
    }
    assert sync_stack.qbo_customers()[1] == before[1]


def test_an_event_from_before_sync_was_enabled_is_skipped(sync_stack: SyncStack):
    # Given a change that happened a minute before the merchant enabled sync
    customer_id = sync_stack.save_customer(**ANN)
    enabled_at = sync_stack.merchant.settings.enabled_at
    assert enabled_at is not None
    # When it is delivered
    assert sync_stack.sync(customer_id, at=enabled_at - timedelta(minutes=1)) == NO_FAILURES
    # Then it is skipped: no QBO call, no customer
    assert sync_stack.qbo_operations() == [] and sync_stack.qbo_customers() == []
    assert sync_stack.actions(customer_id) == ["skipped"]


# -- field mapping -------------------------------------------------------------------------------------------


def test_a_mapping_change_affects_only_saves_made_after_it(sync_stack: SyncStack):
    # Given a linked customer, and Notes enabled in a mapping saved at T
    customer_id, qbo_id = created_ann(sync_stack)
    mapping_saved_at = datetime.now(UTC)
    sync_stack.set_mapping(at=mapping_saved_at, Notes=True)
    sync_stack.save_customer(Id=customer_id, **ANN, Notes="Prefers email")
    # When an event from before T is delivered
    sync_stack.sync(customer_id, at=mapping_saved_at - timedelta(seconds=1))
    # Then the note does not flow
    assert "Notes" not in sync_stack.qbo_customer(qbo_id)
    # And the next save after T carries it
    sync_stack.sync(customer_id, at=mapping_saved_at + timedelta(seconds=1))
    assert sync_stack.qbo_customer(qbo_id)["Notes"] == "Prefers email"


def test_a_disabled_field_is_never_written(sync_stack: SyncStack):
    # Given the phone mapping switched off before the customer is created
    sync_stack.set_mapping(Phone=False)
    customer_id, qbo_id = created_ann(sync_stack)
    assert "PrimaryPhone" not in sync_stack.qbo_customer(qbo_id)
    # When only the phone changes, then QBO is not called at all
    sync_stack.save_customer(Id=customer_id, **{**ANN, "Phone": "3035550199"})
    sync_stack.sync(customer_id)
    assert sync_stack.qbo_operations() == []
    # And when the email changes too, only the email is written
    sync_stack.save_customer(Id=customer_id, **{**ANN, "Phone": "3035550188", "Email": "ann@new.example.com"})
    sync_stack.sync(customer_id)
    assert sync_stack.history(customer_id)[0].changes.keys() == {"PrimaryEmailAddr"}
    assert "PrimaryPhone" not in sync_stack.qbo_customer(qbo_id)


def test_first_and_last_name_cannot_be_disabled(sync_stack: SyncStack):
    # Given a mapping with the names switched off: the rules refuse it
    rows = [
        MappingRow(paysimple_field=r.paysimple_field, qbo_field=r.qbo_field, enabled=False)
        for r in default_mapping().rows
    ]
    assert "FirstName is required and must stay enabled" in validate_mapping(rows)
    assert "LastName is required and must stay enabled" in validate_mapping(rows)
    # And even when such a mapping is in the table, the sync sends the names (and nothing else)
    DynamoDbMappingRepository(sync_stack.env["SETTINGS_TABLE_NAME"]).save_mapping(
        sync_stack.merchant_id, rows, now=datetime.now(UTC)
    )
    customer_id = sync_stack.save_customer(**ANN)
    sync_stack.sync(customer_id)
    [created] = sync_stack.qbo_customers()
    assert (created["GivenName"], created["FamilyName"]) == ("Ann", "Lee")
    assert "PrimaryEmailAddr" not in created and "PrimaryPhone" not in created


# -- payment data --------------------------------------------------------------------------------------------

CARD = "4111 1111 1111 1111"
SECRET_NUMBERS = (
    "4111111111111111",
    CARD,
    "4111-1111-1111-1111",
    "5500005555555559",
    "011000015",
    "7730498827",
)


def test_card_and_bank_numbers_never_reach_qbo_the_tables_or_the_logs(sync_stack: SyncStack, log_text):
    # Given notes (enabled) and an address holding card, routing and account numbers
    sync_stack.set_mapping(Notes=True)
    customer = {
        **ANN,
        "Company": "Lee 4111-1111-1111-1111",
        "Notes": f"Visa {CARD}; routing 011000015 acct 7730498827",
        "BillingAddress": {
            "StreetAddress1": "1 Main St",
            "StreetAddress2": "card 5500005555555559",
            "City": "Denver",
        },
    }
    customer_id = sync_stack.save_customer(**customer)
    # When it is created, then updated with another card in the notes
    sync_stack.sync(customer_id, event_type="customer_created")
    sync_stack.save_customer(Id=customer_id, **{**customer, "Notes": "new card 4111111111111111"})
    sync_stack.sync(customer_id)
    # Then QBO holds the redaction marker instead of any of them
    [created] = sync_stack.qbo_customers()
    assert "[redacted]" in created["Notes"] and "[redacted]" in created["CompanyName"]
    stored_anywhere = {
        "qbo": repr(sync_stack.qbo_customers()),
        "qbo call log": repr(sync_stack.qbo_calls()),
        "tables": sync_stack.all_table_items(),
        "logs": log_text(),
    }
    for where, text in stored_anywhere.items():
        for number in SECRET_NUMBERS:
            assert number not in text, f"{number} reached the {where}"


def test_a_card_number_echoed_in_a_qbo_fault_is_neither_stored_nor_logged(sync_stack: SyncStack, log_text):
    # Given QBO rejecting the create with a fault whose detail quotes the value it refused, a card number
    detail = f"String length is either shorter or longer than supported by specification. Notes: {CARD}"
    fault = {
        "Fault": {
            "Error": [
                {"Message": "Invalid string length", "Detail": detail, "code": "2050", "element": "Notes"}
            ],
            "type": "ValidationFault",
        },
        "time": "2026-03-02T10:00:00.000-07:00",
    }
    sync_stack.qbo.inject_fault(
        realm_id=sync_stack.realm_id, operation="create", status=400, body=json.dumps(fault)
    )
    customer_id = sync_stack.save_customer(**ANN)
    # When the customer is synced
    assert sync_stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    # Then the change is parked with QBO's code, and the card number is in no table and no log line
    [failure] = sync_stack.failures()
    assert (failure.reason, failure.code) == ("qbo_validation_error", "2050")
    stored_anywhere = {"tables": sync_stack.all_table_items(), "logs": log_text()}
    for where, text in stored_anywhere.items():
        for number in SECRET_NUMBERS:
            assert number not in text, f"{number} reached the {where}"


# -- QBO call counts -----------------------------------------------------------------------------------------


def test_an_update_of_a_linked_customer_costs_exactly_one_call(sync_stack: SyncStack):
    # Given a linked customer
    customer_id, qbo_id = created_ann(sync_stack)
    # When its phone changes
    sync_stack.save_customer(Id=customer_id, **{**ANN, "Phone": "3035550199"})
    sync_stack.sync(customer_id)
    # Then one sparse update carried it
    assert [(c["operation"], c["status"]) for c in sync_stack.qbo_calls()] == [("update", 200)]
    assert sync_stack.qbo_customer(qbo_id)["PrimaryPhone"] == {"FreeFormNumber": "3035550199"}
    assert sync_stack.history(customer_id)[0].qbo_calls == 1


def test_a_save_that_changes_no_enabled_field_costs_no_call(sync_stack: SyncStack):
    # Given a linked customer
    customer_id, _ = created_ann(sync_stack)
    # When a save changes only fields that are not synced
    sync_stack.save_customer(Id=customer_id, **ANN, Website="https://ann.example.com", Fax="3035550000")
    sync_stack.sync(customer_id)
    # Then QBO is not called
    assert sync_stack.qbo_calls() == []
    assert sync_stack.actions(customer_id)[-1] == "unchanged"
    assert sync_stack.history(customer_id)[0].qbo_calls == 0


def test_a_stale_sync_token_costs_three_calls_and_keeps_the_other_change(sync_stack: SyncStack):
    # Given a linked customer that someone else edited in QBO after our last write
    customer_id, qbo_id = created_ann(sync_stack)
    sync_stack.edit_in_qbo(qbo_id, CompanyName="Edited in QBO")
    sync_stack.clear_qbo_calls()
    # When its phone changes in PaySimple
    sync_stack.save_customer(Id=customer_id, **{**ANN, "Phone": "3035550199"})
    sync_stack.sync(customer_id)
    # Then update (5010), read, update
    assert [(c["operation"], c["status"]) for c in sync_stack.qbo_calls()] == [
        ("update", 400),
        ("read", 200),
        ("update", 200),
    ]
    customer = sync_stack.qbo_customer(qbo_id)
    assert customer["PrimaryPhone"] == {"FreeFormNumber": "3035550199"}
    assert customer["CompanyName"] == "Edited in QBO"
    assert sync_stack.link(customer_id).qbo_sync_token == customer["SyncToken"]
    assert sync_stack.history(customer_id)[0].qbo_calls == 3
