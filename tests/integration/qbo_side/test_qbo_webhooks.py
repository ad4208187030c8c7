"""QBO's webhooks end to end: the QBO emulator delivers signed CloudEvents to POST /webhooks/qbo (local API
Gateway, QboWebhookFunction), QboChangesQueue is drained into QboChangesFunction, and the sync, moto and
the emulators do the rest over HTTP. What people do in QBO reaches the links: merges, inactivations and
edits; our own writes echoed back change nothing and cost no read."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import requests

from customer_sync.adapters.dynamodb_links import DynamoDbLinksRepository
from customer_sync.adapters.dynamodb_realms import DynamoDbNameVariants
from customer_sync.domain.qbo_webhook import sign_qbo_body
from customer_sync.models.qbo_events import QboChangeMessage
from customer_sync.models.settings import SettingsChanges
from functions.sync.app import lambda_handler as sync_handler
from tests.support.admin_api import call
from tests.support.onboarding import onboard_merchant
from tests.support.qbo_side import QboSide
from tests.support.sqs_events import QueueEventSource

ANN = {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@example.com", "Phone": "3035550101"}
NO_FAILURES: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}


def linked_ann(side: QboSide) -> tuple[int, str]:
    """Ann synced into a new QBO customer, that write's own event delivered and applied."""
    side.subscribe()
    customer_id = side.stack.save_customer(**ANN)
    assert side.stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    qbo_id = str(side.stack.link(customer_id).qbo_customer_id)
    side.deliver_and_apply()
    side.stack.clear_qbo_calls()
    return customer_id, qbo_id


def qbo_reads(side: QboSide) -> int:
    return sum(call["operation"] == "read" for call in side.stack.qbo_calls())


def post(side: QboSide, events: list[dict[str, Any]], *, token: str | None = None) -> requests.Response:
    body = json.dumps(events).encode()
    signature = sign_qbo_body(body, token or side.verifier_token)
    headers = {"Content-Type": "application/json", "intuit-signature": signature}
    return requests.post(side.webhook_url, data=body, headers=headers, timeout=10)


def customer_event(realm_id: str, qbo_id: str, kind: str = "updated", **data: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "intuit.test",
        "type": f"qbo.customer.{kind}.v1",
        "datacontenttype": "application/json",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "intuitentityid": qbo_id,
        "intuitaccountid": realm_id,
        "data": data,
    }


def queued(side: QboSide) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=side.stack.env["QBO_CHANGES_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


# -- the endpoint ------------------------------------------------------------------------------------------


def test_a_delivery_signed_with_the_verifier_token_is_accepted_and_queued(qbo_side: QboSide) -> None:
    # Given a customer a person changed in QBO
    customer = qbo_side.stack.seed_qbo_customer(DisplayName="Bob Ray", GivenName="Bob", FamilyName="Ray")
    # When Intuit delivers the event, signed with the app's verifier token
    response = post(qbo_side, [customer_event(qbo_side.realm_id, customer["Id"])])
    # Then it is answered 200 and its event is queued
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "accepted", "accepted": 1, "ignored": 0}
    assert queued(qbo_side) == 1


def test_a_bad_signature_gets_401_and_queues_nothing(qbo_side: QboSide) -> None:
    # Given an event signed with another key, one without a signature, and one with a signature of garbage
    events = [customer_event(qbo_side.realm_id, "1")]
    wrong_key = post(qbo_side, events, token="not-the-verifier-token")
    unsigned = requests.post(qbo_side.webhook_url, json=events, timeout=10)
    garbage = requests.post(
        qbo_side.webhook_url, json=events, headers={"intuit-signature": "%%%"}, timeout=10
    )
    # Then each is 401, with the same message, and nothing was queued
    assert [r.status_code for r in (wrong_key, unsigned, garbage)] == [401, 401, 401]
    assert len({r.json()["message"] for r in (wrong_key, unsigned, garbage)}) == 1
    assert queued(qbo_side) == 0


def test_a_signed_body_that_is_not_cloudevents_is_refused_naming_the_element(qbo_side: QboSide) -> None:
    bad = post(qbo_side, [customer_event(qbo_side.realm_id, "1"), {"id": "x"}])
    assert bad.status_code == 422
    assert bad.json()["message"].startswith("[1] ")
    assert post(qbo_side, {"not": "an array"}).status_code == 422  # type: ignore[arg-type]
    assert queued(qbo_side) == 0


def test_events_of_other_entities_are_acknowledged_and_ignored(qbo_side: QboSide) -> None:
    vendor = {**customer_event(qbo_side.realm_id, "3"), "type": "qbo.vendor.updated.v1"}
    response = post(qbo_side, [vendor])
    assert response.json() == {"status": "accepted", "accepted": 0, "ignored": 1}
    assert queued(qbo_side) == 0


# -- our own writes ----------------------------------------------------------------------------------------


def test_our_own_writes_echoed_back_are_ignored_without_a_read(qbo_side: QboSide) -> None:
    # Given Ann created in QBO by the sync, and updated by it once more
    customer_id, qbo_id = linked_ann(qbo_side)
    qbo_side.stack.paysimple.save_customer(
        qbo_side.stack.merchant_id, {**ANN, "Id": customer_id, "Phone": "3035550199"}, send_webhook=False
    )
    qbo_side.stack.sync(customer_id)
    qbo_side.stack.clear_qbo_calls()
    # When QBO's events for those writes are delivered and applied
    assert [e["intuitentityid"] for e in qbo_side.pending_events()] == [qbo_id]
    qbo_side.deliver_and_apply()
    # Then nothing changes: no read, no drift, no history entry
    assert qbo_reads(qbo_side) == 0
    link = qbo_side.stack.link(customer_id)
    assert (link.drift, link.qbo_flag) == ([], None)
    assert not [action for action in qbo_side.stack.actions(customer_id) if action.startswith("qbo_")]


# -- what people do in QBO ---------------------------------------------------------------------------------


def test_a_bookkeepers_edit_shows_as_drift_then_the_next_paysimple_save_overwrites_it(
    qbo_side: QboSide,
) -> None:
    # Given Ann, linked
    customer_id, qbo_id = linked_ann(qbo_side)
    # When a bookkeeper edits her phone and first name in QBO, and the event is delivered
    qbo_side.person_edits(qbo_id, PrimaryPhone={"FreeFormNumber": "7205550199"}, GivenName="Annie")
    qbo_side.deliver_and_apply()
    # Then the drift is recorded (field, what we wrote, what QBO has), with one metered read
    assert qbo_reads(qbo_side) == 1
    link = qbo_side.stack.link(customer_id)
    drift = {entry.field: (entry.ours, entry.theirs) for entry in link.drift}
    assert drift == {
        "GivenName": ("Ann", "Annie"),
        "PrimaryPhone": ({"FreeFormNumber": "3035550101"}, {"FreeFormNumber": "7205550199"}),
    }
    edited = qbo_side.stack.history(customer_id)[0]
    assert (edited.action, edited.qbo_calls) == ("qbo_edited", 1)
    assert edited.changes["GivenName"].model_dump() == {"before": "Ann", "after": "Annie"}
    # And it shows on the customer (Customer Matching)
    shown = call("GET", f"/admin/merchants/{qbo_side.stack.merchant_id}/customers/{customer_id}").json
    assert shown["customer"]["drifted_fields"] == ["GivenName", "PrimaryPhone"]
    first = shown["drift"][0]
    assert (first["field"], first["ours"], first["theirs"]) == ("GivenName", "Ann", "Annie")
    # When Ann is saved in PaySimple again (only her email changed there)
    qbo_side.stack.clear_qbo_calls()
    qbo_side.stack.paysimple.save_customer(
        qbo_side.stack.merchant_id,
        {**ANN, "Id": customer_id, "Email": "ann@new.example.com"},
        send_webhook=False,
    )
    assert qbo_side.stack.sync(customer_id) == NO_FAILURES
    # Then PaySimple's values win, in one update, and the history says a QBO edit was overwritten
    assert qbo_side.stack.qbo_operations() == ["update"]
    in_qbo = qbo_side.stack.qbo_customer(qbo_id)
    assert (in_qbo["GivenName"], in_qbo["PrimaryPhone"]) == ("Ann", {"FreeFormNumber": "3035550101"})
    assert in_qbo["PrimaryEmailAddr"] == {"Address": "ann@new.example.com"}
    updated = qbo_side.stack.history(customer_id)[0]
    assert updated.action == "updated"
    assert updated.detail == "overwrote_qbo_edit: GivenName, PrimaryPhone"
    assert updated.changes["GivenName"].model_dump() == {"before": "Annie", "after": "Ann"}
    assert qbo_side.stack.link(customer_id).drift == []


def test_a_merge_in_qbo_moves_the_link_to_the_survivor(qbo_side: QboSide) -> None:
    # Given Ann linked to a QBO customer, and her namesake typed into QBO by hand
    customer_id, qbo_id = linked_ann(qbo_side)
    survivor = qbo_side.stack.seed_qbo_customer(DisplayName="Ann M. Lee", GivenName="Ann", FamilyName="Lee")
    qbo_side.deliver_and_apply()  # a customer nobody links: one read, for the company's name variants
    qbo_side.stack.clear_qbo_calls()
    # When a person merges Ann's QBO customer into the other one
    qbo_side.person_merges(qbo_id, survivor["Id"])
    qbo_side.deliver_and_apply()
    # Then the link moved to the survivor (reason qbo_merge), with a history entry, without a read
    link = qbo_side.stack.link(customer_id)
    assert (link.status, link.qbo_customer_id, link.reason) == ("linked", survivor["Id"], "qbo_merge")
    entry = qbo_side.stack.history(customer_id)[0]
    assert (entry.action, entry.qbo_customer_id) == ("qbo_merged", survivor["Id"])
    assert qbo_reads(qbo_side) == 0
    # And the next save writes to the survivor (read first, as for any QBO customer we never wrote)
    qbo_side.stack.clear_qbo_calls()
    qbo_side.stack.paysimple.save_customer(
        qbo_side.stack.merchant_id, {**ANN, "Id": customer_id, "Phone": "3035550155"}, send_webhook=False
    )
    assert qbo_side.stack.sync(customer_id) == NO_FAILURES
    assert qbo_side.stack.qbo_operations() == ["read", "update"]
    assert qbo_side.stack.qbo_customer(survivor["Id"])["PrimaryPhone"] == {"FreeFormNumber": "3035550155"}


def test_an_inactivation_flags_the_link_holds_saves_and_reactivation_applies_them(qbo_side: QboSide) -> None:
    # Given Ann, linked
    customer_id, qbo_id = linked_ann(qbo_side)
    # When a person makes her QBO customer inactive (QBO announces it as "deleted")
    qbo_side.person_edits(qbo_id, Active=False)
    [event] = qbo_side.pending_events()
    assert event["type"] == "qbo.customer.deleted.v1"
    qbo_side.deliver_and_apply()
    # Then the link is flagged, shown, and the history says so
    assert qbo_side.stack.link(customer_id).qbo_flag == "inactive"
    shown = call("GET", f"/admin/merchants/{qbo_side.stack.merchant_id}/customers/{customer_id}").json
    assert shown["customer"]["qbo_flag"] == "inactive"
    assert qbo_side.stack.history(customer_id)[0].action == "qbo_inactive"
    # When Ann is saved in PaySimple, Then nothing is written: the change is parked, not lost
    qbo_side.stack.clear_qbo_calls()
    qbo_side.stack.paysimple.save_customer(
        qbo_side.stack.merchant_id, {**ANN, "Id": customer_id, "Phone": "3035550177"}, send_webhook=False
    )
    assert qbo_side.stack.sync(customer_id) == NO_FAILURES
    assert qbo_side.stack.qbo_operations() == []
    assert qbo_side.stack.qbo_customer(qbo_id)["Active"] is False
    [held] = qbo_side.stack.failures()
    assert held.reason == "qbo_customer_inactive"
    # When the person makes it active again, Then the held change is queued again and applied
    qbo_side.person_edits(qbo_id, Active=True)
    qbo_side.deliver_and_apply()
    assert qbo_side.stack.link(customer_id).qbo_flag is None
    assert [failure.message.redrive_attempt for failure in qbo_side.stack.failures()] == [1]
    QueueEventSource(qbo_side.stack.env["CHANGES_QUEUE_URL"], sync_handler).poll()
    assert qbo_side.stack.qbo_customer(qbo_id)["PrimaryPhone"] == {"FreeFormNumber": "3035550177"}
    assert qbo_side.stack.failures() == []


def test_the_merchant_may_choose_that_a_save_reactivates_it(qbo_side: QboSide) -> None:
    # Given a merchant whose saves reactivate, and Ann made inactive in QBO
    qbo_side.stack.update_settings(SettingsChanges(on_qbo_inactive="reactivate"))
    customer_id, qbo_id = linked_ann(qbo_side)
    qbo_side.person_edits(qbo_id, Active=False)
    qbo_side.deliver_and_apply()
    # When Ann is saved in PaySimple
    qbo_side.stack.paysimple.save_customer(
        qbo_side.stack.merchant_id, {**ANN, "Id": customer_id, "Phone": "3035550177"}, send_webhook=False
    )
    assert qbo_side.stack.sync(customer_id) == NO_FAILURES
    # Then the QBO customer is active again, and the history says so
    assert qbo_side.stack.qbo_customer(qbo_id)["Active"] is True
    entry = qbo_side.stack.history(customer_id)[0]
    assert entry.detail == "reactivated_in_qbo"
    assert entry.changes["Active"].model_dump() == {"before": False, "after": True}
    assert qbo_side.stack.link(customer_id).qbo_flag is None


# -- delivery --------------------------------------------------------------------------------------------


def test_a_duplicate_event_is_applied_once(qbo_side: QboSide) -> None:
    # Given a bookkeeper's edit, delivered by Intuit twice within minutes
    customer_id, qbo_id = linked_ann(qbo_side)
    qbo_side.person_edits(qbo_id, PrimaryPhone={"FreeFormNumber": "7205550199"})
    event = qbo_side.pending_events()[0]
    assert post(qbo_side, [event]).status_code == 200
    assert post(qbo_side, [event, event]).status_code == 200
    # Then one message was queued (SQS dropped the repeats)
    assert queued(qbo_side) == 1
    qbo_side.apply_changes()
    # When it is delivered again much later (past SQS's window: queued again), Then it changes nothing
    late = QboChangeMessage(
        realm_id=qbo_side.realm_id,
        qbo_customer_id=qbo_id,
        change="updated",
        event_id=event["id"],
        occurred_at=datetime.fromisoformat(event["time"]),
    )
    boto3.client("sqs").send_message(
        QueueUrl=qbo_side.stack.env["QBO_CHANGES_QUEUE_URL"],
        MessageBody=late.model_dump_json(),
        MessageGroupId=late.message_group_id,
        MessageDeduplicationId="late-redelivery",
    )
    qbo_side.apply_changes()
    assert qbo_reads(qbo_side) == 1
    assert [a for a in qbo_side.stack.actions(customer_id) if a.startswith("qbo_")] == ["qbo_edited"]


def test_several_companies_in_one_post(qbo_side: QboSide) -> None:
    # Given a second merchant with its own QBO company, and Ann linked in each
    stack = qbo_side.stack
    other = onboard_merchant(stack.env, f"{stack.merchant_id}9", qbo=stack.qbo, paysimple=stack.paysimple)
    customer_id, qbo_id = linked_ann(qbo_side)
    theirs = stack.paysimple.save_customer(other.merchant_id, ANN, send_webhook=False)["customer"]["Id"]
    stack.deliver(stack.message(theirs).model_copy(update={"merchant_id": other.merchant_id}))
    qbo_side.deliver_and_apply()
    their_qbo_id = next(c["Id"] for c in stack.qbo.customers(other.realm_id))
    # When people edit Ann in both companies, and QBO delivers both edits in one POST
    qbo_side.person_edits(qbo_id, GivenName="Annie")
    stack.qbo.edit_customer(other.realm_id, their_qbo_id, GivenName="Anna")
    delivery = qbo_side.deliver()
    assert delivery is not None and sorted(delivery["realm_ids"]) == sorted([stack.realm_id, other.realm_id])
    qbo_side.apply_changes()
    # Then each merchant's link has its own company's edit
    assert [e.theirs for e in stack.link(customer_id).drift] == ["Annie"]
    their_link = DynamoDbLinksRepository(stack.env["LINKS_TABLE_NAME"]).get(other.merchant_id, str(theirs))
    assert their_link is not None
    assert [e.theirs for e in their_link.drift] == ["Anna"]


def test_a_customer_a_person_types_into_qbo_is_read_once_and_kept_as_a_name_variant(
    qbo_side: QboSide,
) -> None:
    # Given the company's name variants built (by the first daily sweep), and the webhook registered
    stack = qbo_side.stack
    qbo_side.subscribe()
    qbo_side.run_cdc_sweep()
    # When a person types "Sean O\u2019Brien" (curly) into QBO, and "Bob Ray" as the book says
    typed = stack.seed_qbo_customer(
        DisplayName="Sean O\u2019Brien", GivenName="Sean", FamilyName="O\u2019Brien"
    )
    stack.seed_qbo_customer(DisplayName="Bob Ray", GivenName="Bob", FamilyName="Ray")
    stack.clear_qbo_calls()
    qbo_side.deliver_and_apply()
    # Then each event cost one read (nobody links them), and the curly one is kept
    assert qbo_reads(qbo_side) == 2
    variants = DynamoDbNameVariants(stack.env["SETTINGS_TABLE_NAME"]).load(
        qbo_side.stack.merchant_id, qbo_side.realm_id
    )
    assert variants is not None and [customer["Id"] for customer in variants.customers] == [typed["Id"]]
