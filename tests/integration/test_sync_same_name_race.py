"""One decision per name: two new PaySimple customers of the same name whose changes arrive at the same
moment end exactly as they do one after the other. The first is created in QBO and linked; the second
waits on the unlinked list ("already_linked", the first's QBO customer as its candidate). Never a second,
suffixed QBO customer (moto with its DynamoDB backend serialized as DynamoDB's requests are atomic, the QBO
and PaySimple emulators, the real sync handler on two threads)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from local.moto_patches import serialized_dynamodb
from tests.support.lambda_context import LambdaContextStub
from tests.support.sqs_events import sqs_event, sqs_record
from tests.support.sync_stack import SyncStack

NO_FAILURES: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}
ROUNDS = 20
# Deliveries a change gets before the test gives up on it (SQS would go on, with a growing wait).
MAX_DELIVERIES = 30


@pytest.fixture
def atomic_dynamodb() -> Iterator[None]:
    with serialized_dynamodb():
        yield


def deliver_until_done(
    stack: SyncStack, customer_id: int, start: threading.Barrier, errors: list[str]
) -> None:
    """One Lambda container's share: the change is delivered (and again, here at once, as SQS would after
    its wait) until the handler reports it done."""
    handler = stack.another_container()
    message = stack.message(customer_id, event_type="customer_created")
    start.wait()
    try:
        for delivery in range(1, MAX_DELIVERIES + 1):
            event = sqs_event([sqs_record(message, receive_count=delivery)])
            if handler(event, LambdaContextStub()) == NO_FAILURES:
                return
            time.sleep(0.05)
        errors.append(f"customer {customer_id} was never done")
    except Exception as error:  # reported by the test, with the thread's error
        errors.append(f"customer {customer_id}: {error!r}")


def test_a_same_name_pair_sent_concurrently_always_ends_as_one_after_the_other(
    sync_stack: SyncStack, atomic_dynamodb: None
):
    for round_number in range(ROUNDS):
        # Given two new PaySimple customers with the same name, new to QBO
        last_name = f"Racer{round_number}"
        pair = [sync_stack.save_customer(FirstName="Ann", LastName=last_name) for _ in range(2)]

        # When their changes are synced at the same moment, on two threads
        start, errors = threading.Barrier(2), list[str]()
        threads = [
            threading.Thread(target=deliver_until_done, args=(sync_stack, customer_id, start, errors))
            for customer_id in pair
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == [], f"round {round_number}"

        # Then one QBO customer of that name, linked to one of them; the other waits for the admin with it
        created = [c for c in sync_stack.qbo_customers() if c.get("FamilyName") == last_name]
        assert [c["DisplayName"] for c in created] == [f"Ann {last_name}"], f"round {round_number}"
        links = {customer_id: sync_stack.link(customer_id) for customer_id in pair}
        outcomes = sorted((link.status, link.reason) for link in links.values())
        assert outcomes == [("linked", "created"), ("unlinked", "already_linked")], f"round {round_number}"
        waiting = next(link for link in links.values() if link.status == "unlinked")
        assert [c.qbo_customer_id for c in waiting.candidates] == [created[0]["Id"]], f"round {round_number}"
