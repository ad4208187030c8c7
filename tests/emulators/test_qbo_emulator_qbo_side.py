"""What people do in QBO, as the emulator shows it to the app: jobs, sub-customers and projects in customer
queries, signed CloudEvents webhooks (retries, several companies per POST, the app's own writes echoed,
merges), change data capture, and revoking a connection."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from emulators.qbo.control import QboEmulatorControl
from emulators.qbo.server import QboEmulator
from tests.emulators.test_qbo_emulator import Company, fault_of, token_request
from tests.support.emulators import OffsetClock as FakeClock
from tests.support.recording_endpoint import Received, RecordingEndpoint

VERIFIER_TOKEN = "verifier-token-from-the-developer-portal"


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def emulator(clock: FakeClock) -> Iterator[QboEmulator]:
    with QboEmulator(clock=clock, rate_limit_per_second=None, cdc_max_objects=5) as running:
        yield running


@pytest.fixture
def control(emulator: QboEmulator) -> Iterator[QboEmulatorControl]:
    control = QboEmulatorControl(emulator.base_url)
    yield control
    control.unsubscribe_webhooks()


@pytest.fixture
def company(emulator: QboEmulator, control: QboEmulatorControl) -> Company:
    grant = control.create_realm()
    return Company(emulator.base_url, grant["realm_id"], grant["access_token"], grant["refresh_token"])


@pytest.fixture
def endpoint() -> Iterator[RecordingEndpoint]:
    with RecordingEndpoint() as running:
        yield running


def events_of(delivery: Received) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads(delivery.body)
    return events


def signature_is_valid(delivery: Received, token: str = VERIFIER_TOKEN) -> bool:
    expected = base64.b64encode(hmac.new(token.encode(), delivery.body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, delivery.headers["intuit-signature"])


def subscribe_manually(control: QboEmulatorControl, endpoint: RecordingEndpoint, **options: Any) -> None:
    """Deliveries only when the test asks for one."""
    control.subscribe_webhooks(endpoint.url, VERIFIER_TOKEN, auto_deliver=False, **options)


# --- jobs, sub-customers and projects ------------------------------------------------------------------


def test_jobs_and_projects_come_back_from_customer_queries_with_their_parent(
    company: Company, control: QboEmulatorControl
) -> None:
    # Given a customer, a job under it and a project under it, all named like a person
    parent = control.seed_customer(company.realm_id, DisplayName="Acme Builders")
    job = control.seed_job(
        company.realm_id, parent["Id"], DisplayName="John Smith", GivenName="John", FamilyName="Smith"
    )
    project = control.seed_job(
        company.realm_id, parent["Id"], project=True, DisplayName="Smith kitchen", FamilyName="Smith"
    )
    # When the app queries customers by family name
    response = company.query("SELECT * FROM Customer WHERE FamilyName = 'Smith'")
    # Then both come back, marked as jobs of their parent (QBO cannot filter them out: Job is not queryable)
    found = {c["Id"]: c for c in response.json()["QueryResponse"]["Customer"]}
    assert set(found) == {job["Id"], project["Id"]}
    assert found[job["Id"]]["Job"] is True and found[job["Id"]]["IsProject"] is False
    assert found[project["Id"]]["IsProject"] is True and found[project["Id"]]["Job"] is True
    assert found[job["Id"]]["ParentRef"] == {"value": parent["Id"]}
    assert found[job["Id"]]["FullyQualifiedName"] == "Acme Builders:John Smith"
    assert found[job["Id"]]["Level"] == 1
    assert fault_of(company.query("SELECT * FROM Customer WHERE Job = true"))["code"] == "4000"


def test_a_sub_customer_of_an_unknown_parent_is_refused(company: Company) -> None:
    # When the API creates a sub-customer under a parent that does not exist
    response = company.create({"DisplayName": "Orphan", "Job": True, "ParentRef": {"value": "999"}})
    # Then it is an invalid reference
    assert fault_of(response)["code"] == "2500"


def test_a_job_holds_its_display_name_like_any_customer(
    company: Company, control: QboEmulatorControl
) -> None:
    # Given a job named "John Smith"
    parent = control.seed_customer(company.realm_id, DisplayName="Acme Builders")
    control.seed_job(company.realm_id, parent["Id"], DisplayName="John Smith")
    # When the app creates a top-level "John Smith", Then the name is taken (the stricter of QBO's possible
    # rules: whether a job's name collides with a top-level one is not documented)
    assert fault_of(company.create({"DisplayName": "John Smith"}))["code"] == "6240"


# --- webhooks ------------------------------------------------------------------------------------------


def test_a_change_is_delivered_as_a_signed_cloudevents_array(
    company: Company, control: QboEmulatorControl, endpoint: RecordingEndpoint
) -> None:
    # Given the app's endpoint is subscribed
    control.subscribe_webhooks(endpoint.url, VERIFIER_TOKEN, batch_window_seconds=0.05)
    # When the app itself creates a customer through the API
    created = company.customer({"DisplayName": "Ann Lee", "GivenName": "Ann", "FamilyName": "Lee"})
    # Then its own write comes back as an event, signed with the verifier token
    delivery = endpoint.wait_for(1)[0]
    assert signature_is_valid(delivery)
    assert not signature_is_valid(delivery, token="another-token")
    [event] = events_of(delivery)
    assert event["specversion"] == "1.0"
    assert event["type"] == "qbo.customer.created.v1"
    assert (event["intuitaccountid"], event["intuitentityid"]) == (company.realm_id, created["Id"])
    assert event["source"].startswith("intuit.")
    assert event["data"] == {}
    # And its time is the change's, to the second, in UTC
    changed = datetime.fromisoformat(created["MetaData"]["LastUpdatedTime"])
    assert datetime.fromisoformat(event["time"]) == changed.astimezone(UTC)


def test_events_of_several_companies_arrive_in_one_post(
    emulator: QboEmulator, control: QboEmulatorControl, endpoint: RecordingEndpoint
) -> None:
    # Given two companies and a manual subscription
    first, second = control.create_realm()["realm_id"], control.create_realm()["realm_id"]
    subscribe_manually(control, endpoint)
    # When people change customers in both before the next delivery
    one = control.seed_customer(first, DisplayName="Ann Lee")
    control.edit_customer(first, one["Id"], Notes="called")
    control.seed_customer(second, DisplayName="Bob Ray")
    delivery = control.deliver_webhooks()
    # Then a single POST carries all three events, in order
    assert delivery is not None and delivery["status"] == 200
    events = events_of(endpoint.wait_for(1)[0])
    assert [(e["intuitaccountid"], e["type"]) for e in events] == [
        (first, "qbo.customer.created.v1"),
        (first, "qbo.customer.updated.v1"),
        (second, "qbo.customer.created.v1"),
    ]
    assert sorted(delivery["realm_ids"]) == sorted([first, second])


def test_a_failed_delivery_is_retried_on_intuits_schedule_and_holds_later_events_back(
    company: Company, control: QboEmulatorControl, endpoint: RecordingEndpoint
) -> None:
    # Given an endpoint that fails twice, and Intuit's delays shrunk 1000 times (10 ms, 20 ms, ...)
    endpoint.answer(500, 503)
    control.subscribe_webhooks(endpoint.url, VERIFIER_TOKEN, batch_window_seconds=0.0, time_scale=0.001)
    first = control.seed_customer(company.realm_id, DisplayName="Ann Lee")
    # When the first delivery has been tried three times
    received = endpoint.wait_for(3)
    # Then each attempt carried the same events (redelivered, never split or reordered)
    assert [r.status for r in received] == [500, 503, 200]
    assert events_of(received[0]) == events_of(received[1]) == events_of(received[2])
    assert [e["intuitentityid"] for e in events_of(received[0])] == [first["Id"]]
    deliveries = control.webhooks()["deliveries"]
    assert [d["attempt"] for d in deliveries[-3:]] == [1, 2, 3]


def test_no_later_event_is_delivered_before_the_failing_one_is_acknowledged(
    company: Company, control: QboEmulatorControl, endpoint: RecordingEndpoint
) -> None:
    # Given a delivery that failed (manual deliveries)
    subscribe_manually(control, endpoint)
    endpoint.answer(500)
    first = control.seed_customer(company.realm_id, DisplayName="Ann Lee")
    assert control.deliver_webhooks()["status"] == 500  # type: ignore[index]
    # When another change happens and the next attempt is made
    second = control.seed_customer(company.realm_id, DisplayName="Bob Ray")
    assert control.deliver_webhooks()["status"] == 200  # type: ignore[index]
    # Then that attempt is the held delivery again; the later event waits for the one after
    assert [e["intuitentityid"] for e in events_of(endpoint.received[1])] == [first["Id"]]
    assert control.deliver_webhooks()["status"] == 200  # type: ignore[index]
    assert [e["intuitentityid"] for e in events_of(endpoint.received[2])] == [second["Id"]]
    assert control.deliver_webhooks() is None


def test_an_endpoint_slower_than_the_timeout_has_failed(
    company: Company, control: QboEmulatorControl, endpoint: RecordingEndpoint
) -> None:
    # Given an endpoint answering after the sender's timeout
    subscribe_manually(control, endpoint, timeout_seconds=0.2)
    endpoint.delay_seconds = 0.5
    control.seed_customer(company.realm_id, DisplayName="Ann Lee")
    # When a delivery is made, Then it counts as failed and stays held
    delivery = control.deliver_webhooks()
    assert delivery is not None and delivery["status"] is None and delivery["error"] == "ReadTimeout"
    assert control.webhooks()["in_flight"]["attempts"] == 1


@pytest.mark.parametrize("inactivation_event", ["deleted", "updated"])
def test_making_a_customer_inactive_is_announced_as_configured(
    company: Company, control: QboEmulatorControl, endpoint: RecordingEndpoint, inactivation_event: str
) -> None:
    # Given a customer and a subscription choosing how an inactivation is announced
    customer = control.seed_customer(company.realm_id, DisplayName="Ann Lee")
    subscribe_manually(control, endpoint, inactivation_event=inactivation_event)
    # When a person makes it inactive, then active again
    control.edit_customer(company.realm_id, customer["Id"], Active=False)
    control.edit_customer(company.realm_id, customer["Id"], Active=True)
    control.deliver_webhooks()
    # Then the first is announced as configured, and the second as an update
    types = [e["type"] for e in events_of(endpoint.received[0])]
    assert types == [f"qbo.customer.{inactivation_event}.v1", "qbo.customer.updated.v1"]


def test_a_merge_is_announced_on_the_survivor_and_the_merged_one_is_gone(
    company: Company, control: QboEmulatorControl, endpoint: RecordingEndpoint
) -> None:
    # Given two customers
    merged = control.seed_customer(company.realm_id, DisplayName="Ann Lee")
    survivor = control.seed_customer(company.realm_id, DisplayName="Ann M. Lee")
    subscribe_manually(control, endpoint)
    # When a person merges the first into the second
    after = control.merge_customers(company.realm_id, merged["Id"], survivor["Id"])
    control.deliver_webhooks()
    # Then one event comes on the survivor, naming the deleted one
    [event] = events_of(endpoint.received[0])
    assert event["type"] == "qbo.customer.merged.v1"
    assert event["intuitentityid"] == survivor["Id"]
    assert event["data"] == {"deletedid": merged["Id"]}
    # And the survivor has a new SyncToken, the merged one is 610 and its name is free
    assert int(after["SyncToken"]) == int(survivor["SyncToken"]) + 1
    assert fault_of(company.read(merged["Id"]))["code"] == "610"
    assert company.create({"DisplayName": "Ann Lee"}).status_code == 200


def test_without_a_subscription_nothing_is_kept_to_deliver_later(
    company: Company, control: QboEmulatorControl, endpoint: RecordingEndpoint
) -> None:
    # Given changes made while no endpoint is registered
    control.seed_customer(company.realm_id, DisplayName="Ann Lee")
    # When the app subscribes afterwards
    subscribe_manually(control, endpoint)
    # Then there is nothing to deliver
    assert control.webhooks()["pending"] == []
    assert control.deliver_webhooks() is None


# --- change data capture -------------------------------------------------------------------------------


def cdc(company: Company, since: datetime, entities: str = "Customer") -> Any:
    return company.call("GET", "/cdc", params={"entities": entities, "changedSince": since.isoformat()})


def test_cdc_lists_what_changed_since_a_time_deleted_ones_as_deleted(
    company: Company, control: QboEmulatorControl, clock: FakeClock
) -> None:
    # Given an old customer, then (a minute later) a new one, the old one made inactive, and a merge
    old = control.seed_customer(company.realm_id, DisplayName="Old One")
    clock.advance(60)
    since = datetime.fromtimestamp(int(clock()), UTC)  # QBO's times are whole seconds
    edited = control.seed_customer(company.realm_id, DisplayName="Ann Lee")
    clock.advance(1)
    control.edit_customer(company.realm_id, old["Id"], Active=False)
    clock.advance(1)
    survivor = control.seed_customer(company.realm_id, DisplayName="Bob Ray")
    control.merge_customers(company.realm_id, edited["Id"], survivor["Id"])
    # When the app asks for the changes since the minute mark
    response = cdc(company, since)
    # Then it gets full objects (inactive included) and the merged one as Deleted, oldest change first
    assert response.status_code == 200, response.text
    [entry] = response.json()["CDCResponse"]
    [customers] = entry["QueryResponse"]
    listed = customers["Customer"]
    assert [(c["Id"], c.get("status"), c.get("Active")) for c in listed] == [
        (old["Id"], None, False),
        (edited["Id"], "Deleted", None),
        (survivor["Id"], None, True),
    ]
    assert set(listed[1]) == {"domain", "status", "Id", "MetaData"}
    # And the call is metered and logged like any other
    assert control.calls(company.realm_id)[-1]["operation"] == "cdc"


def test_cdc_answers_at_most_its_limit_oldest_changes_first(
    company: Company, control: QboEmulatorControl, clock: FakeClock
) -> None:
    # Given more changes than one answer holds (this emulator's limit is 5)
    clock.advance(60)
    since = datetime.fromtimestamp(int(clock()), UTC)
    ids = []
    for number in range(7):
        ids.append(control.seed_customer(company.realm_id, DisplayName=f"Customer {number}")["Id"])
        clock.advance(1)
    # When the app asks for them, Then the oldest 5 come back and nothing says more changed
    customers = cdc(company, since).json()["CDCResponse"][0]["QueryResponse"][0]
    assert [c["Id"] for c in customers["Customer"]] == ids[:5]
    assert customers["totalCount"] == 5


def test_cdc_refuses_a_look_back_over_30_days_and_unknown_entities(
    company: Company, clock: FakeClock
) -> None:
    now = datetime.fromtimestamp(clock(), UTC)
    assert cdc(company, now - timedelta(days=31)).status_code == 400
    assert cdc(company, now - timedelta(days=29)).status_code == 200
    assert fault_of(cdc(company, now, entities="Invoice"))["code"] == "2010"
    missing = company.call("GET", "/cdc", params={"entities": "Customer"})
    assert fault_of(missing)["code"] == "2020"


def test_nothing_changed_means_no_entity_key(company: Company, clock: FakeClock) -> None:
    later = datetime.fromtimestamp(clock() + 3600, UTC)
    assert cdc(company, later).json()["CDCResponse"][0]["QueryResponse"] == [
        {"startPosition": 1, "maxResults": 0, "totalCount": 0}
    ]


# --- revoking a connection -----------------------------------------------------------------------------


def revoke(emulator: QboEmulator, token: str, secret: str = "emulator-client-secret") -> Any:
    basic = base64.b64encode(f"emulator-client-id:{secret}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
    return requests.post(emulator.revoke_url, json={"token": token}, headers=headers, timeout=10)


def test_revoking_the_refresh_token_ends_the_whole_connection(
    emulator: QboEmulator, company: Company, control: QboEmulatorControl
) -> None:
    # When the app revokes its refresh token (Disconnect)
    assert revoke(emulator, company.refresh_token).status_code == 200
    # Then neither the refresh token nor the access token works any more
    refreshed = token_request(
        emulator, {"grant_type": "refresh_token", "refresh_token": company.refresh_token}
    )
    assert (refreshed.status_code, refreshed.json()) == (400, {"error": "invalid_grant"})
    assert company.query("SELECT * FROM Customer").status_code == 401
    # And revoking again, or an unknown token, is answered 200 (nothing left to revoke)
    assert revoke(emulator, company.refresh_token).status_code == 200
    assert revoke(emulator, "unknown").status_code == 200
    assert [c["operation"] for c in control.calls(company.realm_id)][:1] == ["revoke"]


def test_revoking_needs_the_apps_credentials(emulator: QboEmulator, company: Company) -> None:
    assert revoke(emulator, company.refresh_token, secret="wrong").status_code == 401
    assert company.query("SELECT * FROM Customer").status_code == 200
