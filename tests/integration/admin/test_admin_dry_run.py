"""AdminFunction: the go-live dry run — what the sync would do for each PaySimple customer — against the
QBO and PaySimple emulators over HTTP. The QBO emulator's call log proves it writes nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from customer_sync.adapters.dynamodb_links import DynamoDbLinksRepository
from customer_sync.models.links import CustomerLink
from tests.support.admin_api import call, stored_state
from tests.support.onboarding import onboard_merchant

MERCHANT = "1225"
READ_ONLY_OPERATIONS = {"query", "read", "token"}


@pytest.fixture
def realm(admin_env, qbo, paysimple):
    return onboard_merchant(admin_env, MERCHANT, qbo=qbo, paysimple=paysimple).realm_id


def customer(paysimple, first, last, email=None):
    saved = paysimple.save_customer(
        MERCHANT, {"FirstName": first, "LastName": last, "Email": email}, send_webhook=False
    )
    return str(saved["customer"]["Id"])


@pytest.fixture
def go_live(admin_env, qbo, paysimple, realm):
    """A QBO company and a PaySimple customer list with one customer for every outcome."""
    qbo.seed_customer(realm, DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")
    qbo.seed_customer(realm, DisplayName="Bob Stone", GivenName="Bob", FamilyName="Stone")
    bob = qbo.seed_customer(
        realm,
        DisplayName="Bob Stone (shop)",
        GivenName="Bob",
        FamilyName="Stone",
        PrimaryEmailAddr={"Address": "bob@example.com"},
    )
    qbo.seed_customer(realm, DisplayName="Cat Hill", GivenName="Cat", FamilyName="Hill")
    qbo.seed_customer(realm, DisplayName="Cat Hill 2", GivenName="Cat", FamilyName="Hill")
    qbo.seed_vendor(realm, "Eve Park")
    fay = qbo.seed_customer(realm, DisplayName="Fay Gray", GivenName="Fay", FamilyName="Gray", Active=False)
    gus = qbo.seed_customer(realm, DisplayName="Gus Ink", CompanyName="Gus Ink Ltd")
    qbo.seed_employee(realm, "Hal Jay")
    kim = qbo.seed_customer(realm, DisplayName="Kim Linked", GivenName="Kim", FamilyName="Linked")
    ids = {
        "ann": customer(paysimple, "Ann", "Lee"),
        "bob": customer(paysimple, "Bob", "Stone", "BOB@example.com"),
        "cat": customer(paysimple, "Cat", "Hill", "cat@example.com"),
        "dan": customer(paysimple, "Dan", "Fox"),
        "eve": customer(paysimple, "Eve", "Park"),
        "fay": customer(paysimple, "Fay", "Gray"),
        "gus": customer(paysimple, "Gus", "Ink"),
        "hal": customer(paysimple, "Hal", "Jay"),
        "ivy": customer(paysimple, "Ivy", "Kim"),
        "ivy2": customer(paysimple, "Ivy", "Kim"),
        "kim": customer(paysimple, "Kim", "Linked"),
    }
    DynamoDbLinksRepository(admin_env["LINKS_TABLE_NAME"]).save_linked(
        CustomerLink(
            merchant_id=MERCHANT,
            paysimple_customer_id=ids["kim"],
            status="linked",
            qbo_customer_id=kim["Id"],
            first_name="Kim",
            last_name="Linked",
            updated_at=datetime.now(UTC),
        ),
        expected_version=0,
    )
    qbo.clear_calls(realm)
    return {"ids": ids, "bob_qbo_id": bob["Id"], "fay_qbo_id": fay["Id"], "gus_qbo_id": gus["Id"]}


def test_the_dry_run_reports_what_the_sync_would_do_for_every_customer(go_live, qbo, realm):
    ids = go_live["ids"]
    before = stored_state()

    # When the admin previews go-live for all PaySimple customers
    response = call("POST", f"/admin/merchants/{MERCHANT}/dry-run", body={})

    # Then each customer gets the sync's outcome
    assert response.status == 200, response.text
    report = response.json
    results = {result["paysimple_customer_id"]: result for result in report["results"]}
    outcome = {name: results[paysimple_id]["outcome"] for name, paysimple_id in ids.items()}
    assert outcome == {
        "ann": "link_by_name",
        "bob": "link_by_name_and_email",
        "cat": "ambiguous",
        "dan": "create",
        "eve": "display_name_collision",
        "fay": "display_name_collision",
        "gus": "display_name_collision",
        "hal": "display_name_collision",
        "ivy": "create",
        "ivy2": "ambiguous",
        "kim": "already_linked",
    }
    assert results[ids["bob"]]["qbo_customer_id"] == go_live["bob_qbo_id"]
    assert len(results[ids["cat"]]["candidates"]) == 2
    assert results[ids["dan"]]["would_create_as"] == "Dan Fox"
    # and says what holds a colliding DisplayName, and what the sync would do about it
    assert results[ids["eve"]]["name_held_by"]["entity"] == "Vendor"
    assert results[ids["eve"]]["would_create_as"] == f"Eve Park (PS-{ids['eve']})"
    assert results[ids["hal"]]["name_held_by"]["entity"] == "Employee"
    fay = results[ids["fay"]]
    assert (fay["name_held_by"]["qbo_id"], fay["name_held_by"]["active"]) == (go_live["fay_qbo_id"], False)
    assert fay["would_create_as"] is None
    assert results[ids["gus"]]["name_held_by"]["qbo_id"] == go_live["gus_qbo_id"]
    assert results[ids["gus"]]["would_create_as"] is None
    assert report["summary"]["display_name_collision"] == 4
    assert report["total_customers"] == len(ids)
    assert report["next_page"] is None

    # and nothing was written, to QBO (reads and queries only) or to our tables
    operations = {entry["operation"] for entry in qbo.calls(realm)}
    assert operations <= READ_ONLY_OPERATIONS
    assert "query" in operations
    assert all(entry["method"] == "GET" or entry["operation"] == "token" for entry in qbo.calls(realm))
    assert stored_state() == before


def test_the_dry_run_answers_csv_when_asked(go_live):
    ids = go_live["ids"]

    # When the report is asked for as CSV, by Accept header and by query
    by_header = call("POST", f"/admin/merchants/{MERCHANT}/dry-run", body={}, headers={"Accept": "text/csv"})
    by_query = call("POST", f"/admin/merchants/{MERCHANT}/dry-run", body={}, query={"format": "csv"})

    # Then both are CSV with a header and a row per customer
    for response in (by_header, by_query):
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/csv"
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == len(ids)
        by_id = {row["paysimple_customer_id"]: row for row in rows}
        assert by_id[ids["ann"]]["outcome"] == "link_by_name"
        assert by_id[ids["eve"]]["name_held_by"].startswith("Vendor ")


def test_a_dry_run_of_chosen_customers_pages_nothing_and_reports_unknown_ids(go_live):
    ids = go_live["ids"]

    response = call(
        "POST",
        f"/admin/merchants/{MERCHANT}/dry-run",
        body={"paysimple_customer_ids": [ids["ann"], 99999999]},
    )

    assert response.status == 200
    outcomes = [(result["paysimple_customer_id"], result["outcome"]) for result in response.json["results"]]
    assert outcomes == [(ids["ann"], "link_by_name"), ("99999999", "not_in_paysimple")]
    assert response.json["total_customers"] is None


def test_a_dry_run_pages_through_paysimple(go_live):
    # When the preview asks for pages of 4
    first = call("POST", f"/admin/merchants/{MERCHANT}/dry-run", body={"page_size": 4}).json
    last = call("POST", f"/admin/merchants/{MERCHANT}/dry-run", body={"page_size": 4, "page": 3}).json

    # Then each answer is one page, and says which page comes next
    assert (len(first["results"]), first["next_page"]) == (4, 2)
    assert (len(last["results"]), last["next_page"]) == (3, None)


def test_a_dry_run_without_a_qbo_connection_is_409(merchants):
    merchants.onboard(MERCHANT)

    response = call("POST", f"/admin/merchants/{MERCHANT}/dry-run", body={})

    assert response.status == 409


@pytest.mark.parametrize(
    "body",
    [{"paysimple_customer_ids": []}, {"paysimple_customer_ids": ["abc"]}, {"page_size": 0}, {"pages": 1}],
)
def test_an_invalid_dry_run_request_is_422(admin_env, realm, body):
    response = call("POST", f"/admin/merchants/{MERCHANT}/dry-run", body=body)

    assert response.status == 422
