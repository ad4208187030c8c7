"""QboClient against the QBO emulator over real loopback HTTP: every error QBO produces maps to its typed
error, only safe requests are retried, queries escape properly, and creates are idempotent."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from customer_sync.adapters.http import HttpSession
from customer_sync.adapters.qbo_client import QboClient
from customer_sync.domain.qbo_query import customer_equals
from customer_sync.errors import (
    QboAuthExpired,
    QboAuthorizationFailed,
    QboBudgetExhausted,
    QboConnectionBroken,
    QboDuplicateName,
    QboError,
    QboNotFound,
    QboQueryError,
    QboStaleObject,
    QboThrottled,
    QboTransientError,
    QboValidationError,
)
from customer_sync.models.qbo import BatchItem
from emulators.qbo.control import QboEmulatorControl
from emulators.qbo.server import QboEmulator
from tests.fakes.budget import FakeQboBudget
from tests.fakes.sleep import RecordingSleep
from tests.fakes.tokens import FixedTokens
from tests.support.emulators import unthrottled_qbo_emulator


@pytest.fixture
def control(qbo_emulator: QboEmulator) -> Iterator[QboEmulatorControl]:
    control = QboEmulatorControl(qbo_emulator.base_url)
    yield control
    control.set_latency(0)


@pytest.fixture
def realm(control: QboEmulatorControl) -> dict[str, Any]:
    return control.create_realm()


@pytest.fixture
def tokens(realm: dict[str, Any]) -> FixedTokens:
    return FixedTokens(realm["access_token"])


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def client(
    qbo_emulator: QboEmulator, realm: dict[str, Any], tokens: FixedTokens, sleep: RecordingSleep
) -> QboClient:
    return QboClient(
        qbo_emulator.base_url,
        realm["realm_id"],
        tokens,
        timeout_seconds=5.0,
        max_attempts=3,
        backoff=lambda attempt: 0.01 * attempt,
        sleep=sleep,
    )


def api_calls(
    control: QboEmulatorControl, realm: dict[str, Any], operation: str | None = None
) -> list[dict[str, Any]]:
    calls = [call for call in control.calls(realm["realm_id"]) if call["operation"] != "token"]
    return [call for call in calls if operation is None or call["operation"] == operation]


# --- the happy path and what every request carries ----------------------------------------------------------


def test_created_customer_reads_back_and_every_call_sends_minorversion_75(client, control, realm):
    # Given a new customer
    created = client.create_customer(
        {
            "GivenName": "Ann",
            "FamilyName": "Lee",
            "DisplayName": "Ann Lee",
            "PrimaryEmailAddr": {"Address": "a@b.co"},
        },
        request_id="create-ann-lee",
    )

    # When it is read back
    read = client.read_customer(created.Id)

    # Then it is the same record, with the typed fields and the raw JSON, after two counted calls
    assert read.Id == created.Id
    assert read.SyncToken == "0"
    assert read.email == "a@b.co"
    assert read.raw["DisplayName"] == "Ann Lee"
    assert client.calls_made == 2
    assert all(call["query"].get("minorversion") == "75" for call in api_calls(control, realm))


class RecordingSession(HttpSession):
    """A real session that notes what every request carried."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.timeouts: list[object] = []

    def request(self, method, url, **kwargs):
        self.sent.append((method, parse_qs(urlsplit(url).query), dict(kwargs.get("headers") or {})))
        self.timeouts.append(kwargs.get("timeout_seconds"))
        return super().request(method, url, **kwargs)


def test_every_kind_of_call_sends_minorversion_accept_json_a_timeout_and_content_type_only_on_writes(
    qbo_emulator, control, realm, tokens, sleep
):
    # Given a client whose session records each request
    session = RecordingSession()
    client = QboClient(qbo_emulator.base_url, realm["realm_id"], tokens, session=session, sleep=sleep)

    # When it creates, reads, updates, queries (GET and POST) and batches
    created = client.create_customer({"DisplayName": "Every Call"}, request_id="every-call")
    client.read_customer(created.Id)
    client.sparse_update(created.Id, created.SyncToken, {"Notes": "n"})
    client.query("SELECT * FROM Customer WHERE DisplayName = 'Every Call'")
    ids = ", ".join(f"'{n}'" for n in range(1000, 1400))
    client.query(f"SELECT * FROM Customer WHERE Id IN ({ids})")
    client.batch([BatchItem.query("q", "SELECT * FROM Customer")])

    # Then every request had a timeout and minorversion=75 and asked for JSON; only bodies were typed
    assert session.timeouts == [30.0] * 6
    assert [method for method, _, _ in session.sent] == ["POST", "GET", "POST", "GET", "POST", "POST"]
    assert all(params["minorversion"] == ["75"] for _, params, _ in session.sent)
    assert all(headers["Accept"] == "application/json" for _, _, headers in session.sent)
    assert [headers.get("Content-Type") for _, _, headers in session.sent] == [
        "application/json",
        None,
        "application/json",
        None,
        "application/text",
        "application/json",
    ]


# --- idempotent creates -------------------------------------------------------------------------------------


def test_create_repeated_with_the_same_requestid_returns_the_same_customer_and_makes_one(
    client, control, realm
):
    # Given a create that QBO carried out
    fields = {"GivenName": "Rae", "FamilyName": "Once", "DisplayName": "Rae Once"}
    first = client.create_customer(fields, request_id="ps-42-create")

    # When the same create is sent again with the same requestid
    second = client.create_customer(fields, request_id="ps-42-create")

    # Then QBO answers with the first result and holds a single customer
    assert second.Id == first.Id
    assert [c["Id"] for c in control.customers(realm["realm_id"]) if c["DisplayName"] == "Rae Once"] == [
        first.Id
    ]
    assert api_calls(control, realm, "create")[-1]["replayed"] is True


def test_create_that_timed_out_is_retried_with_its_requestid_and_makes_one_customer(
    qbo_emulator, control, realm, tokens, sleep
):
    # Given QBO answering slower than the client waits, while still carrying out the create
    impatient = QboClient(
        qbo_emulator.base_url,
        realm["realm_id"],
        tokens,
        timeout_seconds=0.2,
        max_attempts=3,
        backoff=lambda _: 0,
        sleep=sleep,
    )
    control.set_latency(600)
    fields = {"GivenName": "Tim", "FamilyName": "Out", "DisplayName": "Tim Out"}

    # When the create times out on every attempt
    with pytest.raises(QboTransientError):
        impatient.create_customer(fields, request_id="ps-7-create")
    # and the change is delivered again later, with the same requestid
    control.set_latency(0)
    patient = QboClient(qbo_emulator.base_url, realm["realm_id"], tokens, sleep=sleep)
    again = patient.create_customer(fields, request_id="ps-7-create")

    # Then every attempt carried the same requestid and QBO holds exactly one customer
    created = [c for c in control.customers(realm["realm_id"]) if c["DisplayName"] == "Tim Out"]
    assert [c["Id"] for c in created] == [again.Id]
    assert {call["requestid"] for call in api_calls(control, realm, "create")} == {"ps-7-create"}
    assert impatient.calls_made == 3


def test_requestid_longer_than_50_characters_is_refused_before_any_call(client):
    with pytest.raises(ValueError, match="requestid"):
        client.create_customer({"DisplayName": "X"}, request_id="r" * 51)
    assert client.calls_made == 0


# --- sparse update and SyncToken ----------------------------------------------------------------------------


def test_sparse_update_changes_only_the_fields_sent(client, control, realm):
    # Given a customer with an email and notes
    seeded = control.seed_customer(
        realm["realm_id"],
        DisplayName="Sam Sparse",
        GivenName="Sam",
        Notes="keep me",
        PrimaryEmailAddr={"Address": "s@x.co"},
    )

    # When only the email is sent
    updated = client.sparse_update(
        seeded["Id"], seeded["SyncToken"], {"PrimaryEmailAddr": {"Address": "new@x.co"}}
    )

    # Then the email changed, the notes survived and the SyncToken moved on
    assert updated.email == "new@x.co"
    assert updated.Notes == "keep me"
    assert updated.SyncToken != seeded["SyncToken"]


def test_update_with_an_old_synctoken_is_a_stale_object_error_and_not_retried(client, control, realm):
    # Given a customer someone else changed since we read it
    seeded = control.seed_customer(realm["realm_id"], DisplayName="Stella Stale")
    client.sparse_update(seeded["Id"], seeded["SyncToken"], {"Notes": "their change"})

    # When we update with the SyncToken we read
    with pytest.raises(QboStaleObject) as raised:
        client.sparse_update(seeded["Id"], seeded["SyncToken"], {"Notes": "our change"})

    # Then it is 5010, with a trace id, after a single attempt
    assert raised.value.code == "5010"
    assert raised.value.intuit_tid
    assert len(api_calls(control, realm, "update")) == 2


# --- every fault QBO produces -------------------------------------------------------------------------------


def test_duplicate_display_name_of_a_customer_names_the_holder(client, control, realm):
    holder = control.seed_customer(realm["realm_id"], DisplayName="Dup Licate")

    with pytest.raises(QboDuplicateName) as raised:
        client.create_customer({"DisplayName": "Dup Licate"}, request_id="dup-1")

    assert raised.value.code == "6240"
    assert raised.value.holder_id == holder["Id"]
    assert raised.value.permanent


def test_duplicate_display_name_held_by_a_vendor_names_the_vendor(client, control, realm):
    # Given a vendor holding the name (names are unique across customers, vendors and employees)
    vendor = control.seed_vendor(realm["realm_id"], "Acme Supplies")

    # When a customer is created with that name
    with pytest.raises(QboDuplicateName) as raised:
        client.create_customer({"DisplayName": "Acme Supplies"}, request_id="dup-vendor")

    # Then the holder id is the vendor's
    assert raised.value.holder_id == vendor["Id"]


def test_reading_an_unknown_customer_is_not_found(client):
    with pytest.raises(QboNotFound) as raised:
        client.read_customer("999999")

    assert raised.value.code == "610"
    assert client.calls_made == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"DisplayName": "Long Name", "GivenName": "x" * 101}, "2050"),
        ({"Notes": "no name at all"}, "2020"),
        ({"DisplayName": "Bad Mail", "PrimaryEmailAddr": {"Address": "not-an-email"}}, "2210"),
        ({"DisplayName": "Colon: Name"}, "6000"),
    ],
)
def test_invalid_payloads_are_permanent_validation_errors(client, fields, code):
    with pytest.raises(QboValidationError) as raised:
        client.create_customer(fields, request_id=f"invalid-{code}")

    assert raised.value.code == code
    assert raised.value.permanent
    assert client.calls_made == 1


def test_a_badly_escaped_query_is_a_query_error(client):
    with pytest.raises(QboQueryError) as raised:
        client.query("SELECT * FROM Customer WHERE FamilyName = 'O'Brien'")

    assert raised.value.code == "4000"
    assert client.calls_made == 1


def test_a_429_answered_in_xml_is_throttled_and_never_repeated(client, control, realm, sleep):
    # Given QBO throttling the next read (XML body, as QBO does)
    control.inject_fault(realm_id=realm["realm_id"], operation="read", status=429, count=1)

    # When a read runs
    with pytest.raises(QboThrottled) as raised:
        client.read_customer("1")

    # Then it is QBO's 3001, transient, and neither waited out nor repeated inside the call
    assert raised.value.code == "3001"
    assert not raised.value.permanent
    assert client.calls_made == 1
    assert sleep.waits == []


def test_every_request_draws_on_the_company_budget_and_an_empty_budget_sends_nothing(
    qbo_emulator, control, realm, tokens
):
    # Given a client whose company has two requests left in its budget
    budget = FakeQboBudget(requests=2)
    client = QboClient(qbo_emulator.base_url, realm["realm_id"], tokens, budget=budget)
    seeded = control.seed_customer(realm["realm_id"], DisplayName="Bud Get")

    # When it makes three calls
    client.read_customer(seeded["Id"])
    client.query_customers(customer_equals(DisplayName="Bud Get"))
    with pytest.raises(QboBudgetExhausted) as raised:
        client.read_customer(seeded["Id"])

    # Then two were drawn and sent, and the third was refused without reaching QBO, saying when to return
    assert budget.taken == [realm["realm_id"]] * 2
    assert len(api_calls(control, realm)) == 2
    assert raised.value.retry_after == 1.0


def test_a_429_pauses_the_company_in_the_budget_for_at_least_what_qbo_asked(
    qbo_emulator, control, realm, tokens
):
    # Given a client over a budget that pauses a company for 60 s, and QBO throttling with Retry-After 90
    budget = FakeQboBudget(pause_seconds=60)
    client = QboClient(qbo_emulator.base_url, realm["realm_id"], tokens, budget=budget)
    throttled = "HTTP 429 follows"  # the emulator sends the injected body as it is, with its own 429 status
    control.inject_fault(realm_id=realm["realm_id"], operation="read", status=429, body=throttled)

    # When a read is throttled
    with pytest.raises(QboThrottled) as raised:
        client.read_customer("1")

    # Then the company is paused in the budget and the error says how long to wait
    assert budget.pauses == [(realm["realm_id"], None)]
    assert raised.value.retry_after == 60
    assert budget.taken == [realm["realm_id"]]


def test_expired_token_is_refreshed_once_and_retried_once(client, control, realm, tokens):
    # Given QBO rejecting the token twice in a row
    control.inject_fault(realm_id=realm["realm_id"], operation="read", status=401, code="3200", count=2)
    seeded = control.seed_customer(realm["realm_id"], DisplayName="Tok En")

    # When a read runs
    with pytest.raises(QboAuthExpired) as raised:
        client.read_customer(seeded["Id"])

    # Then exactly one refresh was asked for, with the rejected token, and one retry made
    assert tokens.refreshes == [realm["access_token"]]
    assert client.calls_made == 2
    assert raised.value.code == "3200"


def test_token_of_another_company_is_an_authorization_failure(qbo_emulator, control, realm, sleep):
    # Given a token issued for a different realm
    other = control.create_realm()
    client = QboClient(
        qbo_emulator.base_url, realm["realm_id"], FixedTokens(other["access_token"]), sleep=sleep
    )

    # When it is used
    with pytest.raises(QboAuthorizationFailed) as raised:
        client.read_customer("1")

    # Then it is 403/3100, permanent, not retried
    assert (raised.value.status, raised.value.code) == (403, "3100")
    assert raised.value.permanent
    assert client.calls_made == 1


def test_user_who_lost_access_breaks_the_connection_without_a_refresh(client, control, realm, tokens):
    control.inject_fault(realm_id=realm["realm_id"], status=401, code="120")

    with pytest.raises(QboConnectionBroken):
        client.read_customer("1")

    assert tokens.refreshes == []
    assert client.calls_made == 1


def test_server_errors_on_reads_are_retried_with_backoff(client, control, realm, sleep):
    # Given a 500 then a 503 (HTML from Intuit's edge)
    seeded = control.seed_customer(realm["realm_id"], DisplayName="Re Try")
    control.inject_fault(realm_id=realm["realm_id"], operation="read", status=500, count=1)
    control.inject_fault(realm_id=realm["realm_id"], operation="read", status=503, count=1)

    # When the customer is read
    read = client.read_customer(seeded["Id"])

    # Then it succeeded on the third attempt after two backoffs
    assert read.Id == seeded["Id"]
    assert client.calls_made == 3
    assert sleep.waits == [0.01, 0.02]


def test_server_errors_that_persist_raise_a_transient_error(client, control, realm):
    control.inject_fault(realm_id=realm["realm_id"], operation="read", status=502, count=3)

    with pytest.raises(QboTransientError) as raised:
        client.read_customer("1")

    assert raised.value.status == 502
    assert not raised.value.permanent
    assert client.calls_made == 3


def test_a_slow_answer_times_out_as_a_transient_error(qbo_emulator, control, realm, tokens, sleep):
    # Given QBO answering after the client's timeout
    control.inject_fault(realm_id=realm["realm_id"], operation="read", status=500, latency_ms=500, count=1)
    client = QboClient(
        qbo_emulator.base_url, realm["realm_id"], tokens, timeout_seconds=0.1, max_attempts=1, sleep=sleep
    )

    # When a read runs
    with pytest.raises(QboTransientError, match="did not answer"):
        client.read_customer("1")

    # Then it is transient (SQS will retry the message)
    assert client.calls_made == 1


# --- queries ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored_family_name", "searched_family_name"),
    [
        ("O'Brien", "O'Brien"),
        ("D'Angelo", "D\u2019Angelo"),  # a curly apostrophe is searched as the straight one we store
        ("Back\\slash", "Back\\slash"),
    ],
)
def test_names_with_quotes_and_backslashes_round_trip_through_a_real_query(
    client, control, realm, stored_family_name, searched_family_name
):
    # Given a customer whose family name needs escaping, and a decoy
    wanted = control.seed_customer(
        realm["realm_id"],
        GivenName="Pat",
        FamilyName=stored_family_name,
        DisplayName=f"Pat {stored_family_name}",
    )
    control.seed_customer(realm["realm_id"], GivenName="Pat", FamilyName="Other", DisplayName="Pat Other")

    # When it is searched for by name
    found = client.query_customers(customer_equals(GivenName="Pat", FamilyName=searched_family_name))

    # Then exactly that customer comes back
    assert [customer.Id for customer in found] == [wanted["Id"]]
    assert found[0].FamilyName == stored_family_name


def test_no_match_is_an_empty_query_response(client):
    # When nothing matches, QBO leaves the Customer key out
    response = client.query("SELECT * FROM Customer WHERE DisplayName = 'Nobody At All'")

    assert "Customer" not in response
    assert client.query_customers(customer_equals(DisplayName="Nobody At All")) == []


def test_inactive_customers_come_back_only_when_asked_for(client, control, realm):
    sleeper = control.seed_customer(realm["realm_id"], DisplayName="In Active", Active=False)

    default = client.query_customers(customer_equals(DisplayName="In Active"))
    with_inactive = client.query_customers(customer_equals(DisplayName="In Active"), include_inactive=True)

    assert default == []
    assert [customer.Id for customer in with_inactive] == [sleeper["Id"]]
    assert with_inactive[0].Active is False


def test_query_pages_until_exhausted(qbo_emulator, control, realm, tokens, sleep):
    # Given five matching customers and a page size of two
    for number in range(5):
        control.seed_customer(
            realm["realm_id"], GivenName="Page", FamilyName=f"N{number}", DisplayName=f"Page {number}"
        )
    client = QboClient(qbo_emulator.base_url, realm["realm_id"], tokens, page_size=2, sleep=sleep)

    # When they are queried
    found = client.query_customers(customer_equals(GivenName="Page"))

    # Then all five come back over three pages (STARTPOSITION 1, 3, 5)
    assert sorted(customer.DisplayName or "" for customer in found) == [f"Page {n}" for n in range(5)]
    assert client.calls_made == 3


def test_query_pages_on_when_qbo_quietly_caps_the_page_below_what_was_asked(tokens, sleep):
    # Given a QBO whose largest page is 100 (not the 1000 asked for) and which cuts pages without a fault
    with unthrottled_qbo_emulator(max_results_limit=100, cap_max_results=True) as capped:
        grant = QboEmulatorControl(capped.base_url).create_realm()
        for number in range(250):
            capped.state.create(grant["realm_id"], "Customer", {"DisplayName": f"Capped {number}"})
        client = QboClient(
            capped.base_url, grant["realm_id"], FixedTokens(grant["access_token"]), sleep=sleep
        )

        # When every customer is listed
        found = client.query_customers("")

        # Then none is missed: the pages of 100, 100 and 50 were followed up (STARTPOSITION 1, 101, 201)
        assert len({customer.Id for customer in found}) == 250
        starts = [
            call["query"]["query"].split("STARTPOSITION ")[1].split()[0]
            for call in api_calls(QboEmulatorControl(capped.base_url), grant, "query")
        ]
        assert starts == ["1", "101", "201"]


def test_a_short_page_below_qbos_default_page_size_ends_the_listing_in_one_call(client, control, realm):
    # Given three matching customers
    for number in range(3):
        control.seed_customer(realm["realm_id"], GivenName="Few", DisplayName=f"Few {number}")

    # When they are listed with the default page size
    found = client.query_customers(customer_equals(GivenName="Few"))

    # Then one query was enough
    assert len(found) == 3
    assert len(api_calls(control, realm, "query")) == 1


def test_a_long_statement_is_sent_as_a_post_body(client, control, realm):
    # Given a statement too long to put in a URL comfortably
    wanted = control.seed_customer(realm["realm_id"], DisplayName="Long Query")
    ids = ", ".join(f"'{n}'" for n in range(1000, 1400))
    statement = f"SELECT * FROM Customer WHERE Id IN ({ids}, '{wanted['Id']}')"

    # When it runs
    response = client.query(statement)

    # Then it went as POST and found the customer
    assert [c["Id"] for c in response["Customer"]] == [wanted["Id"]]
    assert api_calls(control, realm, "query")[-1]["method"] == "POST"


# --- batch --------------------------------------------------------------------------------------------------


def test_batch_results_are_matched_by_bid_whatever_order_qbo_answers_in(client, control, realm):
    # Given a create, a good update, a stale update and a query in one batch
    current = control.seed_customer(realm["realm_id"], DisplayName="Bat One")
    stale = control.seed_customer(realm["realm_id"], DisplayName="Bat Two")
    client.sparse_update(stale["Id"], stale["SyncToken"], {"Notes": "moved on"})
    items = [
        BatchItem.create("c", {"DisplayName": "Bat New"}),
        BatchItem.sparse_update("u", current["Id"], current["SyncToken"], {"Notes": "hello"}),
        BatchItem.sparse_update("s", stale["Id"], stale["SyncToken"], {"Notes": "too late"}),
        BatchItem.query("q", "SELECT * FROM Customer WHERE DisplayName = 'Bat One'"),
    ]

    # When it runs
    results = client.batch(items, request_id="batch-1")

    # Then each result is the outcome of its own item, in the order sent
    assert [result.bId for result in results] == ["c", "u", "s", "q"]
    created, updated, stale_result, queried = results
    assert created.customer is not None and created.customer.DisplayName == "Bat New"
    assert updated.customer is not None and updated.customer.Notes == "hello"
    assert isinstance(stale_result.error, QboStaleObject)
    assert queried.query_response is not None and queried.query_response["Customer"][0]["Id"] == current["Id"]


def test_a_failed_batch_item_carries_and_logs_the_batch_responses_intuit_tid(client, control, realm, caplog):
    # Given a batch whose only item is a stale update
    stale = control.seed_customer(realm["realm_id"], DisplayName="Bat Stale")
    client.sparse_update(stale["Id"], stale["SyncToken"], {"Notes": "moved on"})

    # When it runs
    (result,) = client.batch([BatchItem.sparse_update("s", stale["Id"], stale["SyncToken"], {"Notes": "x"})])

    # Then the item's error and its log line carry the trace id QBO sent with the batch response
    assert isinstance(result.error, QboStaleObject)
    assert result.error.intuit_tid
    logged = [record for record in caplog.records if record.getMessage() == "QBO batch item failed"]
    assert [record.__dict__.get("intuit_tid") for record in logged] == [result.error.intuit_tid]


def test_more_than_30_batch_items_go_in_several_requests(client, control, realm):
    # Given 31 creates
    items = [BatchItem.create(str(n), {"DisplayName": f"Bulk {n}"}) for n in range(31)]

    # When they are batched
    results = client.batch(items, request_id="bulk")

    # Then two requests of at most 30 were made, with derived requestids, and all 31 succeeded
    batches = api_calls(control, realm, "batch")
    assert [call["requestid"] for call in batches] == ["bulk-1", "bulk-2"]
    assert all(result.ok for result in results)
    assert len({result.customer.Id for result in results if result.customer}) == 31


def test_batch_with_writes_and_no_requestid_is_not_retried_on_a_server_error(client, control, realm):
    control.inject_fault(realm_id=realm["realm_id"], operation="batch", status=500, count=1)

    with pytest.raises(QboTransientError):
        client.batch([BatchItem.create("1", {"DisplayName": "Not Twice"})])

    assert client.calls_made == 1


def test_duplicate_bids_are_refused(client):
    with pytest.raises(ValueError, match="bId"):
        client.batch(
            [BatchItem.query("1", "SELECT * FROM Customer"), BatchItem.query("1", "SELECT * FROM Customer")]
        )


# --- nothing secret leaks -----------------------------------------------------------------------------------


def test_errors_and_logs_never_contain_the_access_token(client, control, realm, tokens, caplog):
    # Given failures of several kinds
    control.inject_fault(realm_id=realm["realm_id"], status=401, code="3200", count=2)
    control.inject_fault(realm_id=realm["realm_id"], status=500, count=3)
    errors: list[Exception] = []
    for _ in range(2):
        try:
            client.read_customer("1")
        except Exception as error:
            errors.append(error)

    # Then neither the errors nor anything logged holds the token
    assert len(errors) == 2
    assert all(tokens.token not in repr(error) and tokens.token not in str(error) for error in errors)
    logged = [record for record in caplog.records if record.getMessage() == "QBO call failed"]
    assert len(logged) == 5  # 2 unauthorised + 3 server errors, each with its trace id
    assert all(record.__dict__.get("intuit_tid") for record in logged)
    assert all(tokens.token not in repr(record.__dict__) for record in caplog.records)


def test_a_token_that_cannot_be_sent_as_a_header_never_shows_up_in_the_error_or_logs(
    qbo_emulator, realm, sleep, caplog, capsys
):
    # Given an access token stored with a trailing newline (requests refuses such a header and quotes it)
    broken = FixedTokens(realm["access_token"] + "\n")
    client = QboClient(qbo_emulator.base_url, realm["realm_id"], broken, sleep=sleep)

    # When a call is made
    with pytest.raises(QboError) as raised:
        client.read_customer("1")

    # Then the error is permanent and neither it, its chain, nor any log line holds the token
    assert raised.value.permanent
    assert sleep.waits == []
    texts = [str(raised.value), repr(raised.value), str(raised.value.__cause__)]
    texts += [repr(vars(record)) for record in caplog.records]
    texts += list(capsys.readouterr())
    assert all(realm["access_token"] not in text for text in texts)


def test_connection_failures_are_transient(realm, tokens, sleep):
    # Given nothing listening on the port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    client = QboClient(
        f"http://127.0.0.1:{free_port}",
        realm["realm_id"],
        tokens,
        timeout_seconds=1,
        max_attempts=3,
        sleep=sleep,
    )

    with pytest.raises(QboTransientError, match="connection failed"):
        client.read_customer("1")
    assert client.calls_made == 3


# --- the company ------------------------------------------------------------------------------------------


def test_company_info_reads_the_company_name_once_on_the_budget(qbo_emulator, control, realm, tokens):
    # Given a company named in QBO's settings, and a client over a budget of one request
    control.rename_company(realm["realm_id"], "Doe Plumbing & Sons", legal_name="Doe Plumbing LLC")
    budget = FakeQboBudget(requests=1)
    client = QboClient(qbo_emulator.base_url, realm["realm_id"], tokens, budget=budget)

    # When its CompanyInfo is read
    info = client.company_info()

    # Then both names come back from one read, drawn on the company's budget
    assert (info.CompanyName, info.LegalName, info.name) == (
        "Doe Plumbing & Sons",
        "Doe Plumbing LLC",
        "Doe Plumbing & Sons",
    )
    assert [(call["operation"], call["path"]) for call in api_calls(control, realm)] == [
        ("read", f"/v3/company/{realm['realm_id']}/companyinfo/{realm['realm_id']}")
    ]
    assert budget.taken == [realm["realm_id"]]


def test_company_info_with_a_rejected_token_asks_for_one_refresh_like_every_call(
    client, control, realm, tokens
):
    # Given QBO expired the company's access tokens
    control.expire_access_tokens(realm["realm_id"])

    # When the company's name is read
    with pytest.raises(QboAuthExpired):
        client.company_info()

    # Then the 401 led to one refresh request and one repeat, which QBO refused again
    assert tokens.refreshes == [realm["access_token"]]
    assert [call["status"] for call in api_calls(control, realm)] == [401, 401]
