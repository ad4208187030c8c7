"""The QBO emulator's own invariants, over real HTTP: the quirks of reference/qbo-api.md it must reproduce."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from emulators.qbo.control import QboEmulatorControl
from emulators.qbo.faults import THROTTLE_XML
from emulators.qbo.server import QboEmulator
from tests.support.emulators import OffsetClock as FakeClock  # real time plus an offset the test moves

CLIENT_ID = "emulator-client-id"
CLIENT_SECRET = "emulator-client-secret"
REDIRECT_URI = "https://app.example.com/qbo/callback"


@dataclass
class Company:
    """One realm connected to the app, with helpers that call the API as the real client would."""

    base_url: str
    realm_id: str
    access_token: str
    refresh_token: str

    @property
    def api(self) -> str:
        return f"{self.base_url}/v3/company/{self.realm_id}"

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}", "Accept": "application/json", **extra}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        params = {"minorversion": "75", **kwargs.pop("params", {})}
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return requests.request(method, self.api + path, params=params, headers=headers, timeout=10, **kwargs)

    def create(self, payload: dict[str, Any], **params: str) -> requests.Response:
        return self.call("POST", "/customer", json=payload, params=params)

    def customer(self, payload: dict[str, Any]) -> dict[str, Any]:
        response = self.create(payload)
        assert response.status_code == 200, response.text
        created: dict[str, Any] = response.json()["Customer"]
        return created

    def update(self, payload: dict[str, Any]) -> requests.Response:
        return self.call("POST", "/customer", json=payload)

    def read(self, customer_id: str) -> requests.Response:
        return self.call("GET", f"/customer/{customer_id}")

    def query(self, statement: str) -> requests.Response:
        return self.call("GET", "/query", params={"query": statement})

    def batch(self, items: list[dict[str, Any]], **params: str) -> requests.Response:
        return self.call("POST", "/batch", json={"BatchItemRequest": items}, params=params)


def fault_of(response: requests.Response) -> dict[str, Any]:
    """The single error of a capitalised ValidationFault."""
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["Fault"]["Error"][0]
    return error


def names(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["DisplayName"] for c in response.json()["QueryResponse"].get("Customer", [])]


def token_request(
    emulator: QboEmulator, form: dict[str, str], secret: str = CLIENT_SECRET
) -> requests.Response:
    basic = base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
    return requests.post(emulator.token_url, data=form, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def emulator(clock: FakeClock) -> Iterator[QboEmulator]:
    with QboEmulator(clock=clock, redirect_uris=(REDIRECT_URI,)) as running:
        yield running


@pytest.fixture
def control(emulator: QboEmulator) -> QboEmulatorControl:
    return QboEmulatorControl(emulator.base_url)


def new_company(emulator: QboEmulator, control: QboEmulatorControl) -> Company:
    grant = control.create_realm()
    return Company(emulator.base_url, grant["realm_id"], grant["access_token"], grant["refresh_token"])


@pytest.fixture
def company(emulator: QboEmulator, control: QboEmulatorControl) -> Company:
    return new_company(emulator, control)


# --- DisplayName uniqueness and ids ---------------------------------------------------------------------


def test_a_name_held_by_a_vendor_is_a_duplicate_whose_detail_names_the_vendors_id(
    company: Company, control: QboEmulatorControl
) -> None:
    # Given three vendors, the third holding the name
    control.seed_vendor(company.realm_id, "Acme Supplies")
    control.seed_vendor(company.realm_id, "Bolt Ltd")
    holder = control.seed_vendor(company.realm_id, "Ann Smith")
    # When a customer is created with the same name in another case
    response = company.create({"DisplayName": "ANN SMITH"})
    # Then QBO refuses it with 6240 and points at the vendor's Id
    error = fault_of(response)
    assert error["code"] == "6240"
    assert error["Message"] == "Duplicate Name Exists Error"
    assert error["Detail"] == f"The name supplied already exists. : Id={holder['Id']}"
    assert holder["Id"] == "3"


@pytest.mark.parametrize("kind", ["customer", "vendor", "employee"])
def test_an_inactive_record_still_holds_its_name(
    company: Company, control: QboEmulatorControl, kind: str
) -> None:
    # Given an inactive customer, vendor or employee called "Old Name"
    seeders = {
        "customer": lambda: control.seed_customer(company.realm_id, DisplayName="Old Name", Active=False),
        "vendor": lambda: control.seed_vendor(company.realm_id, "Old Name", active=False),
        "employee": lambda: control.seed_employee(company.realm_id, "Old Name", active=False),
    }
    holder = seeders[kind]()
    # When a customer takes that name
    response = company.create({"DisplayName": "Old Name"})
    # Then it is a duplicate of the inactive holder
    assert fault_of(response)["code"] == "6240"
    assert fault_of(response)["Detail"].endswith(f"Id={holder['Id']}")


def test_ids_of_different_entity_types_overlap(company: Company, control: QboEmulatorControl) -> None:
    # Given a vendor, then a customer in a fresh company
    vendor = control.seed_vendor(company.realm_id, "Parts Inc")
    customer = company.customer({"DisplayName": "Carol"})
    # Then both got Id 1: ids are counted per entity type
    assert vendor["Id"] == customer["Id"] == "1"
    assert company.call("GET", f"/vendor/{vendor['Id']}").json()["Vendor"]["DisplayName"] == "Parts Inc"


def test_renaming_a_customer_onto_another_name_is_a_duplicate(company: Company) -> None:
    # Given two customers
    first = company.customer({"DisplayName": "First"})
    second = company.customer({"DisplayName": "Second"})
    # When the second is renamed to the first's name
    response = company.update({**second, "DisplayName": "first", "sparse": True})
    # Then it is refused, naming the first one
    assert fault_of(response)["Detail"].endswith(f"Id={first['Id']}")


# --- create rules and field limits ---------------------------------------------------------------------


def test_a_missing_display_name_is_built_from_the_name_parts(company: Company) -> None:
    # When a customer is created without a DisplayName
    created = company.customer({"Title": "Dr", "GivenName": "Ann", "MiddleName": "B", "FamilyName": "Lee"})
    # Then QBO builds it, and PrintOnCheckName defaults from it
    assert created["DisplayName"] == "Dr Ann B Lee"
    assert created["PrintOnCheckName"] == "Dr Ann B Lee"
    assert created["SyncToken"] == "0"
    assert created["Active"] is True


def test_a_create_without_any_name_is_2020(company: Company) -> None:
    # When a customer is created with only a company name
    response = company.create({"CompanyName": "Nameless Co"})
    # Then the required field is missing
    assert fault_of(response)["code"] == "2020"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"DisplayName": "x" * 501}, "2050"),
        ({"DisplayName": "Ok", "GivenName": "g" * 101}, "2050"),
        ({"DisplayName": "Ok", "Title": "t" * 17}, "2050"),
        ({"DisplayName": "Ok", "PrintOnCheckName": "p" * 111}, "2050"),
        ({"DisplayName": "Ok", "PrimaryPhone": {"FreeFormNumber": "1" * 22}}, "2050"),
        ({"DisplayName": "Ok", "Notes": "n" * 2001}, "2050"),
        ({"DisplayName": "Ok", "BillAddr": {"PostalCode": "9" * 31}}, "2050"),
        ({"DisplayName": "Ok", "PrimaryEmailAddr": {"Address": "a" * 95 + "@b.com"}}, "2050"),
        ({"DisplayName": "Ok", "PrimaryEmailAddr": {"Address": "no-at-sign.example.com"}}, "2210"),
        ({"DisplayName": "Ok", "PrimaryEmailAddr": {"Address": "ann@localhost"}}, "2210"),
        ({"DisplayName": "Parent:Child"}, "6000"),
        ({"DisplayName": "Ok", "GivenName": "Tab\tbed"}, "6000"),
        ({"DisplayName": "Ok", "FamilyName": "New\nline"}, "6000"),
    ],
)
def test_field_limits_and_formats_are_validation_faults(
    company: Company, payload: dict[str, Any], code: str
) -> None:
    # When a customer breaks one rule of the field table
    response = company.create(payload)
    # Then QBO answers the reference's code, and nothing is created
    assert fault_of(response)["code"] == code
    assert names(company.query("SELECT * FROM Customer")) == []


def test_values_at_their_limits_are_accepted(company: Company) -> None:
    # When every limited field is exactly at its limit
    created = company.customer(
        {
            "DisplayName": "d" * 500,
            "GivenName": "g" * 100,
            "Title": "t" * 16,
            "PrintOnCheckName": "p" * 110,
            "PrimaryPhone": {"FreeFormNumber": "1" * 21},
            "PrimaryEmailAddr": {"Address": "a" * 94 + "@b.com"},
        }
    )
    # Then the customer exists
    assert created["Id"] == "1"


def test_phones_over_the_safe_21_characters_are_refused_unless_the_documented_30_is_chosen() -> None:
    # Given one emulator with the default (safe) phone limit and one with Intuit's documented 30
    phone = {"DisplayName": "Long Phone", "PrimaryPhone": {"FreeFormNumber": "+1 (303) 555-0100 x12"}}
    with QboEmulator() as strict, QboEmulator(phone_number_limit=30) as documented:
        results = []
        for emulator in (strict, documented):
            grant = QboEmulatorControl(emulator.base_url).create_realm()
            company = Company(emulator.base_url, grant["realm_id"], grant["access_token"], "")
            # When a 21-character and a 24-character phone are sent
            at_limit = company.create(
                {**phone, "DisplayName": "At Limit", "PrimaryPhone": {"FreeFormNumber": "1" * 21}}
            )
            results.append(
                (
                    at_limit.status_code,
                    company.create({**phone, "PrimaryPhone": {"FreeFormNumber": "1" * 24}}),
                )
            )
    # Then 21 passes everywhere, and 24 only where the documented limit was chosen
    assert [status for status, _ in results] == [200, 200]
    assert fault_of(results[0][1])["code"] == "2050"
    assert results[1][1].status_code == 200


def test_addresses_get_an_id_and_country_may_come_back_normalized(company: Company) -> None:
    # When a customer is created with a US address
    created = company.customer(
        {"DisplayName": "Addressed", "BillAddr": {"Line1": "1 Main St", "Country": "US"}}
    )
    # Then the stored address has an Id and a 3-letter country
    assert created["BillAddr"]["Id"]
    assert created["BillAddr"]["Country"] == "USA"
    assert created["BillAddr"]["Line1"] == "1 Main St"


# --- updates -------------------------------------------------------------------------------------------


def test_every_update_increments_the_sync_token_and_a_stale_one_is_5010(company: Company) -> None:
    # Given a customer updated once
    created = company.customer({"DisplayName": "Versioned"})
    first = company.update({"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "a"})
    assert first.json()["Customer"]["SyncToken"] == "1"
    # When an update still carries SyncToken 0
    stale = company.update({"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "b"})
    # Then it fails with 5010 and the customer keeps the first change
    assert fault_of(stale)["code"] == "5010"
    assert fault_of(stale)["Message"] == "Stale Object Error"
    current = company.read(created["Id"]).json()["Customer"]
    assert (current["SyncToken"], current["Notes"]) == ("1", "a")


def test_a_sparse_update_changes_only_the_fields_sent(company: Company) -> None:
    # Given a customer with an email and a phone
    created = company.customer(
        {
            "DisplayName": "Sparse",
            "PrimaryEmailAddr": {"Address": "s@example.com"},
            "PrimaryPhone": {"FreeFormNumber": "555-0100"},
        }
    )
    # When a sparse update sends only a new phone
    response = company.update(
        {
            "Id": created["Id"],
            "SyncToken": "0",
            "sparse": True,
            "PrimaryPhone": {"FreeFormNumber": "555-0199"},
        }
    )
    # Then the email is kept
    updated = response.json()["Customer"]
    assert updated["PrimaryPhone"] == {"FreeFormNumber": "555-0199"}
    assert updated["PrimaryEmailAddr"] == {"Address": "s@example.com"}


def test_a_full_update_nulls_the_writable_fields_left_out(company: Company) -> None:
    # Given a customer with an email, a phone and notes
    created = company.customer(
        {
            "DisplayName": "Full",
            "PrimaryEmailAddr": {"Address": "f@example.com"},
            "PrimaryPhone": {"FreeFormNumber": "555-0100"},
            "Notes": "keep?",
        }
    )
    # When a full update (no sparse) sends only the phone
    response = company.update(
        {
            "Id": created["Id"],
            "SyncToken": "0",
            "DisplayName": "Full",
            "PrimaryPhone": {"FreeFormNumber": "1"},
        }
    )
    # Then the email and notes are gone
    updated = response.json()["Customer"]
    assert "PrimaryEmailAddr" not in updated
    assert "Notes" not in updated
    assert updated["PrimaryPhone"] == {"FreeFormNumber": "1"}


def test_display_name_cannot_be_removed(company: Company) -> None:
    # Given a customer
    created = company.customer({"DisplayName": "Sticky Name"})
    # When updates send an empty DisplayName, or none at all in a full update
    company.update({"Id": created["Id"], "SyncToken": "0", "sparse": True, "DisplayName": ""})
    response = company.update({"Id": created["Id"], "SyncToken": "1", "GivenName": "Other"})
    # Then the name stays
    assert response.json()["Customer"]["DisplayName"] == "Sticky Name"
    assert response.json()["Customer"]["SyncToken"] == "2"


def test_a_delete_operation_is_refused_and_changes_nothing(company: Company) -> None:
    # Given a customer with notes
    created = company.customer({"DisplayName": "Undeletable", "Notes": "keep"})
    # When the app tries to delete it as it would a transaction
    response = company.call(
        "POST",
        "/customer",
        json={"Id": created["Id"], "SyncToken": "0"},
        params={"operation": "delete"},
    )
    # Then QBO refuses (names are only made inactive) and the customer is untouched
    assert fault_of(response)["element"] == "operation"
    current = company.read(created["Id"]).json()["Customer"]
    assert (current["SyncToken"], current["Notes"], current["Active"]) == ("0", "keep", True)


def test_reading_or_updating_an_unknown_id_is_610(company: Company) -> None:
    # When an Id that does not exist is read or updated
    read = company.read("999")
    update = company.update({"Id": "999", "SyncToken": "0", "sparse": True, "Notes": "x"})
    # Then both are Object Not Found
    assert fault_of(read)["code"] == "610"
    assert fault_of(update)["code"] == "610"


# --- queries -------------------------------------------------------------------------------------------


def test_inactive_customers_are_hidden_unless_the_query_constrains_active(
    company: Company, control: QboEmulatorControl
) -> None:
    # Given an active and an inactive customer
    control.seed_customer(company.realm_id, DisplayName="Awake")
    control.seed_customer(company.realm_id, DisplayName="Asleep", Active=False)
    # Then a plain query sees only the active one, and Active IN (true, false) sees both
    assert names(company.query("SELECT * FROM Customer")) == ["Awake"]
    assert names(company.query("SELECT * FROM Customer WHERE Active IN (true, false)")) == ["Awake", "Asleep"]
    assert names(company.query("select * from customer where Active = false")) == ["Asleep"]


def test_escaped_quotes_and_backslashes_match_the_stored_values(company: Company) -> None:
    # Given names with an apostrophe and a backslash
    company.customer({"DisplayName": "Pat O'Brien", "FamilyName": "O'Brien"})
    company.customer({"DisplayName": "Back Slash", "CompanyName": "A\\B Corp"})
    # Then escaped query values find them
    assert names(company.query("SELECT * FROM Customer WHERE FamilyName = 'O\\'Brien'")) == ["Pat O'Brien"]
    assert names(company.query("SELECT * FROM Customer WHERE CompanyName = 'A\\\\B Corp'")) == ["Back Slash"]


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM Customer WHERE DisplayName = 'Bad \\n escape'",
        "SELECT * FROM Customer WHERE DisplayName = 'unterminated",
        "SELECT * FROM Customer WHERE DisplayName = 'A' OR DisplayName = 'B'",
        "SELECT * FROM Customer WHERE (DisplayName = 'A')",
        "SELECT * FROM Customer WHERE FamilyName = 'O\u2019Brien'",
        "SELECT * FROM Customer WHERE Notes = 'not filterable'",
        "SELECT * FROM Customer WHERE PrimaryPhone = '555'",
        "SELECT DisplayName FROM Customer",
        "SELECT * FROM Customer WHERE DisplayName != 'A'",
        "SELECT * FROM Customer WHERE DisplayName = Unquoted",
        "SELECT * FROM Customer MAXRESULTS 1001",
        "SELECT * FROM Customer STARTPOSITION 0",
        "SELECT * FROM Invoice",
    ],
)
def test_statements_qbo_cannot_parse_are_4000(company: Company, statement: str) -> None:
    # When the statement breaks the query grammar
    response = company.query(statement)
    # Then QBO answers Error parsing query
    assert fault_of(response)["code"] == "4000"
    assert fault_of(response)["Message"] == "Error parsing query"


def test_a_query_without_matches_has_no_entity_key(company: Company) -> None:
    # When nothing matches
    response = company.query("SELECT * FROM Customer WHERE DisplayName = 'Nobody'")
    # Then the QueryResponse is empty: no Customer key at all
    assert response.status_code == 200
    assert response.json()["QueryResponse"] == {}
    assert "time" in response.json()


def test_like_in_comparisons_and_paging(company: Company, control: QboEmulatorControl) -> None:
    # Given five customers
    for name in ["Alpha", "Alpine", "Beta", "Gamma", "Alps"]:
        control.seed_customer(company.realm_id, DisplayName=name, GivenName=name)
    # Then LIKE, IN, comparisons, case-insensitive equality, ordering and paging behave
    assert names(company.query("SELECT * FROM Customer WHERE DisplayName LIKE 'alp%'")) == [
        "Alpha",
        "Alpine",
        "Alps",
    ]
    assert names(company.query("SELECT * FROM Customer WHERE GivenName IN ('Beta', 'Gamma')")) == [
        "Beta",
        "Gamma",
    ]
    assert names(company.query("SELECT * FROM Customer WHERE Id > '3'")) == ["Gamma", "Alps"]
    assert names(company.query("SELECT * FROM Customer WHERE DisplayName = 'BETA'")) == ["Beta"]
    paged = company.query("SELECT * FROM Customer ORDERBY DisplayName DESC STARTPOSITION 2 MAXRESULTS 2")
    assert names(paged) == ["Beta", "Alps"]
    assert paged.json()["QueryResponse"]["startPosition"] == 2
    assert paged.json()["QueryResponse"]["maxResults"] == 2
    count = company.query("SELECT COUNT(*) FROM Customer WHERE DisplayName LIKE '%a'")
    assert count.json()["QueryResponse"] == {"totalCount": 3}


def test_email_is_filtered_without_address_suffix(company: Company) -> None:
    # Given a customer with an email
    company.customer({"DisplayName": "Mailer", "PrimaryEmailAddr": {"Address": "mail@example.com"}})
    # Then PrimaryEmailAddr compares the address, and the .Address form is not queryable
    assert names(company.query("SELECT * FROM Customer WHERE PrimaryEmailAddr = 'mail@example.com'")) == [
        "Mailer"
    ]
    assert (
        fault_of(company.query("SELECT * FROM Customer WHERE PrimaryEmailAddr.Address = 'x'"))["code"]
        == "4000"
    )


def test_a_query_returns_at_most_100_without_maxresults(emulator: QboEmulator, company: Company) -> None:
    # Given 101 customers
    for number in range(101):
        emulator.state.create(company.realm_id, "Customer", {"DisplayName": f"Bulk {number}"})
    # Then the default page is 100
    assert len(names(company.query("SELECT * FROM Customer"))) == 100
    assert len(names(company.query("SELECT * FROM Customer STARTPOSITION 101"))) == 1


def test_a_maxresults_over_the_limit_may_instead_be_cut_silently() -> None:
    # Given an emulator whose undocumented page limit is 100 and which cuts larger asks without a fault
    with QboEmulator(max_results_limit=100, cap_max_results=True) as emulator:
        grant = QboEmulatorControl(emulator.base_url).create_realm()
        company = Company(emulator.base_url, grant["realm_id"], grant["access_token"], "")
        for number in range(150):
            emulator.state.create(company.realm_id, "Customer", {"DisplayName": f"Capped {number}"})
        # When 1000 are asked for
        response = company.query("SELECT * FROM Customer STARTPOSITION 1 MAXRESULTS 1000")
    # Then only 100 come back, and nothing says more were wanted
    assert len(names(response)) == 100
    assert response.json()["QueryResponse"]["maxResults"] == 100


def test_a_query_may_be_posted_as_application_text(company: Company) -> None:
    # Given a customer
    company.customer({"DisplayName": "Posted"})
    # When the statement is POSTed as the body
    response = company.call(
        "POST", "/query", data="SELECT * FROM Customer", headers={"Content-Type": "application/text"}
    )
    # Then it is answered like a GET
    assert names(response) == ["Posted"]


# --- requestid -----------------------------------------------------------------------------------------


def test_a_repeated_requestid_returns_the_original_response_and_creates_once(
    company: Company, control: QboEmulatorControl
) -> None:
    # Given a create sent with a requestid
    first = company.create({"DisplayName": "Once"}, requestid="create-ps-42")
    # When the same request is retried with the same requestid
    second = company.create({"DisplayName": "Once"}, requestid="create-ps-42")
    # Then the original response comes back and only one customer exists
    assert second.status_code == first.status_code == 200
    assert second.json() == first.json()
    assert len(control.customers(company.realm_id)) == 1
    assert [call["replayed"] for call in control.calls(company.realm_id)] == [False, True]


@pytest.mark.parametrize(("path", "length"), [("/customer", 51), ("/batch", 37)])
def test_a_requestid_too_long_is_refused(company: Company, path: str, length: int) -> None:
    # When a requestid is longer than QBO accepts on that path
    customer = {"DisplayName": "Long Id"}
    item = {"bId": "1", "operation": "create", "Customer": customer}
    body: dict[str, Any] = customer if path == "/customer" else {"BatchItemRequest": [item]}
    response = company.call("POST", path, json=body, params={"requestid": "r" * length})
    # Then it is a 400 and nothing happens, while one character less is accepted
    assert response.status_code == 400
    assert names(company.query("SELECT * FROM Customer")) == []
    accepted = company.call("POST", path, json=body, params={"requestid": "r" * (length - 1)})
    assert accepted.status_code == 200
    assert names(company.query("SELECT * FROM Customer")) == ["Long Id"]


# --- batch ---------------------------------------------------------------------------------------------


def test_batch_items_succeed_or_fail_on_their_own(company: Company, control: QboEmulatorControl) -> None:
    # Given a vendor holding a name
    control.seed_vendor(company.realm_id, "Taken")
    # When a batch creates one good and one duplicate customer and runs a query
    response = company.batch(
        [
            {"bId": "1", "operation": "create", "Customer": {"DisplayName": "Fresh"}},
            {"bId": "2", "operation": "create", "Customer": {"DisplayName": "Taken"}},
            {"bId": "3", "Query": "SELECT * FROM Customer WHERE DisplayName = 'Fresh'"},
        ]
    )
    # Then each item has its own result, matched by bId
    assert response.status_code == 200
    results = {item["bId"]: item for item in response.json()["BatchItemResponse"]}
    assert results["1"]["Customer"]["DisplayName"] == "Fresh"
    assert results["2"]["Fault"]["Error"][0]["code"] == "6240"
    assert results["3"]["QueryResponse"]["Customer"][0]["DisplayName"] == "Fresh"


def test_a_batch_of_more_than_30_items_is_refused_whole(company: Company) -> None:
    # When a batch holds 31 creates
    items = [{"bId": str(n), "operation": "create", "Customer": {"DisplayName": f"B{n}"}} for n in range(31)]
    response = company.batch(items)
    # Then the whole request is a 400 fault and nothing is created
    assert response.status_code == 400
    assert "Fault" in response.json()
    assert names(company.query("SELECT * FROM Customer")) == []


# --- OAuth ---------------------------------------------------------------------------------------------


def test_a_refresh_rotates_the_refresh_token_and_the_old_one_dies(
    emulator: QboEmulator, company: Company, control: QboEmulatorControl
) -> None:
    # When the refresh token is used
    refreshed = token_request(
        emulator, {"grant_type": "refresh_token", "refresh_token": company.refresh_token}
    )
    # Then a new access token and a new refresh token come back
    assert refreshed.status_code == 200
    grant = refreshed.json()
    assert grant["token_type"] == "bearer"
    assert grant["expires_in"] == 3600
    assert grant["refresh_token"] != company.refresh_token
    assert {"x_refresh_token_expires_in", "x_refresh_token_hard_expires_in"} <= grant.keys()
    # And the new access token works while the rotated-out refresh token is invalid_grant
    company.access_token = grant["access_token"]
    assert company.query("SELECT * FROM Customer").status_code == 200
    again = token_request(emulator, {"grant_type": "refresh_token", "refresh_token": company.refresh_token})
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})
    assert [call["operation"] for call in control.calls(company.realm_id)] == ["token", "query", "token"]


def test_an_old_refresh_token_lives_through_the_configured_grace_period() -> None:
    # Given an emulator whose old refresh tokens live 60 s
    clock = FakeClock()
    with QboEmulator(old_refresh_token_grace_seconds=60, clock=clock) as emulator:
        old = QboEmulatorControl(emulator.base_url).create_realm()["refresh_token"]
        assert (
            token_request(emulator, {"grant_type": "refresh_token", "refresh_token": old}).status_code == 200
        )
        # Then the old one still works within the minute, and not after it
        assert (
            token_request(emulator, {"grant_type": "refresh_token", "refresh_token": old}).status_code == 200
        )
        clock.advance(61)
        late = token_request(emulator, {"grant_type": "refresh_token", "refresh_token": old})
        assert late.json() == {"error": "invalid_grant"}


def test_revoked_refresh_tokens_are_invalid_grant(
    emulator: QboEmulator, company: Company, control: QboEmulatorControl
) -> None:
    # Given the company's refresh tokens were revoked
    control.revoke_refresh_tokens(company.realm_id)
    # When the app refreshes
    response = token_request(
        emulator, {"grant_type": "refresh_token", "refresh_token": company.refresh_token}
    )
    # Then it is invalid_grant
    assert (response.status_code, response.json()) == (400, {"error": "invalid_grant"})


def test_wrong_client_credentials_are_invalid_client(emulator: QboEmulator, company: Company) -> None:
    # When the token endpoint is called with the wrong client secret
    form = {"grant_type": "refresh_token", "refresh_token": company.refresh_token}
    response = token_request(emulator, form, secret="wrong")
    # Then it is 401 invalid_client, and the refresh token was not used up
    assert (response.status_code, response.json()) == (401, {"error": "invalid_client"})
    assert token_request(emulator, form).status_code == 200


def test_an_authorization_code_is_single_use_and_bound_to_its_redirect_uri(
    emulator: QboEmulator, company: Company, control: QboEmulatorControl
) -> None:
    # Given a code issued for a redirect URI
    code = control.issue_authorization_code(company.realm_id, REDIRECT_URI)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    # Then another redirect URI cannot redeem it... and a fresh code redeems once only
    assert token_request(emulator, {**form, "redirect_uri": "https://evil.example.com"}).status_code == 400
    fresh = control.issue_authorization_code(company.realm_id, REDIRECT_URI)
    assert token_request(emulator, {**form, "code": fresh}).status_code == 200
    assert token_request(emulator, {**form, "code": fresh}).json() == {"error": "invalid_grant"}


def test_every_token_call_is_logged_under_its_realm_even_a_replayed_code(
    emulator: QboEmulator, company: Company, control: QboEmulatorControl
) -> None:
    # Given a code redeemed once, then replayed, and a refresh with a wrong client secret
    code = control.issue_authorization_code(company.realm_id, REDIRECT_URI)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    token_request(emulator, form)
    token_request(emulator, form)
    token_request(
        emulator, {"grant_type": "refresh_token", "refresh_token": company.refresh_token}, secret="wrong"
    )
    # Then the realm's call log holds all three as "token" calls, with their outcomes
    assert [(call["operation"], call["status"]) for call in control.calls(company.realm_id)] == [
        ("token", 200),
        ("token", 400),
        ("token", 401),
    ]


def consent_request(redirect_uri: str) -> dict[str, str]:
    """The authorize URL's query, as the app sends a user to it."""
    return {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting",
        "redirect_uri": redirect_uri,
        "state": "csrf-123",
    }


def test_the_authorize_url_consents_and_redirects_with_code_state_and_realm(emulator: QboEmulator) -> None:
    # When a user is sent to the authorize URL
    params = consent_request(REDIRECT_URI)
    response = requests.get(emulator.authorize_url, params=params, allow_redirects=False, timeout=10)
    # Then the browser is redirected to the app with a code for the demo realm
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    callback = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert callback["state"] == "csrf-123"
    assert callback["realmId"] == "9130350000000001"
    form = {"grant_type": "authorization_code", "code": callback["code"], "redirect_uri": REDIRECT_URI}
    assert token_request(emulator, form).status_code == 200


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example.com/qbo/callback",
        REDIRECT_URI + "/",  # Intuit matches exactly: not a prefix, not with a slash added
        REDIRECT_URI.replace("https://", "http://"),
    ],
)
def test_the_authorize_url_refuses_a_redirect_uri_the_app_did_not_register(
    emulator: QboEmulator, redirect_uri: str
) -> None:
    # Given an app whose one registered redirect URI is REDIRECT_URI
    params = consent_request(redirect_uri)
    # When a user is sent to the authorize URL with another one
    response = requests.get(emulator.authorize_url, params=params, allow_redirects=False, timeout=10)
    # Then consent shows an error page and sends nobody, and no code, anywhere
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "Redirect URIs" in response.text


def test_consent_for_an_unregistered_redirect_uri_gives_no_code(emulator: QboEmulator) -> None:
    # Given the control API that stands for a person consenting
    control = QboEmulatorControl(emulator.base_url)
    # When a code is asked for a redirect URI the app did not register
    # Then there is none
    with pytest.raises(requests.HTTPError, match="400"):
        control.issue_authorization_code("9130350000000001", "https://evil.example.com/qbo/callback")


def test_a_redirect_uri_registered_later_is_accepted(clock: FakeClock) -> None:
    # Given an app that registers its redirect URI once it knows its address (as the local stack does)
    with QboEmulator(clock=clock) as fresh:
        params = consent_request(REDIRECT_URI)
        refused = requests.get(fresh.authorize_url, params=params, allow_redirects=False, timeout=10)
        fresh.state.register_redirect_uri(REDIRECT_URI)
        # When the user is sent to the authorize URL after the registration
        accepted = requests.get(fresh.authorize_url, params=params, allow_redirects=False, timeout=10)
    # Then only that one redirects
    assert (refused.status_code, accepted.status_code) == (400, 302)


# --- auth on API calls ---------------------------------------------------------------------------------


def test_an_expired_access_token_gets_the_lower_case_3200_fault(company: Company, clock: FakeClock) -> None:
    # Given the access token has outlived its hour
    clock.advance(3601)
    # When the API is called
    response = company.query("SELECT * FROM Customer")
    # Then it is 401 with the lower-case platform fault
    assert response.status_code == 401
    body = response.json()
    assert "Fault" not in body
    error = body["fault"]["error"][0]
    assert error["code"] == "3200"
    assert error["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert body["fault"]["type"] == "AUTHENTICATION"
    assert isinstance(body["time"], int)


def test_expiring_tokens_through_the_control_api_makes_calls_401(
    company: Company, control: QboEmulatorControl
) -> None:
    # Given the emulator expired the company's access tokens
    control.expire_access_tokens(company.realm_id)
    # Then an API call is refused with 3200
    response = company.query("SELECT * FROM Customer")
    assert (response.status_code, response.json()["fault"]["error"][0]["code"]) == (401, "3200")


def test_a_token_of_another_company_is_403_3100(company: Company, control: QboEmulatorControl) -> None:
    # Given a token issued for another realm
    other = control.create_realm()
    company.access_token = other["access_token"]
    # When it is used on this realm
    response = company.query("SELECT * FROM Customer")
    # Then it is 403 / 3100 in the lower-case shape
    assert (response.status_code, response.json()["fault"]["error"][0]["code"]) == (403, "3100")


def test_a_call_without_accept_json_is_refused(company: Company) -> None:
    # When the Accept header does not ask for JSON
    response = company.call(
        "GET", "/query", params={"query": "SELECT * FROM Customer"}, headers={"Accept": "*/*"}
    )
    # Then the emulator refuses instead of silently answering JSON
    assert response.status_code == 406


def test_every_response_carries_an_intuit_tid(company: Company, emulator: QboEmulator) -> None:
    # When calls succeed, fail validation, fail auth or miss
    responses = [
        company.query("SELECT * FROM Customer"),
        company.create({}),
        requests.get(f"{company.api}/customer/1", timeout=10),
        requests.post(emulator.token_url, timeout=10),
    ]
    # Then each carries the trace id header
    assert all(response.headers.get("intuit_tid") for response in responses)


# --- rate limits and injected faults -------------------------------------------------------------------


def test_over_the_per_minute_limit_qbo_answers_xml_429_until_the_minute_passes() -> None:
    # Given a company limited to 3 requests a minute
    clock = FakeClock()
    with QboEmulator(rate_limit_per_minute=3, clock=clock) as emulator:
        grant = QboEmulatorControl(emulator.base_url).create_realm()
        company = Company(emulator.base_url, grant["realm_id"], grant["access_token"], grant["refresh_token"])
        statuses = [company.query("SELECT * FROM Customer").status_code for _ in range(4)]
        # Then the fourth is throttled with an XML body although JSON was asked for
        throttled = company.query("SELECT * FROM Customer")
        assert statuses == [200, 200, 200, 429]
        assert throttled.headers["Content-Type"].startswith("application/xml")
        assert '<Error code="3001">' in throttled.text
        assert "message=ThrottleExceeded; errorCode=003001; statusCode=429" in throttled.text
        # And a minute later calls pass again
        clock.advance(60)
        assert company.query("SELECT * FROM Customer").status_code == 200


class FrozenClock:
    """A clock that only moves when told: a burst of calls all land in the same second."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_over_ten_requests_in_one_second_qbo_answers_429_until_the_second_passes() -> None:
    # Given the default limits and a clock standing still
    clock = FrozenClock()
    with QboEmulator(clock=clock) as emulator:
        grant = QboEmulatorControl(emulator.base_url).create_realm()
        company = Company(emulator.base_url, grant["realm_id"], grant["access_token"], grant["refresh_token"])
        # When eleven calls are made within one second
        statuses = [company.query("SELECT * FROM Customer").status_code for _ in range(11)]
        # Then the eleventh is throttled, and the next second admits calls again
        assert statuses == [200] * 10 + [429]
        clock.now += 1.01
        assert company.query("SELECT * FROM Customer").status_code == 200


def test_rate_limits_switched_on_through_the_control_api_throttle_like_qbo() -> None:
    # Given a company whose emulator runs without limits, and a clock standing still
    clock = FrozenClock()
    with QboEmulator(clock=clock, rate_limit_per_minute=10_000, rate_limit_per_second=None) as emulator:
        control = QboEmulatorControl(emulator.base_url)
        company = new_company(emulator, control)
        unlimited = [company.query("SELECT * FROM Customer").status_code for _ in range(12)]
        # When QBO's own limits are switched on through the control API
        limits = control.set_rate_limits()
        clock.now += 1.01
        statuses = [company.query("SELECT * FROM Customer") for _ in range(11)]
    # Then the burst that passed before is cut at 10 a second, the 429 in QBO's XML shape
    assert unlimited == [200] * 12
    assert limits == {"per_minute": 500, "per_second": 10, "batches_per_minute": 40}
    assert [response.status_code for response in statuses] == [200] * 10 + [429]
    assert statuses[-1].headers["Content-Type"].startswith("application/xml")
    assert statuses[-1].text == THROTTLE_XML


def test_a_lower_per_minute_limit_set_at_run_time_holds_until_lifted() -> None:
    # Given QBO limited to 3 requests a minute through the control API
    clock = FakeClock()
    with QboEmulator(clock=clock) as emulator:
        control = QboEmulatorControl(emulator.base_url)
        company = new_company(emulator, control)
        control.set_rate_limits(per_minute=3)
        limited = [company.query("SELECT * FROM Customer").status_code for _ in range(4)]
        # When the limits are lifted
        control.lift_rate_limits()
        lifted = [company.query("SELECT * FROM Customer").status_code for _ in range(20)]
        read_back = control.rate_limits()
    # Then the fourth call was throttled, and nothing is once they are lifted
    assert limited == [200, 200, 200, 429]
    assert lifted == [200] * 20
    assert read_back == {"per_minute": None, "per_second": None, "batches_per_minute": None}


@pytest.mark.parametrize(
    "body", [{"per_minute": 0}, {"per_second": "ten"}, {"enabled": "yes"}, {"per_minute": True}]
)
def test_a_malformed_rate_limit_request_is_refused_and_changes_nothing(body: dict[str, Any]) -> None:
    with QboEmulator() as emulator:
        response = requests.put(f"{emulator.base_url}/_emulator/rate-limits", json=body, timeout=10)
        assert response.status_code == 400
        assert QboEmulatorControl(emulator.base_url).rate_limits()["per_minute"] == 500


def test_the_call_log_says_when_each_call_was_answered() -> None:
    # Given a company and a clock the test sets
    clock = FakeClock()
    with QboEmulator(clock=clock) as emulator:
        control = QboEmulatorControl(emulator.base_url)
        company = new_company(emulator, control)
        # When two calls are made 5 seconds apart
        company.query("SELECT * FROM Customer")
        clock.advance(5)
        company.query("SELECT * FROM Customer")
        calls = control.calls(company.realm_id)
    # Then the log holds the time of each
    assert calls[1]["at"] - calls[0]["at"] == pytest.approx(5, abs=0.5)


def test_an_outage_injected_without_end_stops_when_the_faults_are_cleared() -> None:
    with QboEmulator() as emulator:
        control = QboEmulatorControl(emulator.base_url)
        company = new_company(emulator, control)
        # Given QBO answering 503 to every call of the company until told otherwise
        control.inject_fault(realm_id=company.realm_id, status=503, count=10**9)
        during = [company.query("SELECT * FROM Customer").status_code for _ in range(3)]
        # When the faults are cleared
        control.clear_faults()
        after = company.query("SELECT * FROM Customer").status_code
    # Then the outage is over
    assert (during, after) == ([503] * 3, 200)


def test_a_batch_of_30_items_is_one_request_per_second_but_30_calls_per_minute() -> None:
    # Given a company allowed 40 calls a minute and 10 requests a second
    clock = FrozenClock()
    with QboEmulator(clock=clock, rate_limit_per_minute=40, rate_limit_per_second=10) as emulator:
        grant = QboEmulatorControl(emulator.base_url).create_realm()
        company = Company(emulator.base_url, grant["realm_id"], grant["access_token"], grant["refresh_token"])
        items = [{"bId": str(n), "Query": "SELECT * FROM Customer"} for n in range(30)]
        # When a batch of 30 queries is sent, then another one a second later
        first = company.batch(items)
        clock.now += 1.01
        second = company.batch(items)
    # Then the first passes the per-second limit, and the second breaks the per-minute one (30 + 30 > 40)
    assert first.status_code == 200
    assert second.status_code == 429


def test_concurrent_requests_are_served_consistently() -> None:
    # Given a company without rate limits, so that every request of the burst is carried out
    with QboEmulator(rate_limit_per_minute=10_000, rate_limit_per_second=None) as emulator:
        control = QboEmulatorControl(emulator.base_url)
        grant = control.create_realm()
        company = Company(emulator.base_url, grant["realm_id"], grant["access_token"], grant["refresh_token"])

        def create_three(worker: int) -> list[str]:
            created = [company.create({"DisplayName": f"Worker {worker}-{n}"}) for n in range(3)]
            return [response.json()["Customer"]["Id"] for response in created]

        def create_same(_: int) -> str:
            response = company.create({"DisplayName": "Only Once"}, requestid="same-create")
            customer_id: str = response.json()["Customer"]["Id"]
            return customer_id

        # When 8 threads create 3 customers each while 8 others send one create with the same requestid
        with ThreadPoolExecutor(max_workers=16) as pool:
            distinct = pool.map(create_three, range(8))
            same = pool.map(create_same, range(8))
            distinct_ids = [customer_id for ids in distinct for customer_id in ids]
            same_ids = set(same)

        # Then no Id was handed out twice, the shared requestid made one customer, and the call log holds one
        # entry per request, seven of them replays
        stored = [customer["Id"] for customer in control.customers(company.realm_id)]
        assert len(same_ids) == 1
        assert sorted(stored, key=int) == sorted([*distinct_ids, *same_ids], key=int)
        assert len(stored) == 25
        calls = control.calls(company.realm_id)
        assert [call["operation"] for call in calls] == ["create"] * 32
        assert sum(call["replayed"] for call in calls) == 7


@pytest.mark.parametrize(
    ("status", "content_type", "marker"),
    [
        (500, "application/json", '"type": "SystemFault"'),
        (503, "text/html", "503 Service Unavailable"),
        (429, "application/xml", "ThrottleExceeded"),
        (401, "application/json", '"code": "3200"'),
    ],
)
def test_injected_faults_fail_the_next_matching_calls_with_realistic_bodies(
    company: Company, control: QboEmulatorControl, status: int, content_type: str, marker: str
) -> None:
    # Given two creates will fail
    control.inject_fault(realm_id=company.realm_id, operation="create", status=status, count=2)
    # When a query and three creates are sent
    query = company.query("SELECT * FROM Customer")
    creates = [company.create({"DisplayName": f"Try {n}"}) for n in range(3)]
    # Then only the first two creates fail, with the body QBO sends for that status
    assert query.status_code == 200
    assert [r.status_code for r in creates] == [status, status, 200]
    assert creates[0].headers["Content-Type"].startswith(content_type)
    assert marker in creates[0].text
    assert names(company.query("SELECT * FROM Customer")) == ["Try 2"]


def test_an_injected_fault_for_one_company_leaves_others_alone(
    company: Company, control: QboEmulatorControl
) -> None:
    # Given a fault for another realm
    other = control.create_realm()
    control.inject_fault(realm_id=other["realm_id"], status=500)
    # Then this company's call passes
    assert company.query("SELECT * FROM Customer").status_code == 200


def test_an_injected_fault_may_first_hang_for_its_latency(
    company: Company, control: QboEmulatorControl
) -> None:
    # Given a 503 that arrives after 150 ms
    control.inject_fault(realm_id=company.realm_id, operation="query", status=503, latency_ms=150)
    # When a query is sent
    started = time.monotonic()
    response = company.query("SELECT * FROM Customer")
    # Then it fails only after the delay
    assert response.status_code == 503
    assert time.monotonic() - started >= 0.15


def test_an_applied_fault_saves_the_call_and_loses_only_its_answer(
    company: Company, control: QboEmulatorControl
) -> None:
    # Given the next create is saved by QBO but answered by Intuit's edge with a 504
    control.inject_fault(realm_id=company.realm_id, operation="create", status=504, applied=True)
    # When a create is sent with a requestid, then retried with the same requestid
    lost = company.create({"DisplayName": "Saved Anyway"}, requestid="create-ps-7")
    retried = company.create({"DisplayName": "Saved Anyway"}, requestid="create-ps-7")
    # Then the first answer was the 504, the customer exists once, and the retry gets the stored answer
    assert lost.status_code == 504
    assert retried.status_code == 200
    assert names(company.query("SELECT * FROM Customer")) == ["Saved Anyway"]
    replays = [call["replayed"] for call in control.calls(company.realm_id) if call["operation"] == "create"]
    assert replays == [False, True]


def test_an_applied_fault_without_a_requestid_lets_the_retry_hit_the_duplicate_name(
    company: Company, control: QboEmulatorControl
) -> None:
    # Given the next create is saved but its answer comes too late for the client
    control.inject_fault(
        realm_id=company.realm_id, operation="create", status=504, applied=True, latency_ms=150
    )
    # When it is sent without a requestid and sent again
    started = time.monotonic()
    lost = company.create({"DisplayName": "Late Answer"})
    again = company.create({"DisplayName": "Late Answer"})
    # Then the answer came after the delay, and the second create meets the first one's name
    assert lost.status_code == 504
    assert time.monotonic() - started >= 0.15
    assert again.status_code == 400
    assert '"6240"' in again.text


def test_an_outage_for_some_seconds_ends_by_itself_and_leaves_other_faults(
    clock: FakeClock, company: Company, control: QboEmulatorControl
) -> None:
    # Given an outage of 180 seconds and, behind it, one 500 for creates
    control.inject_fault(realm_id=company.realm_id, status=503, count=10**9, seconds=180)
    control.inject_fault(realm_id=company.realm_id, operation="create", status=500)
    # When calls are made during the outage and after it
    during = company.query("SELECT * FROM Customer")
    clock.advance(180)
    after = [company.create({"DisplayName": "After"}), company.create({"DisplayName": "After"})]
    # Then the outage answered 503 and ended on time, and the other fault was still there afterwards
    assert during.status_code == 503
    assert [response.status_code for response in after] == [500, 200]


def test_control_lists_exclude_inactive_records_on_request(
    company: Company, control: QboEmulatorControl
) -> None:
    # Given an active and an inactive customer and vendor
    control.seed_customer(company.realm_id, DisplayName="On")
    control.seed_customer(company.realm_id, DisplayName="Off", Active=False)
    control.seed_vendor(company.realm_id, "Vendor Off", active=False)
    # Then the control lists filter on request
    assert [c["DisplayName"] for c in control.customers(company.realm_id, include_inactive=False)] == ["On"]
    assert len(control.customers(company.realm_id)) == 2
    assert control.vendors(company.realm_id, include_inactive=False) == []


# --- CompanyInfo ------------------------------------------------------------------------------------------


def test_company_info_is_read_by_the_realm_id_and_metered_like_any_read(
    company: Company, control: QboEmulatorControl
) -> None:
    # Given a company that a person renamed in QBO's settings
    control.rename_company(company.realm_id, "Doe Plumbing <Supplies>")
    control.clear_calls(company.realm_id)
    # When its CompanyInfo is read by its own id
    response = company.call("GET", f"/companyinfo/{company.realm_id}")
    # Then it answers QBO's shape, and the call is logged as a read
    assert response.status_code == 200, response.text
    info = response.json()["CompanyInfo"]
    assert (info["CompanyName"], info["LegalName"]) == ("Doe Plumbing <Supplies>", "Doe Plumbing <Supplies>")
    assert {"Id", "SyncToken", "MetaData", "Country"} <= set(info)
    assert "time" in response.json()
    assert [(call["operation"], call["status"]) for call in control.calls(company.realm_id)] == [
        ("read", 200)
    ]


def test_a_new_company_has_a_sandbox_name_until_renamed(company: Company) -> None:
    # When a company nobody renamed is read
    info = company.call("GET", f"/companyinfo/{company.realm_id}").json()["CompanyInfo"]
    # Then it carries QBO's sandbox-style default name
    assert info["CompanyName"] == f"Sandbox Company {company.realm_id}"


def test_company_info_under_another_id_is_610(company: Company) -> None:
    # When CompanyInfo is read by an id that is not the realm's
    response = company.call("GET", "/companyinfo/1")
    # Then it is QBO's Object Not Found
    assert fault_of(response)["code"] == "610"


def test_company_info_needs_a_valid_token_of_that_company(
    company: Company, control: QboEmulatorControl
) -> None:
    # Given an expired token, and a token of another company
    control.expire_access_tokens(company.realm_id)
    expired = company.call("GET", f"/companyinfo/{company.realm_id}")
    other = control.create_realm()
    company.access_token = other["access_token"]
    foreign = company.call("GET", f"/companyinfo/{company.realm_id}")
    # Then the first is 401/3200 and the second 403/3100, as for every API call
    assert (expired.status_code, expired.json()["fault"]["error"][0]["code"]) == (401, "3200")
    assert (foreign.status_code, foreign.json()["fault"]["error"][0]["code"]) == (403, "3100")


@pytest.mark.parametrize("body", [{}, {"CompanyName": ""}, {"CompanyName": "A", "LegalName": 3}])
def test_a_malformed_company_rename_is_refused_and_changes_nothing(
    company: Company, control: QboEmulatorControl, body: dict[str, Any]
) -> None:
    # When the control API is asked to rename with a bad body
    response = requests.put(
        f"{control.base_url}/_emulator/realms/{company.realm_id}/company-info", json=body, timeout=10
    )
    # Then it is 400 and the name stays
    assert response.status_code == 400
    info = company.call("GET", f"/companyinfo/{company.realm_id}").json()["CompanyInfo"]
    assert info["CompanyName"] == f"Sandbox Company {company.realm_id}"
