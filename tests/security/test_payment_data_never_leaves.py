"""Payment data never leaves PaySimple, and what a merchant typed into QBO is never copied out of it.

One scenario drives every path a customer value can take, through the real handlers: a signed webhook
(IngestFunction), the queue, SyncFunction (create, link by name with a first write, ambiguous, a DisplayName
held by an inactive customer, a QBO fault quoting the values, a mapping change), a dead-lettered change, and
every admin route that shows customers (lists, detail, type-ahead, dry run as JSON and CSV, link of a
customer the sync never saw, merge, failures, status). Card numbers (spaced, dashed, tabbed, with colons,
double spaces and no-break spaces; Amex 15) and a routing + account pair are planted in every free-text
PaySimple field and, separately, in QBO customers' Notes, DisplayName, CompanyName, email and address.

Then every place the system writes to is searched for them: our DynamoDB tables (all of them, idempotency
included), both queues, Secrets Manager, everything logged or printed, every admin answer, and every request
that reached QBO (query strings and bodies), plus the QBO customers our writes touched.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from customer_sync.domain.webhook_signature import SIGNATURE_HEADER, sign_body
from functions.dead_letters.app import lambda_handler as dead_letter_handler
from functions.ingest.app import lambda_handler as ingest_handler
from tests.support.admin_api import AdminResponse, admin_event, call
from tests.support.lambda_context import LambdaContextStub
from tests.support.planted_data import (
    PAYSIMPLE_PLANTED,
    PS_BANK_PAIR,
    PS_VISA,
    QBO_BANK_PAIR,
    QBO_VISA,
    leaks_by_place,
    planted_in_names,
    planted_paysimple_customer,
    planted_qbo_customer,
)
from tests.support.recording_qbo import RecordingQboEmulator
from tests.support.sqs_events import QueueEventSource, sqs_record
from tests.support.sync_stack import CapturedOutput, SyncStack

NO_FAILURES: dict[str, list[Any]] = {"batchItemFailures": []}
EVERY_FIELD_ON = {
    "MiddleName": True,
    "Company": True,
    "Email": True,
    "Phone": True,
    "AltPhone": True,
    "MobilePhone": True,
    "Fax": True,
    "Website": True,
    "Notes": True,
    "BillingAddress": True,
    "ShippingAddress": True,
}


class Scenario:
    """The scenario's handles, and every text the system produced that the assertions search."""

    def __init__(self, stack: SyncStack, qbo: RecordingQboEmulator) -> None:
        self.stack = stack
        self.qbo_server = qbo
        self.answers: dict[str, str] = {}
        self.queued_bodies: list[str] = []
        self.qbo_customers_we_wrote: set[str] = set()

    @property
    def merchant(self) -> str:
        return self.stack.merchant_id

    def admin(self, label: str, method: str, path: str, **options: Any) -> AdminResponse:
        response = call(method, f"/admin/merchants/{self.merchant}{path}", **options)
        assert response.status < 500, f"{label}: {response.status} {response.text}"
        self.answers[f"admin {label}"] = response.text
        return response

    def save_mapping(self, **enabled: bool) -> None:
        current = self.admin("mapping", "GET", "/mapping").json["fields"]
        rows = [
            {**row, "enabled": enabled.get(row["paysimple_field"], row["enabled"])}
            for row in current
            if row["paysimple_field"] != "CustomerAccount"
        ]
        rows.append(
            {
                "paysimple_field": "CustomerAccount",
                "qbo_field": "Notes",
                "enabled": enabled.get("CustomerAccount", False),
            }
        )
        response = self.admin("save mapping", "PUT", "/mapping", body={"fields": rows})
        assert response.status == 200, response.text

    def post_webhook(self, customer_id: int, event_type: str, data: dict[str, Any]) -> None:
        """PaySimple's signed webhook through IngestFunction; the names and emails in `data` are planted."""
        body = json.dumps(
            {
                "event_type": event_type,
                "event_id": f"evt_{customer_id}_{event_type}",
                "merchant_id": int(self.merchant),
                "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
                "data": {"customer_id": customer_id, **data},
            }
        ).encode()
        signature = sign_body(body, self.stack.merchant.webhook_signing_key)
        event = admin_event(
            "POST", "/webhooks/paysimple", raw_body=body.decode(), headers={SIGNATURE_HEADER: signature}
        )
        response = ingest_handler(event, LambdaContextStub("IngestFunction"))
        assert response["statusCode"] == 202, response
        self.answers[f"ingest {customer_id} {event_type}"] = response["body"]

    def deliver_queued(self) -> None:
        """What the event source mapping does: receive the queued changes, run SyncFunction, delete them."""
        sqs = boto3.client("sqs")
        url = self.stack.env["CHANGES_QUEUE_URL"]
        while True:
            received = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not received:
                return
            for message in received:
                self.queued_bodies.append(message["Body"])
                assert self.stack.deliver(sqs_record(message["Body"])) == NO_FAILURES
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def sync(self, customer_id: int, **options: Any) -> None:
        message = self.stack.message(customer_id, **options)
        self.queued_bodies.append(message.model_dump_json())
        assert self.stack.deliver(message) == NO_FAILURES


def queue_bodies(env: dict[str, str]) -> str:
    """Every message still in the change queue and its DLQ (read and made visible again)."""
    sqs = boto3.client("sqs")
    bodies: list[str] = []
    for url in (env["CHANGES_QUEUE_URL"], env["CHANGES_DLQ_URL"]):
        seen: set[str] = set()
        for _ in range(5):
            for message in sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0
            ).get("Messages", []):
                if message["MessageId"] not in seen:
                    seen.add(message["MessageId"])
                    bodies.append(message["Body"])
    return "\n".join(bodies)


def secrets_text() -> str:
    client = boto3.client("secretsmanager")
    names = [entry["Name"] for entry in client.list_secrets()["SecretList"]]
    return "\n".join(f"{name}: {client.get_secret_value(SecretId=name)['SecretString']}" for name in names)


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture, captured_output: CapturedOutput):
    """Powertools' log lines and printed metrics, and every other logger (boto, urllib3, Powertools' own
    utilities) down to DEBUG."""
    caplog.set_level(logging.DEBUG)

    def text() -> str:
        return captured_output.text() + "\n" + caplog.text

    return text


def test_planted_card_and_bank_numbers_never_leave_through_any_path(
    sync_stack: SyncStack, qbo_emulator: RecordingQboEmulator, every_log
):
    scenario = Scenario(sync_stack, qbo_emulator)
    stack = sync_stack

    # Given every field synced (CustomerAccount later, by a mapping change) ...
    scenario.save_mapping(**EVERY_FIELD_ON)
    # ... QBO customers a merchant typed card and bank numbers into: one that matches by name, two that
    # make a name ambiguous, an inactive one holding a DisplayName, one for an admin link
    bo = stack.seed_qbo_customer(**planted_qbo_customer("Bo", "Chan"))
    cy_1 = stack.seed_qbo_customer(**planted_qbo_customer("Cy", "Dunn", tag="A "))
    stack.seed_qbo_customer(**planted_qbo_customer("Cy", "Dunn", tag="B "))
    stack.seed_qbo_customer(
        **planted_qbo_customer("Diana", "Eve", DisplayName="Di Eve", Active=False, Notes=QBO_BANK_PAIR)
    )
    eli = stack.seed_qbo_customer(**planted_qbo_customer("Eli", "Fox"))
    # ... and PaySimple customers with card and bank numbers in every free-text field
    ann = stack.save_customer(**planted_paysimple_customer("Ann", "Lee", **planted_in_names("Ann", "Lee")))
    bo_ps = stack.save_customer(**planted_paysimple_customer("Bo", "Chan"))
    cy_ps = stack.save_customer(**planted_paysimple_customer("Cy", "Dunn"))
    cy_duplicate = stack.save_customer(**planted_paysimple_customer("Cy", "Dunn", Email="cy2@example.com"))
    di_ps = stack.save_customer(**planted_paysimple_customer("Di", "Eve"))
    parked_ps = stack.save_customer(**planted_paysimple_customer("Gil", "Hart"))
    eli_ps = stack.save_customer(**planted_paysimple_customer("Eli", "Fox"))

    # When PaySimple's webhooks (with names and emails in `data`) arrive and are synced
    scenario.post_webhook(
        ann, "customer_created", {"first_name": PS_VISA.digits, "last_name": PS_BANK_PAIR, "email": "x@y.z"}
    )
    scenario.post_webhook(bo_ps, "customer_created", {"first_name": "Bo", "notes": PS_BANK_PAIR})
    scenario.deliver_queued()
    # ... and other changes reach the sync: ambiguous names, a name held by an inactive customer, a fault
    # whose Detail quotes the values QBO refused
    for customer_id in (cy_ps, cy_duplicate, di_ps):
        scenario.sync(customer_id, event_type="customer_created")
    detail = f"Notes: {PS_BANK_PAIR}; DisplayName {QBO_VISA.digits}; {QBO_BANK_PAIR}"
    fault = {"Fault": {"Error": [{"Message": "Invalid", "Detail": detail, "code": "2050"}], "type": "V"}}
    stack.qbo.inject_fault(realm_id=stack.realm_id, operation="create", status=400, body=json.dumps(fault))
    scenario.sync(parked_ps, event_type="customer_created")
    # ... the mapping changes (CustomerAccount into Notes) and Ann is saved again
    scenario.save_mapping(Notes=False, CustomerAccount=True)
    scenario.sync(ann)
    # ... and one of Ann's changes ran out of retries
    dead = stack.message(ann)
    boto3.client("sqs").send_message(
        QueueUrl=stack.env["CHANGES_DLQ_URL"],
        MessageBody=dead.model_dump_json(),
        MessageGroupId=dead.message_group_id,
        MessageDeduplicationId=dead.deduplication_id,
    )
    # (DeadLetterFunction records it as the merchant's failure: its table entry is searched too)
    dead_letters = QueueEventSource(stack.env["CHANGES_DLQ_URL"], dead_letter_handler)
    assert dead_letters.poll() == {"batchItemFailures": []}
    # ... and an admin works through every screen that shows customers
    for status in ("linked", "unlinked", "merged"):
        scenario.admin(f"list {status}", "GET", "/customers", query={"status": status})
        scenario.admin(f"search {status}", "GET", "/customers", query={"status": status, "q": "ann"})
    for customer_id in (ann, bo_ps, cy_ps, cy_duplicate, di_ps, parked_ps):
        scenario.admin(f"detail {customer_id}", "GET", f"/customers/{customer_id}")
    for typed in ("Bo", "Cy", "Di", "Eli", "Eli F"):
        scenario.admin(f"type-ahead {typed}", "GET", "/qbo/customers", query={"q": typed})
    every_id = [ann, bo_ps, cy_ps, cy_duplicate, di_ps, parked_ps, eli_ps]
    dry_run = {"paysimple_customer_ids": [str(customer_id) for customer_id in every_id]}
    scenario.admin("dry run", "POST", "/dry-run", body=dry_run)
    scenario.admin("dry run csv", "POST", "/dry-run", body=dry_run, query={"format": "csv"})
    scenario.admin("dry run all", "POST", "/dry-run", body={"page_size": 100})
    linked = scenario.admin(
        "link", "POST", "/links", body={"paysimple_customer_id": str(eli_ps), "qbo_customer_id": eli["Id"]}
    )
    assert linked.status == 200, linked.text
    merge = {
        "primary_paysimple_customer_id": str(cy_ps),
        "duplicate_paysimple_customer_ids": [str(cy_duplicate)],
        "qbo_customer_id": cy_1["Id"],
    }
    assert scenario.admin("merge", "POST", "/merges", body=merge).status == 200
    scenario.admin("detail after link", "GET", f"/customers/{eli_ps}")
    scenario.admin("failures", "GET", "/failures")
    scenario.admin("status", "GET", "/status")
    scenario.sync(eli_ps)  # the first save after the admin link writes to the QBO customer

    # Then the scenario went where it was meant to (so the search below is not vacuous)
    assert stack.link(ann).status == "linked"
    assert (stack.link(bo_ps).status, stack.link(bo_ps).qbo_customer_id) == ("linked", bo["Id"])
    assert stack.link(di_ps).reason == "inactive_name_holder"
    assert sorted(str(failure.code) for failure in stack.failures()) == ["2050", "dead_letter"]
    assert '"outcome":"link_by_name"' in scenario.answers["admin dry run"].replace(" ", "")
    assert json.loads(scenario.answers["admin type-ahead Bo"])["items"], "type-ahead found the QBO customer"
    failures = json.loads(scenario.answers["admin failures"])
    assert (len(failures["parked"]), len(failures["dead_letter"])) == (1, 1)
    assert scenario.answers["admin dry run csv"].count("\r\n") == 1 + len(every_id)
    assert stack.link(cy_duplicate).status == "merged"
    assert len(scenario.queued_bodies) == 2 + 6, "two webhooks through IngestFunction, six direct changes"
    tables = json.loads(stack.all_table_items())
    assert tables["IdempotencyTable"], "the sync's outcomes are kept for duplicate deliveries"
    # and no planted number is in anything we store, queue, log, answer or send to QBO
    ours = {
        "DynamoDB tables": stack.all_table_items(),
        "queued changes": "\n".join(scenario.queued_bodies),
        "queue and DLQ": queue_bodies(stack.env),
        "Secrets Manager": secrets_text(),
        "logs and metrics": every_log(),
        **scenario.answers,
        "QBO requests": qbo_emulator.wire_text(),
    }
    assert leaks_by_place(ours) == {}
    # and the QBO customers we created or wrote to hold no PaySimple payment data
    ours_in_qbo = {
        f"QBO customer {customer['Id']}": json.dumps(customer)
        for customer in stack.qbo_customers()
        if customer["Id"] in {stack.link(c).qbo_customer_id for c in (ann, bo_ps, eli_ps)}
    }
    assert len(ours_in_qbo) == 3
    assert leaks_by_place(ours_in_qbo, PAYSIMPLE_PLANTED) == {}
