"""What a merchant typed into QBO enters our system scrubbed: QboClient, the one door QBO data comes in by,
cuts card and bank numbers from every Customer (and Vendor, Employee, batch item) it returns, so no caller —
sync history, Customer Matching candidates, type-ahead, dry run — can pass one on. Ids and SyncTokens are
never touched, and a postal code is read as a postal code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from customer_sync.adapters.qbo_client import QboClient
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.config.shared import SecretNames
from customer_sync.domain.scrub import REDACTION_MARKER, aba_routing_valid
from customer_sync.errors import QboValidationError
from customer_sync.models.qbo import BatchItem
from tests.support.admin_api import call
from tests.support.planted_data import QBO_PLANTED, leaks_by_place, planted_qbo_customer
from tests.support.sync_stack import SyncStack

ZIP_PLUS_4 = "100010026"


class _StoredToken:
    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refresh_after_unauthorized(self, stale_access_token: str) -> str:
        raise AssertionError("the emulator's token is fresh")

    def connection_broken(self, reason: str) -> None:
        raise AssertionError("the emulator's connection is sound")


@pytest.fixture
def client(sync_stack: SyncStack) -> QboClient:
    names = SecretNames(secret_prefix=sync_stack.env["SECRET_PREFIX"])
    token = str(SecretsStore().get_json(names.qbo_connection(sync_stack.merchant_id))["access_token"])
    return QboClient(sync_stack.env["QBO_API_BASE_URL"], sync_stack.realm_id, _StoredToken(token))


@pytest.fixture
def planted(sync_stack: SyncStack) -> dict[str, Any]:
    """A QBO customer with card and bank numbers in DisplayName, CompanyName, Notes, email and address, and a
    ZIP+4 written as 9 digits that passes the ABA checksum."""
    assert aba_routing_valid(ZIP_PLUS_4)
    customer = planted_qbo_customer(
        "Bo", "Chan", BillAddr={"Line1": "1 Main St", "City": "New York", "PostalCode": ZIP_PLUS_4}
    )
    return sync_stack.seed_qbo_customer(**customer)


def test_every_way_of_reading_a_qbo_customer_returns_it_scrubbed(
    sync_stack: SyncStack, client: QboClient, planted: dict[str, Any]
):
    # Given a QBO customer holding card and bank numbers (seeded above)
    qbo_id = planted["Id"]
    # When it is read, queried (typed and raw), written to (the answer echoes the record) and batched
    read = client.read_customer(qbo_id)
    [queried] = client.query_customers("GivenName = 'Bo'")
    raw = client.query("SELECT * FROM Customer WHERE GivenName = 'Bo'")
    updated = client.sparse_update(qbo_id, read.SyncToken, {"MiddleName": "M"})
    [batched] = client.batch([BatchItem.query("q", "SELECT * FROM Customer WHERE GivenName = 'Bo'")])
    answers = {
        "read": json.dumps(read.raw),
        "query_customers": json.dumps(queried.raw),
        "query": json.dumps(raw),
        "update": json.dumps(updated.raw),
        "batch": json.dumps(batched.query_response),
    }
    # Then no answer holds a planted number, the fields that held them are marked, and ids are intact
    assert leaks_by_place(answers, QBO_PLANTED) == {}
    assert REDACTION_MARKER in str(read.DisplayName) and REDACTION_MARKER in str(read.Notes)
    assert read.email == f"{REDACTION_MARKER}@example.com"
    assert (read.Id, updated.Id, queried.Id) == (qbo_id, qbo_id, qbo_id)
    assert updated.SyncToken == str(int(read.SyncToken) + 1)
    # and a 9-digit postal code is kept as it is (a ZIP+4, not a routing number)
    assert read.BillAddr is not None and read.BillAddr.PostalCode == ZIP_PLUS_4
    # and QBO itself still holds what the merchant typed: we only read it, we never wrote it back
    assert sync_stack.qbo_customer(qbo_id)["Notes"] == planted["Notes"]


def test_a_created_customer_comes_back_scrubbed_with_its_id(sync_stack: SyncStack, client: QboClient):
    # Given a create QBO answers with the record it made (a test writing QBO data directly, as a merchant
    # would in QBO's own screens)
    body = planted_qbo_customer("Cy", "Dunn")
    # When it is created through the client
    created = client.create_customer(body, request_id="security-create-1")
    # Then the answer is scrubbed, and its Id is the one QBO holds
    assert leaks_by_place({"create": json.dumps(created.raw)}, QBO_PLANTED) == {}
    assert sync_stack.qbo_customer(created.Id)["Notes"] == body["Notes"]


def test_a_fault_quoting_a_card_number_never_shows_it(sync_stack: SyncStack, client: QboClient):
    # Given QBO refusing an update with a fault whose Detail quotes the card number it refused
    planted = planted_qbo_customer("Di", "Eve")
    fault = {"Fault": {"Error": [{"Message": "Invalid", "Detail": planted["Notes"], "code": "2050"}]}}
    sync_stack.qbo.inject_fault(
        realm_id=sync_stack.realm_id, operation="query", status=400, body=json.dumps(fault)
    )
    # When the call fails
    with pytest.raises(QboValidationError) as raised:
        client.query("SELECT * FROM Customer")
    # Then the error's text (what is stored and logged) has no planted number
    assert leaks_by_place({"error": f"{raised.value} {raised.value!r}"}, QBO_PLANTED) == {}


def test_type_ahead_and_dry_run_never_show_what_a_merchant_typed_into_qbo(
    sync_stack: SyncStack, planted: dict[str, Any]
):
    # Given the planted QBO customer, and a PaySimple customer of the same name not synced yet
    sync_stack.seed_qbo_customer(**planted_qbo_customer("Bob", "Chan", Active=False))
    paysimple_id = sync_stack.save_customer(FirstName="Bo", LastName="Chan")
    merchant = f"/admin/merchants/{sync_stack.merchant_id}"
    # When an admin types a name, and previews go-live
    typed = call("GET", f"{merchant}/qbo/customers", query={"q": "Bo"})
    dry_run = call("POST", f"{merchant}/dry-run", body={"paysimple_customer_ids": [str(paysimple_id)]})
    # Then both find the QBO customers, with the planted numbers redacted
    assert typed.status == 200 and len(typed.json["items"]) == 2
    assert dry_run.status == 200 and dry_run.json["results"][0]["candidates"]
    assert leaks_by_place({"type-ahead": typed.text, "dry run": dry_run.text}, QBO_PLANTED) == {}
    assert {hit["qbo_customer_id"] for hit in typed.json["items"]} >= {planted["Id"]}
