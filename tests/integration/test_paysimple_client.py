"""PaySimpleClient against the PaySimple emulator (and a few canned servers) over real loopback HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from customer_sync.adapters.http import HttpSession
from customer_sync.adapters.paysimple_client import (
    PaySimpleAuthError,
    PaySimpleClient,
    PaySimpleRequestError,
    PaySimpleTransientError,
)
from customer_sync.models.merchant_secrets import PaySimpleCredentials
from customer_sync.models.paysimple import PaySimpleCustomer
from customer_sync.observability import logger
from emulators.paysimple import PaySimpleEmulator, PaySimpleEmulatorControl

MERCHANT_ID = "1225"
CREDENTIALS = PaySimpleCredentials(
    api_username="APIUser1225", api_key="k3y-1225-very-secret", webhook_signing_key="whsec-1225"
)
CARD_NUMBER = "4111111111111111"
JANE = {
    "FirstName": "Jane",
    "LastName": "Roe",
    "Email": "jane@example.com",
    "Phone": "3035550100",
    "Notes": f"card {CARD_NUMBER} on file",
    "BillingAddress": {"StreetAddress1": "1 Main St", "City": "Denver", "StateCode": "CO", "Country": "US"},
    "ShippingSameAsBilling": True,
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[PaySimpleEmulator]:
    with PaySimpleEmulator().start() as running:
        yield running


@pytest.fixture
def control(emulator: PaySimpleEmulator) -> PaySimpleEmulatorControl:
    control = PaySimpleEmulatorControl(emulator.base_url)
    control.reset()
    control.add_merchant(MERCHANT_ID, CREDENTIALS.api_username, CREDENTIALS.api_key, "whsec-1225")
    return control


@pytest.fixture
def client(emulator: PaySimpleEmulator, control: PaySimpleEmulatorControl) -> PaySimpleClient:
    return PaySimpleClient(emulator.base_url, CREDENTIALS, timeout_seconds=2.0)


@pytest.fixture
def canned_server() -> Iterator[Callable[[int, str, str], str]]:
    """Start a server that answers every GET with one fixed response; returns its base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, content_type: str, body: str) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                payload = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def saved_id(control: PaySimpleEmulatorControl, customer: dict[str, Any]) -> int:
    customer_id: int = control.save_customer(MERCHANT_ID, customer, send_webhook=False)["customer"]["Id"]
    return customer_id


# --- fetch -----------------------------------------------------------------------------------------------


def test_get_customer_returns_the_full_current_record(control, client):
    # Given a customer in PaySimple
    customer_id = saved_id(control, JANE)

    # When the client fetches it
    customer = client.get_customer(str(customer_id))

    # Then every field arrives in the model
    assert isinstance(customer, PaySimpleCustomer)
    assert customer.Id == customer_id
    assert (customer.FirstName, customer.LastName, customer.Email) == ("Jane", "Roe", "jane@example.com")
    assert customer.BillingAddress is not None and customer.BillingAddress.StateCode == "CO"
    assert customer.ShippingSameAsBilling is True
    assert customer.LastModified is not None and customer.LastModified.tzinfo is not None


def test_deleted_customer_is_none(control, client):
    # Given a customer that was deleted in PaySimple
    customer_id = saved_id(control, JANE)
    control.delete_customer(MERCHANT_ID, customer_id, send_webhook=False)

    # When the client fetches it, then there is nothing
    assert client.get_customer(str(customer_id)) is None


def test_another_merchants_customer_is_none(control, emulator):
    # Given a customer of another merchant
    control.add_merchant("2001", "OtherUser", "other-key", "other-signing")
    other_customer = control.save_customer("2001", JANE, send_webhook=False)["customer"]["Id"]
    client = PaySimpleClient(emulator.base_url, CREDENTIALS)

    # When merchant 1225's client asks for it, then it does not exist
    assert client.get_customer(str(other_customer)) is None


def test_authorization_header_is_clear_text_basic_user_colon_key(control, emulator):
    # Given a session that records the headers the client sends
    sent: list[str] = []

    class RecordingSession(HttpSession):
        def request(self, method, url, **kwargs):
            sent.append(kwargs["headers"]["Authorization"])
            return super().request(method, url, **kwargs)

    client = PaySimpleClient(emulator.base_url, CREDENTIALS, session=RecordingSession())

    # When the client calls the API (which refuses standard Base64 Basic auth)
    page = client.list_customers()

    # Then the call succeeded with PaySimple's non-Base64 scheme
    assert page.items == []
    assert sent == ["basic APIUser1225:k3y-1225-very-secret"]
    base64_attempt = requests.get(
        f"{emulator.base_url}/v4/customer", auth=(CREDENTIALS.api_username, CREDENTIALS.api_key), timeout=5
    )
    assert base64_attempt.status_code == 401


# --- errors ----------------------------------------------------------------------------------------------


def test_wrong_credentials_raise_a_permanent_auth_error_without_the_key(control, emulator):
    # Given a client with a revoked key
    wrong = PaySimpleCredentials(
        api_username="APIUser1225", api_key="revoked-key-123", webhook_signing_key="x"
    )
    client = PaySimpleClient(emulator.base_url, wrong)

    # When it fetches a customer
    with pytest.raises(PaySimpleAuthError) as failed:
        client.get_customer("8053900")

    # Then the error is permanent, carries the TraceCode, and never the credentials
    assert failed.value.permanent is True
    assert failed.value.status_code == 401
    assert failed.value.trace_code
    assert failed.value.trace_code in str(failed.value)
    assert "revoked-key-123" not in str(failed.value)
    assert "revoked-key-123" not in repr(client)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_throttling_and_server_errors_are_transient(control, client, status):
    # Given PaySimple failing the next call
    customer_id = saved_id(control, JANE)
    control.inject_fault(status=status)

    # When the client fetches, then SQS should retry later
    with pytest.raises(PaySimpleTransientError) as failed:
        client.get_customer(str(customer_id))
    assert failed.value.status_code == status
    assert failed.value.permanent is False


def test_server_error_carries_paysimples_trace_code(control, client):
    # Given a 500 in PaySimple's envelope
    control.inject_fault(status=500)

    # When the client lists customers
    with pytest.raises(PaySimpleTransientError) as failed:
        client.list_customers()

    # Then the TraceCode is on the error
    assert failed.value.trace_code and len(failed.value.trace_code) == 32


def test_other_client_errors_are_permanent_request_errors(control, client):
    # Given a 400 from PaySimple
    control.inject_fault(status=400)

    # When the client fetches, then the failure is permanent
    with pytest.raises(PaySimpleRequestError) as failed:
        client.get_customer("8053900")
    assert failed.value.permanent is True
    assert failed.value.error_code == "InvalidInput"


def test_timeout_is_transient(control, emulator):
    # Given PaySimple answering after the client's timeout
    control.inject_fault(latency_seconds=0.5)
    client = PaySimpleClient(emulator.base_url, CREDENTIALS, timeout_seconds=0.1)

    # When the client fetches, then it gives up with a transient error
    with pytest.raises(PaySimpleTransientError):
        client.get_customer("8053900")


def test_connection_refused_is_transient():
    # Given nothing listening where PaySimple should be
    client = PaySimpleClient("http://127.0.0.1:9", CREDENTIALS, timeout_seconds=1.0)

    # When the client fetches, then it fails transiently
    with pytest.raises(PaySimpleTransientError):
        client.get_customer("8053900")


def test_204_for_a_customer_is_transient_not_a_deletion(control, client):
    # Given PaySimple answering "no content" for a customer
    customer_id = saved_id(control, JANE)
    control.inject_fault(status=204, customer_id=customer_id)

    # When the client fetches, then it neither invents a record nor reports a deletion
    with pytest.raises(PaySimpleTransientError):
        client.get_customer(str(customer_id))


def test_404_without_paysimples_envelope_is_not_a_deletion(emulator, control):
    # Given a base URL that reaches the host but not the API (ASP.NET's own 404)
    client = PaySimpleClient(f"{emulator.base_url}/wrong-prefix", CREDENTIALS)

    # When the client fetches, then it refuses to read that as "customer deleted"
    with pytest.raises(PaySimpleRequestError) as failed:
        client.get_customer("8053900")
    assert failed.value.status_code == 404


def test_html_answer_with_200_is_transient(canned_server):
    # Given a proxy answering 200 with an HTML page
    client = PaySimpleClient(canned_server(200, "text/html", "<html>maintenance</html>"), CREDENTIALS)

    # When the client fetches, then it fails transiently
    with pytest.raises(PaySimpleTransientError):
        client.get_customer("8053900")


def test_unreadable_customer_names_the_fields_but_never_the_values(canned_server):
    # Given PaySimple returning a record our model cannot read (no LastName, a card number in Notes)
    body = (
        f'{{"Meta":{{"Errors":null,"HttpStatusCode":200}},"Response":{{"Id":7,"FirstName":"{CARD_NUMBER}"}}}}'
    )
    client = PaySimpleClient(canned_server(200, "application/json", body), CREDENTIALS)

    # When the client fetches it
    with pytest.raises(PaySimpleRequestError) as failed:
        client.get_customer("7")

    # Then the error names the field and holds no value
    assert "LastName" in str(failed.value)
    assert CARD_NUMBER not in str(failed.value)
    assert failed.value.__cause__ is None and failed.value.__suppress_context__


def test_a_key_pasted_with_a_newline_is_an_auth_error_that_never_shows_the_key(emulator, caplog, capsys):
    # Given an API key saved with a trailing newline (requests refuses such a header and quotes it)
    pasted = PaySimpleCredentials(
        api_username="APIUser1225", api_key="k3y-pasted-secret\n", webhook_signing_key="whsec-1225"
    )
    client = PaySimpleClient(emulator.base_url, pasted, timeout_seconds=2.0)

    # When a customer is fetched
    with pytest.raises(PaySimpleAuthError) as raised:
        client.get_customer("8053900")

    # Then it needs a human, and the key is in neither the error, its chain, nor the logs
    assert raised.value.permanent
    texts = [str(raised.value), repr(raised.value), str(raised.value.__cause__)]
    texts += [repr(vars(record)) for record in caplog.records]
    texts += list(capsys.readouterr())
    assert all("k3y-pasted-secret" not in text for text in texts)


def test_logs_never_hold_credentials_or_customer_fields(control, client, caplog):
    # Given debug logging and a customer with a card number in Notes
    customer_id = saved_id(control, JANE)
    previous = logger.log_level
    logger.setLevel("DEBUG")
    try:
        # When the client fetches it, lists, and meets a 404 and a 500
        client.get_customer(str(customer_id))
        client.list_customers()
        client.get_customer("1")
        control.inject_fault(status=500)
        with pytest.raises(PaySimpleTransientError):
            client.get_customer(str(customer_id))
    finally:
        logger.setLevel(previous)

    # Then the ids are logged and nothing secret or personal is
    output = "\n".join(str(vars(record)) for record in caplog.records)
    assert str(customer_id) in output
    for secret in (CARD_NUMBER, CREDENTIALS.api_key, "jane@example.com", "Roe"):
        assert secret not in output


# --- paging ----------------------------------------------------------------------------------------------


def test_list_customers_pages_through_everything(control, client):
    # Given five customers
    ids = [saved_id(control, {**JANE, "FirstName": f"Jane{n}"}) for n in range(5)]

    # When the client pages through them two at a time
    pages = [client.list_customers(page=n, page_size=2) for n in (1, 2, 3)]

    # Then the paging details and items line up
    assert [[c.Id for c in p.items] for p in pages] == [ids[0:2], ids[2:4], ids[4:5]]
    assert [(p.total_items, p.page, p.items_per_page) for p in pages] == [(5, 1, 2), (5, 2, 2), (5, 3, 2)]
    assert [p.has_next_page for p in pages] == [True, True, False]


def test_page_past_the_end_is_empty(control, client):
    # Given one customer
    saved_id(control, JANE)

    # When a page past the end is asked for (PaySimple answers 204)
    page = client.list_customers(page=5, page_size=10)

    # Then it is an empty last page
    assert page.items == []
    assert page.has_next_page is False


def test_pages_start_at_one(client):
    with pytest.raises(ValueError):
        client.list_customers(page=0)
