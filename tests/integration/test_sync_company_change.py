"""A merchant connects another QBO company: the sync and the admin API work in the new company at once, in
every container, whatever connection a container loaded before (AdminFunction and SyncFunction handlers,
moto, the QBO and PaySimple emulators over HTTP).

QBO ids are numbered per company, so the old company's customer 1 and the new company's customer 1 are two
different people: a call that crossed over would write one customer's data onto another."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from customer_sync.adapters.dynamodb_realms import DynamoDbRealmDirectory
from customer_sync.composition.admin import admin_components
from customer_sync.composition.sync import sync_components
from customer_sync.handlers import admin_api
from customer_sync.models.qbo import QboConnection
from tests.support.admin_api import call
from tests.support.sync_stack import SyncStack

ANN = {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@example.com"}
NO_FAILURES: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}


def connect_another_company(stack: SyncStack) -> str:
    """The admin connects a new company, confirming that the links to the old one go (the console's flow:
    connect URL, consent at Intuit, callback); returns the new company's id."""
    realm = str(stack.qbo.create_realm()["realm_id"])
    stack.qbo.set_consent_realm(realm)
    started = call(
        "GET",
        f"/admin/merchants/{stack.merchant_id}/qbo/connect",
        query={"confirm_realm_change": "true"},
    )
    assert started.status == 200, started.text
    consent = requests.get(started.json["authorize_url"], allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text
    callback = {
        name: values[0] for name, values in parse_qs(urlsplit(consent.headers["Location"]).query).items()
    }
    connected = call("GET", "/oauth/qbo/callback", query=callback)
    assert connected.status == 200, connected.text
    return realm


@pytest.fixture
def ann_synced(sync_stack: SyncStack) -> int:
    """Ann, created in the merchant's company by a sync container that keeps its connection loaded, beside
    Carl, the company's customer 2."""
    customer_id = sync_stack.save_customer(**ANN)
    assert sync_stack.sync(customer_id) == NO_FAILURES
    assert sync_stack.link(customer_id).qbo_customer_id == "1"
    carl = sync_stack.seed_qbo_customer(DisplayName="Carl Diaz", GivenName="Carl", FamilyName="Diaz")
    assert carl["Id"] == "2"
    return customer_id


def qbo_customer(stack: SyncStack, realm_id: str, qbo_id: str) -> dict[str, Any]:
    return next(customer for customer in stack.qbo.customers(realm_id) if customer["Id"] == qbo_id)


def test_a_new_customer_is_created_in_the_company_connected_since_the_container_loaded_its_connection(
    sync_stack: SyncStack, ann_synced: int
) -> None:
    # Given the merchant connected to a second company after the sync container loaded the first one's
    first = sync_stack.realm_id
    second = connect_another_company(sync_stack)
    sync_stack.qbo.clear_calls(first)

    # When a new customer is saved in PaySimple and synced by that container
    dan = sync_stack.save_customer(FirstName="Dan", LastName="Ruiz", Email="dan@example.com")
    assert sync_stack.sync(dan) == NO_FAILURES

    # Then Dan is created in the second company, and the first company is not called
    link = sync_stack.link(dan)
    assert link.status == "linked"
    assert qbo_customer(sync_stack, second, str(link.qbo_customer_id))["DisplayName"] == "Dan Ruiz"
    assert sync_stack.qbo.calls(first) == []


def test_a_customer_linked_in_the_new_company_is_updated_there_never_the_old_companys_namesake_by_id(
    sync_stack: SyncStack, ann_synced: int
) -> None:
    # Given the merchant connected to a second company (Ann unlinked), whose customer 2 is Ann and 1 is Bob
    first = sync_stack.realm_id
    second = connect_another_company(sync_stack)
    sync_stack.qbo.seed_customer(second, DisplayName="Bob Stone", GivenName="Bob", FamilyName="Stone")
    ann_there = sync_stack.qbo.seed_customer(second, DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")
    assert ann_there["Id"] == "2"
    # and the admin linking Ann to her there
    linked = call(
        "POST",
        f"/admin/merchants/{sync_stack.merchant_id}/links",
        body={"paysimple_customer_id": str(ann_synced), "qbo_customer_id": "2"},
    )
    assert linked.status == 200, linked.text
    sync_stack.qbo.clear_calls(first)

    # When Ann changes in PaySimple, synced by the container that loaded the first company's connection
    sync_stack.save_customer(Id=ann_synced, **ANN, Phone="3035550101")
    assert sync_stack.sync(ann_synced) == NO_FAILURES

    # Then her customer in the second company has the change, and the first company's customer 2 (Carl) is
    # untouched: the first company was not called at all
    carl = qbo_customer(sync_stack, first, "2")
    assert (carl["DisplayName"], carl.get("PrimaryPhone")) == ("Carl Diaz", None)
    assert sync_stack.qbo.calls(first) == []
    assert qbo_customer(sync_stack, second, "2")["PrimaryPhone"]["FreeFormNumber"] == "3035550101"


def test_an_admin_container_that_loaded_the_old_companys_connection_links_in_the_new_one(
    sync_stack: SyncStack, ann_synced: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given another AdminFunction container that served a type-ahead search in the first company
    first = sync_stack.realm_id
    this_container = admin_components
    other = admin_components.__wrapped__()  # type: ignore[attr-defined]
    monkeypatch.setattr(admin_api, "admin_components", lambda: other)
    searched = call("GET", f"/admin/merchants/{sync_stack.merchant_id}/qbo/customers", query={"q": "carl"})
    assert [hit["display_name"] for hit in searched.json["items"]] == ["Carl Diaz"], searched.text
    # and the merchant then connected a second company (through this container), whose customer 2 is Ann
    monkeypatch.setattr(admin_api, "admin_components", this_container)
    second = connect_another_company(sync_stack)
    sync_stack.qbo.seed_customer(second, DisplayName="Bob Stone", GivenName="Bob", FamilyName="Stone")
    sync_stack.qbo.seed_customer(second, DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")
    sync_stack.qbo.clear_calls(first)

    # When the admin links Ann to customer 2 through the other container
    monkeypatch.setattr(admin_api, "admin_components", lambda: other)
    linked = call(
        "POST",
        f"/admin/merchants/{sync_stack.merchant_id}/links",
        body={"paysimple_customer_id": str(ann_synced), "qbo_customer_id": "2"},
    )

    # Then customer 2 was read in the second company (Ann), and the first company (whose 2 is Carl) not at all
    assert linked.status == 200, linked.text
    assert sync_stack.qbo.calls(first) == []
    assert any(call["path"].endswith("/customer/2") for call in sync_stack.qbo.calls(second))


def test_while_the_stored_connection_is_not_yet_the_connected_company_a_change_waits_and_nothing_is_sent(
    sync_stack: SyncStack, ann_synced: int
) -> None:
    # Given the merchant recorded as connected to a second company while its stored connection is still the
    # first one's (a connect under way: the company is recorded right after the connection is stored)
    first = sync_stack.realm_id
    second = str(sync_stack.qbo.create_realm()["realm_id"])
    DynamoDbRealmDirectory(sync_stack.env["SETTINGS_TABLE_NAME"]).register(sync_stack.merchant_id, second)
    sync_stack.qbo.clear_calls(first)
    before = sync_stack.link(ann_synced)

    # When Ann changes in PaySimple
    sync_stack.save_customer(Id=ann_synced, **ANN, Phone="3035550101")
    response = sync_stack.sync(ann_synced)

    # Then the change is handed back to be delivered again, no company is called and her link is as it was
    assert len(response["batchItemFailures"]) == 1
    assert sync_stack.qbo.calls(first) == [] and sync_stack.qbo.calls(second) == []
    assert sync_stack.link(ann_synced) == before
    assert sync_stack.failures() == []


def test_a_change_of_company_that_stopped_halfway_shows_on_the_status_as_a_connection_to_finish(
    sync_stack: SyncStack,
) -> None:
    # Given the merchant recorded as connected to a second company while its stored connection is still the
    # first one's: an admin request that timed out while unlinking everyone
    second = str(sync_stack.qbo.create_realm()["realm_id"])
    DynamoDbRealmDirectory(sync_stack.env["SETTINGS_TABLE_NAME"]).register(sync_stack.merchant_id, second)

    # When the status is read
    status = call("GET", f"/admin/merchants/{sync_stack.merchant_id}/status").json

    # Then the connection needs the admin: connecting the second company again finishes the change
    assert (status["connection"], status["realm_id"]) == ("broken", sync_stack.realm_id)
    assert f"connecting QuickBooks company {second} did not finish" in status["connection_reason"]


def test_once_connected_the_company_costs_no_call_of_its_own(
    sync_stack: SyncStack, ann_synced: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a container whose loaded connection is the company the merchant is connected to
    provider = sync_components().clients.token_provider(sync_stack.merchant_id)
    reloads: list[str] = []
    reload = provider.reload

    def counted_reload() -> QboConnection:
        reloads.append(sync_stack.merchant_id)
        return reload()

    monkeypatch.setattr(provider, "reload", counted_reload)

    # When Ann changes again
    sync_stack.save_customer(Id=ann_synced, **ANN, Phone="3035550101")
    assert sync_stack.sync(ann_synced) == NO_FAILURES

    # Then the stored connection was not read again
    assert reloads == []
