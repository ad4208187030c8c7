"""A change parked because the QBO connection was revoked, after the admin paused sync, reconnected and
resumed: redriven through the admin API, it is applied by the sync handler (it was saved while sync was
on), and its parked entry is gone only then. A redrive that is not applied leaves the entry listed
(moto, the QBO and PaySimple emulators, the real handlers)."""

from __future__ import annotations

import time

from functions.dead_letters.app import lambda_handler as dead_letter_handler
from functions.sync.app import lambda_handler as sync_handler
from tests.support.admin_api import Merchants, call
from tests.support.sqs_events import QueueEventSource
from tests.support.sync_stack import SyncStack

NO_FAILURES: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}


def set_sync(stack: SyncStack, enabled: bool) -> None:
    response = call("PUT", f"/admin/merchants/{stack.merchant_id}/settings", body={"sync_enabled": enabled})
    assert response.status == 200, response.text
    time.sleep(0.01)  # the next step happens strictly after this one


def parked_event_ids(stack: SyncStack) -> list[tuple[str, int]]:
    listed = call("GET", f"/admin/merchants/{stack.merchant_id}/failures")
    assert listed.status == 200, listed.text
    return [(item["event_id"], item["redrive_attempt"]) for item in listed.json["parked"]]


def redrive(stack: SyncStack, event_id: str) -> None:
    response = call(
        "POST", f"/admin/merchants/{stack.merchant_id}/failures/redrive", body={"event_ids": [event_id]}
    )
    assert response.status == 200, response.text
    assert [item["event_id"] for item in response.json["redriven"]] == [event_id]


def test_a_change_redriven_after_pause_reconnect_and_resume_is_applied(sync_stack: SyncStack):
    # Given a change parked because QBO revoked the merchant's connection
    sync_stack.qbo.expire_access_tokens(sync_stack.realm_id)
    sync_stack.qbo.revoke_refresh_tokens(sync_stack.realm_id)
    customer_id = sync_stack.save_customer(FirstName="Ann", LastName="Lee", Email="ann@example.com")
    message = sync_stack.message(customer_id, event_type="customer_created")
    assert sync_stack.deliver(message) == NO_FAILURES
    assert parked_event_ids(sync_stack) == [(message.event_id, 0)]

    # When the admin pauses sync, reconnects QuickBooks (which sends the parked change again by itself),
    # resumes sync, and redrives the change too
    set_sync(sync_stack, False)
    Merchants(sync_stack.qbo, sync_stack.paysimple).connect(sync_stack.merchant_id, sync_stack.realm_id)
    set_sync(sync_stack, True)
    redrive(sync_stack, message.event_id)
    # (until the sync has run, the entry is listed, waiting for the last attempt sent)
    assert parked_event_ids(sync_stack) == [(message.event_id, 2)]
    source = QueueEventSource(sync_stack.env["CHANGES_QUEUE_URL"], sync_handler)
    while (response := source.poll()) is not None:
        assert response == NO_FAILURES

    # Then the customer is created in QBO once and linked, and the parked entry is gone
    link = sync_stack.link(customer_id)
    assert (link.status, link.reason) == ("linked", "created")
    assert [c["DisplayName"] for c in sync_stack.qbo_customers()] == ["Ann Lee"]
    assert parked_event_ids(sync_stack) == []
    # (the first attempt to arrive created it; the other found nothing left to change)
    assert sync_stack.actions(customer_id)[-2:] == ["created", "unchanged"]


def test_a_change_redriven_while_sync_is_off_stays_listed_with_why(sync_stack: SyncStack):
    # Given a change parked because the connection was revoked; the admin reconnects but leaves sync off
    sync_stack.qbo.expire_access_tokens(sync_stack.realm_id)
    sync_stack.qbo.revoke_refresh_tokens(sync_stack.realm_id)
    customer_id = sync_stack.save_customer(FirstName="Bo", LastName="Lee")
    message = sync_stack.message(customer_id, event_type="customer_created")
    assert sync_stack.deliver(message) == NO_FAILURES
    set_sync(sync_stack, False)
    Merchants(sync_stack.qbo, sync_stack.paysimple).connect(sync_stack.merchant_id, sync_stack.realm_id)

    # When the change the reconnect sent again is synced, and the admin redrives it too
    source = QueueEventSource(sync_stack.env["CHANGES_QUEUE_URL"], sync_handler)
    assert source.poll() == NO_FAILURES
    redrive(sync_stack, message.event_id)
    assert source.poll() == NO_FAILURES

    # Then nothing reached QBO, and the change is still listed, saying sync is off
    assert sync_stack.qbo_customers() == []
    listed = call("GET", f"/admin/merchants/{sync_stack.merchant_id}/failures").json["parked"]
    assert [(item["event_id"], item["reason"], item["redrive_attempt"]) for item in listed] == [
        (message.event_id, "sync_disabled", 2)
    ]


def test_a_dead_lettered_change_is_listed_and_applied_when_redriven(sync_stack: SyncStack):
    # Given a new customer's change that SQS moved to the DLQ (its retries ran out during an outage), and
    # DeadLetterFunction recorded it as the merchant's failure
    customer_id = sync_stack.save_customer(FirstName="Cy", LastName="Lee")
    message = sync_stack.message(customer_id, event_type="customer_created")
    QueueEventSource(sync_stack.env["CHANGES_DLQ_URL"], dead_letter_handler).send(message)
    assert QueueEventSource(sync_stack.env["CHANGES_DLQ_URL"], dead_letter_handler).poll() == NO_FAILURES
    listed = call("GET", f"/admin/merchants/{sync_stack.merchant_id}/failures").json
    assert [item["event_id"] for item in listed["dead_letter"]] == [message.event_id]

    # When the admin redrives it and the sync runs
    redrive(sync_stack, message.event_id)
    assert QueueEventSource(sync_stack.env["CHANGES_QUEUE_URL"], sync_handler).poll() == NO_FAILURES

    # Then it is applied, and no failure is left
    assert sync_stack.link(customer_id).status == "linked"
    listed = call("GET", f"/admin/merchants/{sync_stack.merchant_id}/failures").json
    assert (listed["parked"], listed["dead_letter"]) == ([], [])
