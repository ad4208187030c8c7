"""The admin's choices beside linking, end to end (AdminFunction and SyncFunction handlers, moto, the QBO
and PaySimple emulators over HTTP): Create in QuickBooks (idempotent like the sync's creates), merges made
visible and reversible, and go-live applied as links only, with the QBO calls read from the emulator's log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from customer_sync.adapters.dynamodb_links import DynamoDbLinksRepository
from customer_sync.adapters.qbo_client import QboClient
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.config.shared import SecretNames
from customer_sync.domain.sync.request_ids import create_request_id
from customer_sync.models.links import CustomerLink
from customer_sync.models.settings import SettingsChanges
from tests.fakes.tokens import FixedTokens
from tests.support.admin_api import call, stored_state
from tests.support.sync_stack import SyncStack

ANN = {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@example.com", "Phone": "3035550101"}
NO_FAILURES: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}


def path(stack: SyncStack, rest: str) -> str:
    return f"/admin/merchants/{stack.merchant_id}{rest}"


def ambiguous_ann(stack: SyncStack) -> int:
    """Ann left unlinked by the sync: two QBO "Ann Lee"s, neither with her email."""
    stack.seed_qbo_customer(DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")
    stack.seed_qbo_customer(DisplayName="Ann Lee (Denver)", GivenName="Ann", FamilyName="Lee")
    customer_id = stack.save_customer(**ANN)
    stack.sync(customer_id)
    assert stack.link(customer_id).reason == "ambiguous"
    stack.clear_qbo_calls()
    return customer_id


def operations_with_ids(stack: SyncStack) -> list[tuple[str, bool]]:
    return [
        (c["operation"], c["requestid"] is not None) for c in stack.qbo_calls() if c["operation"] != "token"
    ]


# -- Create in QuickBooks ----------------------------------------------------------------------------------


def test_create_in_quickbooks_makes_a_new_customer_with_the_suffix_when_the_name_is_taken(
    sync_stack: SyncStack,
) -> None:
    # Given Ann on the unlinked list, her name held by a QBO namesake
    customer_id = ambiguous_ann(sync_stack)
    # When the admin chooses Create in QuickBooks
    response = call("POST", path(sync_stack, f"/customers/{customer_id}/qbo-customer"))
    # Then a new QBO customer, named with the collision suffix, is linked to her (two creates with requestids)
    assert response.status == 200, response.text
    link = sync_stack.link(customer_id)
    assert (link.status, link.reason) == ("linked", "created_by_admin")
    created = sync_stack.qbo_customer(str(link.qbo_customer_id))
    assert created["DisplayName"] == f"Ann Lee (PS-{customer_id})"
    assert created["PrimaryPhone"] == {"FreeFormNumber": "3035550101"}
    assert operations_with_ids(sync_stack) == [("create", True), ("create", True)]
    assert len(sync_stack.qbo_customers()) == 3
    entry = sync_stack.history(customer_id)[0]
    assert (entry.action, entry.qbo_calls) == ("created", 2)
    # And her next save updates that customer like any linked one
    sync_stack.paysimple.save_customer(
        sync_stack.merchant_id, {**ANN, "Id": customer_id, "Phone": "3035550199"}, send_webhook=False
    )
    assert sync_stack.sync(customer_id) == NO_FAILURES
    assert sync_stack.qbo_customer(str(link.qbo_customer_id))["PrimaryPhone"] == {
        "FreeFormNumber": "3035550199"
    }


def test_create_in_quickbooks_after_a_lost_answer_gets_the_customer_qbo_already_made(
    sync_stack: SyncStack,
) -> None:
    # Given an earlier Create in QuickBooks stored its intent, reached QBO, and died before linking
    customer_id = sync_stack.save_customer(**ANN)
    links = DynamoDbLinksRepository(sync_stack.env["LINKS_TABLE_NAME"])
    intent = links.save_unlinked(
        CustomerLink(
            merchant_id=sync_stack.merchant_id,
            paysimple_customer_id=str(customer_id),
            status="unlinked",
            reason="creating",
            first_name="Ann",
            last_name="Lee",
            updated_at=datetime.now(UTC),
        ),
        expected_version=0,
    )
    names = SecretNames(secret_prefix=sync_stack.env["SECRET_PREFIX"])
    token = SecretsStore().get_json(names.qbo_connection(sync_stack.merchant_id))["access_token"]
    client = QboClient(sync_stack.env["QBO_API_BASE_URL"], sync_stack.realm_id, FixedTokens(token))
    request_id = create_request_id(sync_stack.merchant_id, str(customer_id), intent.version, "display_name")
    first = client.create_customer(
        {"DisplayName": "Ann Lee", "GivenName": "Ann", "FamilyName": "Lee"}, request_id=request_id
    )
    sync_stack.clear_qbo_calls()
    # When the admin tries again
    response = call("POST", path(sync_stack, f"/customers/{customer_id}/qbo-customer"))
    # Then QBO answers the repeated requestid with that customer: it is linked, and no second one exists
    assert response.status == 200, response.text
    assert sync_stack.link(customer_id).qbo_customer_id == first.Id
    assert [c["replayed"] for c in sync_stack.qbo_calls() if c["operation"] == "create"] == [True]
    assert len(sync_stack.qbo_customers()) == 1


def test_create_in_quickbooks_is_refused_for_a_linked_customer_and_writes_nothing(
    sync_stack: SyncStack,
) -> None:
    customer_id = sync_stack.save_customer(**ANN)
    sync_stack.sync(customer_id, event_type="customer_created")
    before = stored_state()
    sync_stack.clear_qbo_calls()
    response = call("POST", path(sync_stack, f"/customers/{customer_id}/qbo-customer"))
    assert response.status == 409
    assert stored_state() == before
    assert sync_stack.qbo_operations() == []


# -- merges, visible and reversible ------------------------------------------------------------------------


def test_a_merged_duplicates_saves_are_recorded_and_unmerge_returns_it_to_the_unlinked_list(
    sync_stack: SyncStack,
) -> None:
    # Given two PaySimple records of Ann, the second merged into the first (linked to a new QBO customer)
    primary = sync_stack.save_customer(**ANN)
    sync_stack.sync(primary, event_type="customer_created")
    duplicate = sync_stack.save_customer(**{**ANN, "Email": "ann@work.example.com"})
    sync_stack.sync(duplicate)  # Ann Lee is linked to the primary: the duplicate waits unlinked
    assert sync_stack.link(duplicate).status == "unlinked"
    merged = call(
        "POST",
        path(sync_stack, "/merges"),
        body={
            "primary_paysimple_customer_id": str(primary),
            "duplicate_paysimple_customer_ids": [str(duplicate)],
        },
    )
    assert merged.status == 200, merged.text
    # When the duplicate is saved in PaySimple again
    sync_stack.clear_qbo_calls()
    sync_stack.sync(duplicate)
    # Then nothing reaches QBO, and its history says where it went
    assert sync_stack.qbo_operations() == []
    latest = sync_stack.history(duplicate)[0]
    assert (latest.action, latest.detail) == ("skipped", f"merged into {primary}")
    # When the admin unmerges it
    response = call("DELETE", path(sync_stack, f"/merges/{duplicate}"))
    # Then it is back on the unlinked list, with the history of both sides saying so
    assert response.status == 200, response.text
    assert (response.json["status"], response.json["reason"]) == ("unlinked", "unmerged")
    unlinked = call("GET", path(sync_stack, "/customers"), query={"status": "unlinked"}).json
    assert str(duplicate) in [item["paysimple_customer_id"] for item in unlinked["items"]]
    assert sync_stack.history(duplicate)[0].action == "unmerged"
    assert sync_stack.history(primary)[0].action == "unmerged"
    # And unmerging what is not merged is refused
    assert call("DELETE", path(sync_stack, f"/merges/{primary}")).status == 409


def test_the_dry_run_says_what_happens_to_a_merged_duplicate(sync_stack: SyncStack) -> None:
    primary = sync_stack.save_customer(**ANN)
    sync_stack.sync(primary, event_type="customer_created")
    duplicate = sync_stack.save_customer(**ANN)
    sync_stack.sync(duplicate)
    call(
        "POST",
        path(sync_stack, "/merges"),
        body={
            "primary_paysimple_customer_id": str(primary),
            "duplicate_paysimple_customer_ids": [str(duplicate)],
        },
    )
    report = call(
        "POST", path(sync_stack, "/dry-run"), body={"paysimple_customer_ids": [str(duplicate)]}
    ).json
    [result] = report["results"]
    assert result["outcome"] == "merged"
    assert result["detail"] == (
        f"merged into PaySimple customer {primary}: its own saves are recorded in its history, not synced; "
        "unmerge it to sync it again"
    )


# -- go-live, applied ---------------------------------------------------------------------------------------


def test_go_live_links_the_unambiguous_matches_with_no_qbo_write_and_lists_the_rest(
    sync_stack: SyncStack,
) -> None:
    # Given sync off, a QBO company with John Doe and two Ann Lees, and PaySimple customers saved before
    sync_stack.update_settings(SettingsChanges(sync_enabled=False))
    john_qbo = sync_stack.seed_qbo_customer(DisplayName="John Doe", GivenName="John", FamilyName="Doe")["Id"]
    sync_stack.seed_qbo_customer(DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")
    sync_stack.seed_qbo_customer(DisplayName="Ann Lee (Denver)", GivenName="Ann", FamilyName="Lee")
    john = sync_stack.save_customer(FirstName="John", LastName="Doe", Email="john@example.com")
    ann = sync_stack.save_customer(**ANN)
    bob = sync_stack.save_customer(FirstName="Bob", LastName="Ray")
    sync_stack.clear_qbo_calls()
    # When the admin applies go-live for those customers
    ids = [str(john), str(ann), str(bob)]
    response = call("POST", path(sync_stack, "/go-live/apply"), body={"paysimple_customer_ids": ids})
    # Then John is linked, Ann (ambiguous) and Bob (no match) wait on the unlinked list, and QBO was only read
    assert response.status == 200, response.text
    actions = {r["paysimple_customer_id"]: (r["action"], r["reason"]) for r in response.json["results"]}
    assert actions == {
        str(john): ("linked", "name"),
        str(ann): ("for_review", "ambiguous"),
        str(bob): ("for_review", "no_match"),
    }
    assert {call_["operation"] for call_ in sync_stack.qbo_calls()} == {"query"}
    assert response.json["qbo_writes"] == 0
    assert sync_stack.link(john).qbo_customer_id == john_qbo
    assert len(sync_stack.link(ann).candidates) == 2
    unlinked = call("GET", path(sync_stack, "/customers"), query={"status": "unlinked"}).json
    assert {item["paysimple_customer_id"] for item in unlinked["items"]} == {str(ann), str(bob)}
    # And applying again changes nothing
    again = call("POST", path(sync_stack, "/go-live/apply"), body={"paysimple_customer_ids": ids}).json
    assert {r["action"] for r in again["results"]} == {"unchanged"}, again
    # When sync is on and John is saved, his first write reads the QBO customer, then updates it
    sync_stack.update_settings(SettingsChanges(sync_enabled=True))
    sync_stack.clear_qbo_calls()
    later = datetime.now(UTC) + timedelta(seconds=1)
    sync_stack.paysimple.save_customer(
        sync_stack.merchant_id,
        {"Id": john, "FirstName": "John", "LastName": "Doe", "Email": "john@new.example.com"},
        send_webhook=False,
    )
    assert sync_stack.sync(john, at=later) == NO_FAILURES
    assert sync_stack.qbo_operations() == ["read", "update"]
