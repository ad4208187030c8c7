"""events/*.json are what `sam local invoke -e` feeds the functions: they must be what Lambda sends."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel, SqsModel

from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.models.webhook import parse_paysimple_timestamp
from local.cfn import PROJECT_ROOT, load_template

EVENTS_DIR = PROJECT_ROOT / "events"
EVENT_FILES = sorted(EVENTS_DIR.glob("*.json"))
SQS_EVENT_FILES = sorted(EVENTS_DIR.glob("sqs_*.json"))
ADMIN_EVENT_FILES = sorted(EVENTS_DIR.glob("admin_*.json"))
TEMPLATE = load_template()


def load_event(path: Path) -> dict[str, Any]:
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def admin_api_paths() -> set[str]:
    events = TEMPLATE["Resources"]["AdminFunction"]["Properties"]["Events"].values()
    return {
        event["Properties"]["Path"]
        for event in events
        if event["Properties"]["RestApiId"] == {"Ref": "AdminApi"}
    }


def test_the_sample_events_for_sync_and_admin_exist() -> None:
    # Given the events directory
    names = {path.name for path in EVENT_FILES}

    # Then the SQS batch and the admin requests the README points at are there
    assert {
        "sqs_customer_changes_batch.json",
        "admin_get_settings.json",
        "admin_put_mapping.json",
        "admin_get_field_catalog.json",
    } <= names


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda path: path.name)
def test_every_event_file_is_a_json_object(path: Path) -> None:
    # Given an event file
    text = path.read_text(encoding="utf-8")

    # When parsing it
    event = json.loads(text)

    # Then it is the JSON object Lambda passes as `event`
    assert isinstance(event, dict)


@pytest.mark.parametrize("path", SQS_EVENT_FILES, ids=lambda path: path.name)
def test_sqs_event_has_the_shape_lambda_sends(path: Path) -> None:
    # Given an SQS sample event
    event = load_event(path)

    # When Powertools' SQS model parses it
    parsed = SqsModel.model_validate(event)

    # Then it is a batch of several records whose md5OfBody matches their body, as SQS computes it
    assert len(parsed.Records) >= 2
    for raw, record in zip(event["Records"], parsed.Records, strict=True):
        assert record.md5OfBody == hashlib.md5(raw["body"].encode(), usedforsecurity=False).hexdigest()


@pytest.mark.parametrize("path", SQS_EVENT_FILES, ids=lambda path: path.name)
def test_sqs_event_bodies_are_customer_change_messages(path: Path) -> None:
    # Given an SQS sample event
    records = load_event(path)["Records"]

    # When each body is validated as the queue's message contract
    messages = [CustomerChangeMessage.model_validate_json(record["body"]) for record in records]

    # Then every body is valid and the batch covers different customers
    assert len({message.message_group_id for message in messages}) == len(messages)


@pytest.mark.parametrize("path", SQS_EVENT_FILES, ids=lambda path: path.name)
def test_sqs_event_group_and_deduplication_ids_follow_the_message_contract(path: Path) -> None:
    # Given an SQS sample event
    records = load_event(path)["Records"]

    # Then each record's FIFO attributes are the ones ingest sets for its body
    for record in records:
        message = CustomerChangeMessage.model_validate_json(record["body"])
        assert record["attributes"]["MessageGroupId"] == message.message_group_id
        assert record["attributes"]["MessageDeduplicationId"] == message.deduplication_id


def test_sqs_batch_carries_the_changes_of_the_sample_customer_webhooks() -> None:
    # Given the signed customer webhooks IngestFunction accepts (events/webhook_customer_*.json)
    webhook_bodies = []
    for path in sorted(EVENTS_DIR.glob("webhook_customer_*.json")):
        event = load_event(path)
        raw = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
        webhook_bodies.append(json.loads(raw))
    expected = {
        (str(body["merchant_id"]), str(body["data"]["customer_id"]), body["event_type"], body["event_id"]): (
            parse_paysimple_timestamp(body["created_at"])
        )
        for body in webhook_bodies
    }

    # When reading the messages of the SQS sample batch
    batch = load_event(EVENTS_DIR / "sqs_customer_changes_batch.json")["Records"]
    messages = [CustomerChangeMessage.model_validate_json(record["body"]) for record in batch]
    queued = {
        (message.merchant_id, message.customer_id, message.event_type, message.event_id): message.occurred_at
        for message in messages
    }

    # Then the batch is exactly what ingest enqueues for those webhooks, so the samples chain end to end
    assert expected
    assert queued == expected


@pytest.mark.parametrize("path", SQS_EVENT_FILES, ids=lambda path: path.name)
def test_sqs_event_comes_from_the_changes_queue(path: Path) -> None:
    # Given an SQS sample event
    records = load_event(path)["Records"]

    # Then every record is from the FIFO CustomerChangesQueue (the local stack's queue name)
    assert all(record["eventSourceARN"].endswith(":CustomerChangesQueue.fifo") for record in records)


@pytest.mark.parametrize("path", ADMIN_EVENT_FILES, ids=lambda path: path.name)
def test_admin_event_is_a_rest_proxy_event_on_the_admin_api(path: Path) -> None:
    # Given an admin sample event
    event = load_event(path)

    # When Powertools' REST API model parses it
    parsed = APIGatewayProxyEventModel.model_validate(event)

    # Then it is a request to an /admin route declared on AdminApi, signed by an IAM principal
    assert parsed.resource in admin_api_paths()
    assert parsed.path.startswith("/admin/")
    assert parsed.requestContext.identity.userArn


@pytest.mark.parametrize("path", ADMIN_EVENT_FILES, ids=lambda path: path.name)
def test_admin_event_body_is_json_when_present(path: Path) -> None:
    # Given an admin sample event
    event = load_event(path)

    # Then a body, if any, is a JSON object sent with a JSON content type
    if event["body"] is None:
        assert event["httpMethod"] == "GET"
    else:
        assert isinstance(json.loads(event["body"]), dict)
        assert event["headers"]["Content-Type"] == "application/json"
