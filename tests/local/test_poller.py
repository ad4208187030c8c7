"""The SQS event source mapping against moto: SQS events as Lambda builds them, partial batch failures, the
visibility a function gives a record it hands back, the queue's own visibility timeout for a batch in
progress, a quick retry after a failed invocation, and the move to the DLQ after maxReceiveCount."""

import json
import time

import boto3
import pytest

from local.bootstrap import create_local_resources
from local.invoker import InvocationResult
from local.poller import EventSourceMapping, SqsPoller, event_source_mappings, failed_message_ids

IDS = ["m1", "m2", "m3"]


def result(payload=None, error=None):
    return InvocationResult("request", payload, error, 1.0, 64)


@pytest.mark.parametrize(
    ("invocation", "report_item_failures", "stay"),
    [
        (result(None), True, set()),
        (result({}), True, set()),
        (result({"batchItemFailures": []}), True, set()),
        (result({"batchItemFailures": [{"itemIdentifier": "m2"}]}), True, {"m2"}),
        (result({"batchItemFailures": [{"itemIdentifier": "m2"}]}), False, set()),
        (result({"batchItemFailures": [{"itemIdentifier": "unknown"}]}), True, set(IDS)),
        (result({"batchItemFailures": [{"itemIdentifier": ""}]}), True, set(IDS)),
        (result({"batchItemFailures": [{}]}), True, set(IDS)),
        (result({"batchItemFailures": "m2"}), True, set(IDS)),
        (result(error={"errorType": "Sandbox.Timedout"}), True, set(IDS)),
        (result(error={"errorType": "ValueError"}), False, set(IDS)),
    ],
)
def test_which_messages_stay_in_the_queue_follows_lambdas_rules(invocation, report_item_failures, stay):
    assert failed_message_ids(invocation, IDS, report_item_failures) == stay


@pytest.fixture
def stack(aws):
    """Every queue of template.yaml in moto, the redrive after 2 receives instead of 5 (quicker to watch)."""
    return create_local_resources(parameters={"MaxReceiveCount": "2"})


@pytest.fixture
def mapping(stack):
    queues = ("CustomerChangesQueue", "CustomerChangesDLQ", "QboChangesQueue", "QboChangesDLQ")
    queue_urls = {name: stack.resolver.refs[name] for name in queues}
    mappings = event_source_mappings(stack.template, stack.resolver.resolve, queue_urls)
    # (`make run` polls each of them as Lambda would: the DLQ's consumer too)
    assert {m.function_logical_id for m in mappings} == {
        "SyncFunction",
        "QboChangesFunction",
        "DeadLetterFunction",
    }
    [sync_mapping] = [m for m in mappings if m.function_logical_id == "SyncFunction"]
    return sync_mapping


def send(queue_url, customer_id, event_id):
    body = json.dumps({"customer_id": customer_id, "event_id": event_id})
    boto3.client("sqs").send_message(
        QueueUrl=queue_url,
        MessageBody=body,
        MessageGroupId=f"1225:{customer_id}",
        MessageDeduplicationId=event_id,
    )


def depth(queue_url):
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def make_poller(mapping, invoke, failed_invocation_retry_seconds=1):
    return SqsPoller(
        mapping,
        invoke,
        sqs=boto3.client("sqs"),
        failed_invocation_retry_seconds=failed_invocation_retry_seconds,
        wait_seconds=0,
    )


def test_the_sync_functions_event_source_comes_from_the_template(mapping, stack):
    assert mapping.function_logical_id == "SyncFunction"
    assert mapping.queue_url == stack.resolver.refs["CustomerChangesQueue"]
    assert mapping.queue_arn.endswith(":CustomerChangesQueue.fifo")
    assert mapping.batch_size == 10
    assert mapping.max_concurrency == 10  # SyncMaxConcurrency's default
    assert mapping.report_batch_item_failures is True


def test_a_batch_arrives_as_lambdas_sqs_event_and_only_reported_failures_stay(mapping):
    # Given three changes of different customers
    for number in (1, 2, 3):
        send(mapping.queue_url, number, f"evt_{number}")
    events = []

    def invoke(event):
        events.append(event)
        failed = next(record for record in event["Records"] if '"customer_id": 2' in record["body"])
        return result({"batchItemFailures": [{"itemIdentifier": failed["messageId"]}]})

    # When the poller delivers a batch and the function reports customer 2 as failed
    received = make_poller(mapping, invoke).poll_once()

    # Then the function got one SQS event with all three, and only customer 2's change is left
    assert received == 3
    [event] = events
    record = event["Records"][0]
    assert set(record) >= {"messageId", "receiptHandle", "body", "attributes", "md5OfBody", "eventSourceARN"}
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == mapping.queue_arn
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["MessageGroupId"] == "1225:1"
    assert record["attributes"]["MessageDeduplicationId"] == "evt_1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert depth(mapping.queue_url) == 1


def test_a_change_whose_invocation_keeps_failing_is_retried_then_moved_to_the_dlq(mapping, stack):
    # Given a change the function always crashes on
    send(mapping.queue_url, 7, "evt_poison")
    receive_counts: list[str] = []

    def invoke(event):
        receive_counts.extend(record["attributes"]["ApproximateReceiveCount"] for record in event["Records"])
        return result(error={"errorType": "RuntimeError", "errorMessage": "QBO is down"})

    poller = make_poller(mapping, invoke, failed_invocation_retry_seconds=1)

    # When the poller keeps polling past the local retry delay, twice (maxReceiveCount 2)
    for _ in range(3):
        poller.poll_once()
        time.sleep(1.1)
    poller.poll_once()

    # Then it was delivered twice, and then moved to the DLQ
    assert receive_counts == ["1", "2"]
    assert depth(mapping.queue_url) == 0
    assert depth(stack.resolver.refs["CustomerChangesDLQ"]) == 1
    assert poller.stats.left_for_retry == 2
    assert poller.stats.deleted == 0


def test_a_record_the_function_hands_back_comes_back_when_the_function_said(mapping):
    # Given a change, and a function that hands it back with a 2 s wait of its own (ChangeMessageVisibility)
    send(mapping.queue_url, 8, "evt_throttled")
    sqs = boto3.client("sqs")
    deliveries: list[float] = []

    def invoke(event):
        deliveries.append(time.monotonic())
        [record] = event["Records"]
        if len(deliveries) == 1:
            sqs.change_message_visibility(
                QueueUrl=mapping.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=2
            )
            return result({"batchItemFailures": [{"itemIdentifier": record["messageId"]}]})
        return result({"batchItemFailures": []})

    poller = make_poller(mapping, invoke, failed_invocation_retry_seconds=60)

    # When the poller keeps polling
    poller.poll_once()
    while poller.poll_once() == 0:
        time.sleep(0.1)

    # Then the record came back after the function's 2 s (not the queue's 540 s), and was then done
    assert 1.8 <= deliveries[1] - deliveries[0] < 5
    assert depth(mapping.queue_url) == 0


def test_a_batch_stays_invisible_while_the_function_runs_as_the_queues_visibility_timeout_says(mapping):
    # Given a change, and a function that takes 1.5 s
    send(mapping.queue_url, 8, "evt_slow")
    seen_meanwhile = []

    def invoke(event):
        time.sleep(1.5)
        seen_meanwhile.extend(
            boto3.client("sqs").receive_message(QueueUrl=mapping.queue_url).get("Messages", [])
        )
        return result({})

    # When the poller delivers it
    make_poller(mapping, invoke, failed_invocation_retry_seconds=1).poll_once()

    # Then nobody else received it meanwhile (the queue's 540 s hold it), and it was deleted once done
    assert seen_meanwhile == []
    assert depth(mapping.queue_url) == 0


def test_start_and_stop_run_the_configured_number_of_pollers(mapping):
    poller = make_poller(
        EventSourceMapping(**{**mapping.__dict__, "max_concurrency": 3}), lambda event: result({})
    )

    poller.start()
    running = len(poller._threads)
    poller.stop()

    assert running == 3
    assert poller._threads == []
    assert poller.idle()
