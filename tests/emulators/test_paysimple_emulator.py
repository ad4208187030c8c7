"""The PaySimple emulator over real loopback HTTP: signed webhooks, their quirks, and the API's rules."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from emulators.paysimple import (
    EmulatorRequestError,
    PaySimpleEmulator,
    PaySimpleEmulatorControl,
    sign_webhook,
)

MERCHANT_ID = "1225"
API_USERNAME = "APIUser1225"
API_KEY = "k3y-1225-secret"
SIGNING_KEY = "whsec-1225"
JOHN = {"FirstName": "John", "LastName": "Doe", "Email": "john@example.com"}


@dataclass
class Receipt:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A tiny HTTP endpoint that records every POST byte for byte and answers `status`."""

    url: str = ""
    status: int = 202
    receipts: list[Receipt] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Receipt]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.receipts) >= count, timeout=timeout)
            return list(self.receipts)


class FakeClock:
    def __init__(self) -> None:
        self.moment = datetime(2018, 6, 20, 21, 42, 31, 541201, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def emulator(clock: FakeClock) -> Iterator[PaySimpleEmulator]:
    with PaySimpleEmulator(clock=clock, webhook_timeout_seconds=2.0).start() as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with receiver.arrived:
                receiver.receipts.append(Receipt(dict(self.headers.items()), body))
                receiver.arrived.notify_all()
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_port}/webhooks/paysimple"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def control(
    emulator: PaySimpleEmulator, clock: FakeClock, receiver: WebhookReceiver
) -> PaySimpleEmulatorControl:
    control = PaySimpleEmulatorControl(emulator.base_url)
    control.reset()
    clock.moment = datetime(2018, 6, 20, 21, 42, 31, 541201, tzinfo=UTC)
    control.add_merchant(MERCHANT_ID, API_USERNAME, API_KEY, SIGNING_KEY, webhook_url=receiver.url)
    return control


def api_get(emulator: PaySimpleEmulator, path: str, authorization: str | None = None) -> requests.Response:
    header = authorization if authorization is not None else f"basic {API_USERNAME}:{API_KEY}"
    return requests.get(f"{emulator.base_url}{path}", headers={"Authorization": header}, timeout=5)


# --- webhooks --------------------------------------------------------------------------------------------


def test_customer_webhook_is_hex_hmac_sha256_of_the_exact_raw_body(control, receiver):
    # Given a merchant subscribed to webhooks
    # When a customer is created
    saved = control.save_customer(MERCHANT_ID, JOHN)

    # Then the receiver got one POST whose signature is the hex HMAC of the very bytes sent
    [receipt] = receiver.wait_for(1)
    expected = hmac.new(SIGNING_KEY.encode(), receipt.body, hashlib.sha256).hexdigest()
    assert receipt.headers["PaySimple-Hmac-SHA256"] == expected
    assert sign_webhook(receipt.body, SIGNING_KEY) == expected
    # And re-serialising the JSON would give other bytes, so only raw-body verification passes
    assert json.dumps(json.loads(receipt.body)).encode() != receipt.body
    assert saved["deliveries"] == [
        {**saved["deliveries"][0], "event_id": saved["event_id"], "status_code": 202, "delivered": True}
    ]


def test_non_ascii_names_are_sent_as_raw_utf8_so_no_re_serialisation_reproduces_the_signed_bytes(
    control, receiver
):
    # When a customer with accented names is created
    control.save_customer(MERCHANT_ID, {**JOHN, "FirstName": "José", "LastName": "Müller"})

    # Then the body carries the names as UTF-8 bytes, and Python's JSON output, compact or not, differs
    [receipt] = receiver.wait_for(1)
    assert "José".encode() in receipt.body and "Müller".encode() in receipt.body
    parsed = json.loads(receipt.body)
    assert json.dumps(parsed, separators=(",", ":")).encode() != receipt.body
    assert receipt.headers["PaySimple-Hmac-SHA256"] == sign_webhook(receipt.body, SIGNING_KEY)


def test_customer_created_envelope_carries_the_lightweight_customer_data(control, receiver):
    # When a customer is created
    saved = control.save_customer(MERCHANT_ID, JOHN)

    # Then the envelope has PaySimple's shape, an integer merchant id and only the lightweight data, plus the
    # deprecated client_id, which is not the merchant id
    [receipt] = receiver.wait_for(1)
    event = json.loads(receipt.body)
    assert set(event) == {"event_type", "event_id", "merchant_id", "client_id", "created_at", "data"}
    assert isinstance(event["client_id"], int) and event["client_id"] != event["merchant_id"]
    assert event["event_type"] == "customer_created"
    assert re.fullmatch(r"evt_[0-9a-f]{24}", event["event_id"])
    assert event["event_id"] == saved["event_id"]
    assert event["merchant_id"] == 1225
    assert event["data"] == {
        "customer_id": saved["customer"]["Id"],
        "first_name": "John",
        "last_name": "Doe",
        "email": "john@example.com",
    }


def test_created_at_has_seven_fractional_digits_and_a_z(control, receiver):
    # When customers are created at 21:42:31.541201 UTC
    for number in range(20):
        control.save_customer(MERCHANT_ID, {**JOHN, "FirstName": f"John{number}"})

    # Then created_at is written the .NET way, with 7 fractional digits whose last is a real 100 ns tick,
    # not always a padding zero
    stamps = [json.loads(receipt.body)["created_at"] for receipt in receiver.wait_for(20)]
    assert all(re.fullmatch(r"2018-06-20T21:42:31\.541201[0-9]Z", stamp) for stamp in stamps)
    assert {stamp[-2] for stamp in stamps} != {"0"}


def test_update_sends_customer_updated_and_moves_last_modified(control, receiver, clock):
    # Given a customer created a minute ago
    created = control.save_customer(MERCHANT_ID, JOHN)["customer"]
    clock.moment += timedelta(minutes=1)

    # When it is saved with a new email
    updated = control.save_customer(MERCHANT_ID, {**created, "Email": "jd@example.com"})["customer"]

    # Then CreatedOn stays, LastModified moves, and a customer_updated event is delivered
    assert updated["CreatedOn"] == created["CreatedOn"] == "2018-06-20T21:42:31.541201Z"
    assert updated["LastModified"] == "2018-06-20T21:43:31.541201Z"
    events = [json.loads(r.body) for r in receiver.wait_for(2)]
    assert [e["event_type"] for e in events] == ["customer_created", "customer_updated"]
    assert events[1]["data"]["email"] == "jd@example.com"


def test_duplicate_delivery_posts_the_same_signed_body_twice(control, receiver):
    # When a save is delivered twice, as PaySimple may do
    saved = control.save_customer(MERCHANT_ID, JOHN, duplicate_delivery=True)

    # Then both POSTs are byte-identical, with the same event_id and signature
    first, second = receiver.wait_for(2)
    assert first.body == second.body
    assert first.headers["PaySimple-Hmac-SHA256"] == second.headers["PaySimple-Hmac-SHA256"]
    assert [d["attempt"] for d in saved["deliveries"]] == [1, 2]


def test_delete_sends_customer_deleted_with_only_the_customer_id(control, receiver):
    # Given a customer
    customer_id = control.save_customer(MERCHANT_ID, JOHN, send_webhook=False)["customer"]["Id"]

    # When it is deleted
    control.delete_customer(MERCHANT_ID, customer_id)

    # Then the event carries the id and nothing else
    [receipt] = receiver.wait_for(1)
    event = json.loads(receipt.body)
    assert event["event_type"] == "customer_deleted"
    assert event["data"] == {"customer_id": customer_id}


def test_failed_delivery_is_recorded_and_retried_until_acknowledged(control, receiver):
    # Given a receiver that is down
    receiver.status = 500
    event_id = control.save_customer(MERCHANT_ID, JOHN)["event_id"]
    assert [
        (d["event_id"], d["status_code"], d["delivered"]) for d in control.webhook_deliveries(MERCHANT_ID)
    ] == [(event_id, 500, False)]

    # When it recovers and PaySimple retries
    receiver.status = 200
    retried = control.redeliver_failed()

    # Then the same event arrives again and, once acknowledged, is not sent any more
    assert [(d["event_id"], d["attempt"], d["delivered"]) for d in retried] == [(event_id, 2, True)]
    assert control.redeliver_failed() == []
    first, second = receiver.wait_for(2)
    assert first.body == second.body


def test_a_2xx_that_takes_longer_than_the_timeout_in_all_is_a_failed_delivery(receiver):
    # Given a receiver that answers 200 at once but trickles its body for 0.5 s (each pause shorter than the
    # 0.3 s PaySimple waits), and an emulator waiting 0.3 s
    class Trickling(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            for chunk in (b"o", b"k", b"!"):
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(0.25)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    slow = ThreadingHTTPServer(("127.0.0.1", 0), Trickling)
    threading.Thread(target=slow.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        with PaySimpleEmulator(webhook_timeout_seconds=0.3).start() as emulator:
            control = PaySimpleEmulatorControl(emulator.base_url)
            url = f"http://127.0.0.1:{slow.server_port}/hook"
            control.add_merchant(MERCHANT_ID, API_USERNAME, API_KEY, SIGNING_KEY, webhook_url=url)

            # When a customer is saved
            [delivery] = control.save_customer(MERCHANT_ID, JOHN)["deliveries"]

            # Then PaySimple counts it as not acknowledged, and retries it later
            assert delivery["delivered"] is False
            assert delivery["error"].startswith("Timeout")
            assert [d["event_id"] for d in control.redeliver_failed()] == [delivery["event_id"]]
    finally:
        slow.shutdown()
        slow.server_close()


def test_the_signature_may_be_base64_and_the_client_id_left_out(receiver):
    # Given an emulator signing in base64 and never sending the deprecated client_id
    with PaySimpleEmulator(
        signature_encoding="base64", include_deprecated_client_id=False
    ).start() as emulator:
        control = PaySimpleEmulatorControl(emulator.base_url)
        control.add_merchant(MERCHANT_ID, API_USERNAME, API_KEY, SIGNING_KEY, webhook_url=receiver.url)

        # When a customer is saved
        control.save_customer(MERCHANT_ID, JOHN)

    # Then the signature is the base64 HMAC of the raw body, and the envelope has no client_id
    [receipt] = receiver.wait_for(1)
    digest = hmac.new(SIGNING_KEY.encode(), receipt.body, hashlib.sha256).digest()
    assert receipt.headers["PaySimple-Hmac-SHA256"] == base64.b64encode(digest).decode()
    assert sign_webhook(receipt.body, SIGNING_KEY, "base64") == receipt.headers["PaySimple-Hmac-SHA256"]
    assert "client_id" not in json.loads(receipt.body)


def test_unreachable_receiver_is_recorded_as_an_undelivered_attempt(control):
    # Given a subscription pointing at a closed port
    control.add_merchant(MERCHANT_ID, API_USERNAME, API_KEY, SIGNING_KEY, webhook_url="http://127.0.0.1:9/x")

    # When a customer is saved
    saved = control.save_customer(MERCHANT_ID, JOHN)

    # Then the customer is saved and the delivery is recorded as failed
    assert saved["customer"]["Id"]
    [delivery] = saved["deliveries"]
    assert delivery["status_code"] is None
    assert delivery["delivered"] is False


def test_delayed_delivery_arrives_after_the_save_returns(control, receiver):
    # When a save's webhook is delayed
    saved = control.save_customer(MERCHANT_ID, JOHN, delay_seconds=0.2)

    # Then nothing has been delivered yet, and the event arrives later
    assert saved["deliveries"] == []
    assert receiver.receipts == []
    [receipt] = receiver.wait_for(1)
    assert json.loads(receipt.body)["event_id"] == saved["event_id"]


def test_any_event_type_can_be_sent_through_the_signed_path(control, receiver):
    # When a payment event is sent
    control.send_event(MERCHANT_ID, "payment_created", {"payment_id": 42})

    # Then it arrives signed like customer events
    [receipt] = receiver.wait_for(1)
    assert json.loads(receipt.body)["event_type"] == "payment_created"
    assert receipt.headers["PaySimple-Hmac-SHA256"] == sign_webhook(receipt.body, SIGNING_KEY)


def test_save_without_webhook_sends_nothing(control, receiver):
    # When a customer is saved without its webhook
    saved = control.save_customer(MERCHANT_ID, JOHN, send_webhook=False)

    # Then no event exists
    assert saved["event_id"] is None
    assert control.webhook_deliveries(MERCHANT_ID) == []


# --- validation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"FirstName": ""}, "FirstName"),
        ({"LastName": None}, "LastName"),
        ({"FirstName": "x" * 101}, "FirstName"),
        ({"Company": "c" * 51}, "Company"),
        ({"CustomerAccount": "a" * 29}, "CustomerAccount"),
        ({"Email": "not-an-email"}, "Email"),
        ({"Phone": "555-123-4567"}, "Phone"),
        ({"MobilePhone": "555123456"}, "MobilePhone"),
        ({"Notes": "n" * 2049}, "Notes"),
        ({"BillingAddress": {"StateCode": "Colorado"}}, "BillingAddress.StateCode"),
        ({"ShippingAddress": {"Country": "USA"}}, "ShippingAddress.Country"),
    ],
)
def test_invalid_customer_is_refused_with_the_field_named(control, changes, field):
    # When a customer breaking one rule is saved
    with pytest.raises(EmulatorRequestError) as refused:
        control.save_customer(MERCHANT_ID, {**JOHN, **changes})

    # Then PaySimple's 400 envelope names the field
    assert refused.value.status_code == 400
    assert [e["Field"] for e in refused.value.field_errors] == [field]
    assert refused.value.body["Meta"]["HttpStatusCode"] == 400


def test_limits_are_inclusive(control):
    # When every field is at its maximum
    at_limits = {
        "FirstName": "f" * 100,
        "LastName": "l" * 100,
        "Company": "c" * 50,
        "CustomerAccount": "a" * 28,
        "Notes": "n" * 2048,
        "Phone": "5551234567",
        "BillingAddress": {"StateCode": "CO", "Country": "US"},
    }

    # Then the save succeeds
    assert (
        control.save_customer(MERCHANT_ID, at_limits, send_webhook=False)["customer"]["Notes"] == "n" * 2048
    )


def test_shipping_same_as_billing_means_no_separate_shipping_address(control):
    # When a customer says shipping is the same as billing
    saved = control.save_customer(
        MERCHANT_ID,
        {
            **JOHN,
            "ShippingSameAsBilling": True,
            "BillingAddress": {"City": "Denver"},
            "ShippingAddress": {"City": "X"},
        },
        send_webhook=False,
    )["customer"]

    # Then there is no shipping address of its own
    assert saved["ShippingAddress"] is None
    assert saved["BillingAddress"]["City"] == "Denver"


# --- API -------------------------------------------------------------------------------------------------


def test_deleted_customer_is_a_404_with_meta_errors(control, emulator):
    # Given a customer that was deleted
    customer_id = control.save_customer(MERCHANT_ID, JOHN, send_webhook=False)["customer"]["Id"]
    control.delete_customer(MERCHANT_ID, customer_id, send_webhook=False)

    # When it is fetched
    response = api_get(emulator, f"/v4/customer/{customer_id}")

    # Then PaySimple's 404 envelope comes back
    assert response.status_code == 404
    assert response.json()["Meta"]["Errors"]["TraceCode"]
    assert response.json()["Response"] is None
    assert control.get_customer(MERCHANT_ID, customer_id) is None


def test_customer_is_served_in_the_envelope_with_every_field(control, emulator):
    # Given a customer
    customer_id = control.save_customer(MERCHANT_ID, JOHN, send_webhook=False)["customer"]["Id"]

    # When it is fetched with the merchant's credentials
    response = api_get(emulator, f"/v4/customer/{customer_id}")

    # Then the full record comes in the envelope
    assert response.status_code == 200
    body = response.json()
    assert body["Meta"] == {"Errors": None, "HttpStatusCode": 200, "PagingDetails": None}
    assert body["Response"]["Id"] == customer_id
    assert body["Response"]["MiddleName"] is None
    assert body["Response"]["LastModified"] == "2018-06-20T21:42:31.541201Z"


def test_another_merchants_customer_is_not_found(control, emulator):
    # Given a customer of merchant 1225 and a second merchant
    customer_id = control.save_customer(MERCHANT_ID, JOHN, send_webhook=False)["customer"]["Id"]
    control.add_merchant("2001", "OtherUser", "other-key", "other-signing")

    # When the second merchant asks for it
    response = api_get(emulator, f"/v4/customer/{customer_id}", "basic OtherUser:other-key")

    # Then it does not exist for them
    assert response.status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "basic QVBJVXNlcjEyMjU6azN5LTEyMjUtc2VjcmV0",  # standard Basic auth: Base64 of user:key
        f"basic {API_USERNAME}:wrong",
        f"Bearer {API_KEY}",
    ],
)
def test_wrong_or_base64_credentials_are_a_401_with_meta_errors(control, emulator, authorization):
    # When the API is called without PaySimple's clear-text `basic user:key`
    response = api_get(emulator, "/v4/customer", authorization)

    # Then it is refused in the envelope
    assert response.status_code == 401
    assert response.json()["Meta"]["Errors"]["ErrorCode"] == "Unauthorized"


def test_empty_page_is_a_204_that_still_carries_a_body(control, emulator):
    # When a page past the end is asked for, over a raw socket (Python's client never reads a 204 body)
    host, port = emulator.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        request = (
            f"GET /v4/customer?page=3 HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: basic {API_USERNAME}:{API_KEY}\r\n\r\n"
        )
        connection.sendall(request.encode())
        raw = b""
        while chunk := connection.recv(65536):
            raw += chunk

    # Then the status is 204 and the envelope follows anyway
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 204")
    assert json.loads(body)["Meta"]["PagingDetails"] == {"TotalItems": 0, "Page": 3, "ItemsPerPage": 200}


def test_fault_for_one_customer_leaves_other_requests_alone(control, emulator):
    # Given two customers and a 503 injected for the first only
    first = control.save_customer(MERCHANT_ID, JOHN, send_webhook=False)["customer"]["Id"]
    second = control.save_customer(MERCHANT_ID, JOHN, send_webhook=False)["customer"]["Id"]
    control.inject_fault(status=503, customer_id=first)

    # When both are fetched, then the first again
    statuses = [api_get(emulator, f"/v4/customer/{cid}").status_code for cid in (second, first, first)]

    # Then only the first fetch of the first customer failed
    assert statuses == [200, 503, 200]


def test_latency_fault_delays_the_answer(control, emulator):
    # Given a latency fault
    control.inject_fault(latency_seconds=0.3)

    # When the API is called
    started = time.monotonic()
    response = api_get(emulator, "/v4/customer")

    # Then it answers normally, late
    assert response.status_code == 204
    assert time.monotonic() - started >= 0.3


def test_concurrent_saves_and_fetches_are_served_consistently(control, emulator):
    # Given 16 threads that each save a customer and fetch it back at the same time
    def save_and_fetch(number: int) -> tuple[int, int, str]:
        saved = control.save_customer(MERCHANT_ID, {**JOHN, "FirstName": f"Par{number}"}, send_webhook=False)
        customer_id = saved["customer"]["Id"]
        fetched = api_get(emulator, f"/v4/customer/{customer_id}")
        return customer_id, fetched.status_code, fetched.json()["Response"]["FirstName"]

    # When they run
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(save_and_fetch, range(16)))

    # Then every customer got its own id and reads back as saved
    assert len({customer_id for customer_id, _, _ in results}) == 16
    assert [(status, name) for _, status, name in results] == [(200, f"Par{n}") for n in range(16)]
