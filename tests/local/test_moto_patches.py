"""The local stack's moto patches answer as moto does, only cheaper or safer: TransactWriteItems still
all-or-nothing without copying whole tables, the same service list, the same SQS retention rule, and SQS
operations that stay whole when the server runs them concurrently.

They replace moto internals, so the tests also check, for the pinned moto, that each patched place still
exists in the shape the patch expects and that each patch still takes effect there. A moto upgrade that moves
any of them fails here, not as a silently slower (or wrong) local stack.
"""

import contextlib
import copy
import gc
import inspect
import os
import re
import threading
import time
from datetime import datetime
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError

from local.moto_patches import (
    SERIALIZED_DYNAMODB_OPERATIONS,
    SERIALIZED_SQS_OPERATIONS,
    cached_service_module_list,
    cheaper_dynamodb_transactions,
    cheaper_sqs_clock,
    cheaper_sqs_message_state,
    cheaper_sqs_receipt_handle_check,
    cheaper_sqs_retention_check,
    cheaper_sqs_visible_messages,
    serialized_dynamodb,
    serialized_sqs,
    sqs_long_polls_that_wait,
)
from local.moto_process import frozen_after_full_collections

TABLE = "LinksTable"
ACCOUNT, REGION = "123456789012", "us-east-1"


def item(pk, sk, **more):
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{name: {"S": value} for name, value in more.items()}}


def read(pk, sk):
    return boto3.client("dynamodb").get_item(TableName=TABLE, Key=item(pk, sk)).get("Item")


@pytest.fixture
def table(local_stack):
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName=TABLE, Item=item("m#1", "link#1", status="unlinked"))
    return dynamodb


def transaction(fail: bool):
    return [
        {"Put": {"TableName": TABLE, "Item": item("m#1", "link#2", status="linked")}},
        {
            "Update": {
                "TableName": TABLE,
                "Key": item("m#1", "link#1"),
                "UpdateExpression": "SET #s = :s",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":s": {"S": "linked"}},
            }
        },
        {"Delete": {"TableName": TABLE, "Key": item("m#1", "claim#9")}},
        {
            "ConditionCheck": {
                "TableName": TABLE,
                "Key": item("m#1", "claim#7"),
                "ConditionExpression": "attribute_exists(pk)" if fail else "attribute_not_exists(pk)",
            }
        },
    ]


def test_a_failed_transaction_leaves_every_item_as_it_was(table):
    # Given an existing link and a claim that will be deleted by the transaction
    table.put_item(TableName=TABLE, Item=item("m#1", "claim#9", owner="1"))

    # When a transaction whose last condition fails runs
    with cheaper_dynamodb_transactions(), pytest.raises(ClientError) as refused:
        table.transact_write_items(TransactItems=transaction(fail=True))

    # Then it is cancelled and nothing it touched changed
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert read("m#1", "link#1") == item("m#1", "link#1", status="unlinked")
    assert read("m#1", "link#2") is None
    assert read("m#1", "claim#9") == item("m#1", "claim#9", owner="1")


def test_a_transaction_that_succeeds_writes_every_item(table):
    table.put_item(TableName=TABLE, Item=item("m#1", "claim#9", owner="1"))

    with cheaper_dynamodb_transactions():
        table.transact_write_items(TransactItems=transaction(fail=False))

    assert read("m#1", "link#1") == item("m#1", "link#1", status="linked")
    assert read("m#1", "link#2") == item("m#1", "link#2", status="linked")
    assert read("m#1", "claim#9") is None


def test_a_transaction_no_longer_costs_a_copy_of_the_whole_table(table):
    # Given a table of 3,000 items
    with table_batch_writer() as writer:
        for number in range(3000):
            writer.put_item(Item={"pk": "m#2", "sk": f"link#{number}", "status": "linked", "name": "x" * 40})

    def timed():
        began = time.perf_counter()
        table.transact_write_items(TransactItems=transaction(fail=False))
        table.delete_item(TableName=TABLE, Key=item("m#1", "link#2"))
        return time.perf_counter() - began

    # When the same transaction runs with moto's own rollback and with ours
    unpatched = timed()
    with cheaper_dynamodb_transactions():
        patched = timed()

    # Then ours is far cheaper
    assert patched * 5 < unpatched, (patched, unpatched)


def table_batch_writer():
    return boto3.resource("dynamodb").Table(TABLE).batch_writer()


def test_the_service_module_list_is_the_same_only_read_once():
    from moto import backends

    listed = list(backends.list_of_moto_modules())

    with cached_service_module_list():
        assert list(backends.list_of_moto_modules()) == listed
        assert "sqs" in backends.list_of_moto_modules()


def test_sqs_still_delivers_fresh_messages_and_drops_those_past_the_retention_period(local_stack):
    # Given a FIFO queue with a fresh message and one sent longer ago than the queue keeps messages
    from moto.sqs.models import sqs_backends

    sqs = boto3.client("sqs")
    url = local_stack.resolver.refs["CustomerChangesQueue"]
    for name in ("fresh", "expired"):
        sqs.send_message(QueueUrl=url, MessageBody=name, MessageGroupId=name, MessageDeduplicationId=name)
    queue = sqs_backends["123456789012"]["us-east-1"].get_queue("CustomerChangesQueue.fifo")
    [expired] = [message for message in queue._messages if message.body == "expired"]
    expired.sent_timestamp -= (queue.message_retention_period + 60) * 1000  # type: ignore[attr-defined]

    # When the queue is read with the cheaper retention check
    with cheaper_sqs_retention_check():
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])

    # Then only the fresh one comes back
    assert [message["Body"] for message in received] == ["fresh"]


def test_a_failed_transaction_on_a_table_without_a_range_key_restores_its_items(local_stack):
    # Given an idempotency record (IdempotencyTable has a hash key only)
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName="IdempotencyTable", Item={"id": {"S": "a"}, "status": {"S": "done"}})

    # When a transaction that rewrites it and adds another fails on its last condition
    with cheaper_dynamodb_transactions(), pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "IdempotencyTable",
                        "Item": {"id": {"S": "a"}, "status": {"S": "new"}},
                    }
                },
                {"Put": {"TableName": "IdempotencyTable", "Item": {"id": {"S": "b"}}}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": item("m#1", "missing"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )

    # Then both are as before
    read_back = dynamodb.get_item(TableName="IdempotencyTable", Key={"id": {"S": "a"}})["Item"]
    assert read_back == {"id": {"S": "a"}, "status": {"S": "done"}}
    assert "Item" not in dynamodb.get_item(TableName="IdempotencyTable", Key={"id": {"S": "b"}})


def test_the_dynamodb_internals_the_patch_relies_on_are_still_there():
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    # moto backs up each table a transaction names with its module's copy.deepcopy, and rolls back by
    # putting the copies in place: the patch swaps that module for one that "copies" a table as itself
    source = inspect.getsource(models.DynamoDBBackend.transact_write_items)
    assert vars(models)["copy"] is copy
    assert re.search(r"copy\.deepcopy\(\s*self\.tables\[table_name\]", source)
    assert "self.tables[table_name] = original_table_state[table_name]" in source
    # and what the patch's own backup and restore call
    assert _parameters(models.DynamoDBBackend.transact_write_items) == ["self", "transact_items"]
    assert _parameters(models.DynamoDBBackend.get_table) == ["self", "table_name"]
    assert _parameters(models.DynamoDBBackend.get_keys_value) == ["self", "table", "keys"]
    assert _parameters(Table.get_item)[:3] == ["self", "hash_key", "range_key"]
    assert _parameters(Table.delete_item) == ["self", "hash_key", "range_key"]
    table_init = inspect.getsource(Table.__init__)
    for attribute in ("self.items", "self.hash_key_attr", "self.range_key_attr"):
        assert attribute in table_init, attribute


def test_a_failed_transaction_keeps_the_table_itself_only_when_patched(table):
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[ACCOUNT][REGION]

    # Given moto's own rollback: a failed transaction puts a deep copy of the table in its place
    unpatched_before = backend.tables[TABLE]
    with pytest.raises(ClientError):
        table.transact_write_items(TransactItems=transaction(fail=True))
    assert backend.tables[TABLE] is not unpatched_before, "moto no longer copies tables: drop the patch"

    # When the same transaction fails with the patch
    patched_before = backend.tables[TABLE]
    with cheaper_dynamodb_transactions(), pytest.raises(ClientError):
        table.transact_write_items(TransactItems=transaction(fail=True))

    # Then the table was never copied: it is the same object
    assert backend.tables[TABLE] is patched_before


def test_the_server_finds_a_service_without_listing_motos_directory_only_when_patched():
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    dispatcher = DomainDispatcherApplication(create_app=lambda service: None)  # type: ignore[arg-type,return-value]

    # Given moto's own lookup: the package directory is listed for every request
    with mock.patch("moto.backends.os.listdir", wraps=os.listdir) as listdir:
        assert dispatcher.get_backend_for_host("sqs") == "sqs"
    assert listdir.called, "moto no longer lists its directory per request: drop the patch"

    # When looked up with the patch / Then the same answers, and the directory is not listed again
    with cached_service_module_list(), mock.patch("moto.backends.os.listdir", wraps=os.listdir) as listdir:
        assert dispatcher.get_backend_for_host("sqs") == "sqs"
        assert dispatcher.get_backend_for_host("dynamodb") == "dynamodb"
    assert not listdir.called


def test_receiving_computes_the_queue_attributes_only_when_unpatched(local_stack):
    from moto.sqs.models import SQSBackend

    # The patched check has moto's signature, and moto's receive still calls it per message
    assert _parameters(SQSBackend.is_message_valid_based_on_retention_period) == [
        "self",
        "queue_name",
        "message",
    ]
    assert "self.is_message_valid_based_on_retention_period(" in inspect.getsource(SQSBackend.receive_message)

    sqs = boto3.client("sqs")
    url = local_stack.resolver.refs["CustomerChangesQueue"]
    sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", MessageDeduplicationId="m")

    def receive():
        spy = mock.patch.object(
            SQSBackend, "get_queue_attributes", autospec=True, side_effect=SQSBackend.get_queue_attributes
        )
        with spy as get_queue_attributes:
            messages = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages", [])
        assert [message["Body"] for message in messages] == ["m"]
        return get_queue_attributes.call_count

    # Given moto's own check: every queue attribute is computed for each message received
    assert receive() > 0, "moto no longer computes queue attributes on receive: drop the patch"
    # When received with the patch / Then none is
    with cheaper_sqs_retention_check():
        assert receive() == 0


def queue_of_four_messages() -> Any:
    """moto's queue "plain" holding a message in flight, a delayed one and two visible ones."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    for body in ("in flight", "visible", "also visible"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=60)
    return queue_named("plain")


def queue_named(name: str) -> Any:
    """moto's own queue object (in-process mock)."""
    from moto.sqs.models import sqs_backends

    return sqs_backends[ACCOUNT][REGION].get_queue(name)


def test_the_visible_messages_of_a_queue_are_the_same_with_the_clock_read_once(aws):
    from moto.sqs.models import Message, Queue

    # Given a queue holding a message in flight, a delayed one and two visible ones
    queue = queue_of_four_messages()

    def listed() -> list[str]:
        return sorted(message.body for message in queue.messages)

    # When they are listed by moto, and with the patch
    unpatched = listed()
    with cheaper_sqs_visible_messages():
        patched = listed()
    # Then the lists are the same, and moto still decides as the patch does (so the patch may be dropped
    # when moto reads the clock once itself)
    assert patched == unpatched and len(unpatched) == 2
    assert isinstance(Queue.messages, property)
    assert "current_time > self.visible_at" in inspect.getsource(Message.visible.fget)
    assert "current_time < self.delayed_until" in inspect.getsource(Message.delayed.fget)


def test_sqs_reads_the_same_clock_and_lists_the_same_messages_when_patched(aws):
    from moto.core.utils import unix_time as moto_unix_time
    from moto.sqs import models
    from moto.sqs.models import Message

    def sqs_clock(name: str) -> Any:  # what moto.sqs.models calls the clock by (it imports it by name)
        return models.__dict__[name]

    # Given a queue holding a message in flight, a delayed one and two visible ones
    queue = queue_of_four_messages()

    def listed() -> tuple[list[str], int, int]:
        return (
            sorted(message.body for message in queue.messages),
            queue.approximate_number_of_messages_not_visible,
            queue.approximate_number_of_messages_delayed,
        )

    # When moto lists and counts them, and reads the clock, unpatched and patched
    unpatched, moto_now = listed(), moto_unix_time()
    with cheaper_sqs_clock():
        patched, patched_now = listed(), sqs_clock("unix_time")()
        patched_millis = sqs_clock("unix_time_millis")()
        a_given_time = sqs_clock("unix_time")(datetime(2026, 1, 1))
    # Then the messages and counts are the same, the clock says the same, and moto's SQS still reads the
    # clock through the two names the patch replaces
    assert patched == unpatched == (["also visible", "visible"], 1, 1)
    assert abs(patched_now - moto_now) < 1.0 and abs(patched_millis / 1000 - patched_now) < 1.0
    assert a_given_time == moto_unix_time(datetime(2026, 1, 1))
    assert sqs_clock("unix_time") is moto_unix_time
    assert "unix_time_millis()" in inspect.getsource(vars(Message)["visible"].fget)


def test_a_message_is_visible_and_delayed_as_moto_decides_when_patched(aws):
    from moto.sqs.models import Message

    # Given a queue holding a message in flight, a delayed one and two visible ones
    queue = queue_of_four_messages()

    def states() -> list[tuple[str, bool, bool]]:
        return sorted((message.body, message.visible, message.delayed) for message in queue._messages)

    # When each message says whether it is visible and delayed, unpatched and patched
    unpatched = states()
    with cheaper_sqs_message_state():
        patched = states()
        counts = (
            queue.approximate_number_of_messages_not_visible,
            queue.approximate_number_of_messages_delayed,
        )
    # Then the answers and the queue's counts are the same, and moto still decides by these comparisons
    assert (
        patched
        == unpatched
        == [
            ("also visible", True, False),
            ("delayed", True, True),
            ("in flight", False, False),
            ("visible", True, False),
        ]
    )
    assert counts == (1, 1)
    assert "current_time > self.visible_at" in inspect.getsource(vars(Message)["visible"].fget)
    assert "current_time < self.delayed_until" in inspect.getsource(vars(Message)["delayed"].fget)


def _parameters(function):
    return list(inspect.signature(function).parameters)


def test_a_message_is_found_by_any_receipt_handle_it_had_as_moto_finds_it_when_patched(aws):
    from moto.sqs.models import Message

    # Given a message received three times (three receipt handles, the last one current)
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="handles")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    handles = []
    for _ in range(3):
        handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
        handles.append(handle)
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    queue = queue_named("handles")
    (message,) = queue._messages
    asked = [*handles, "never-issued"]
    # When each handle is checked by moto and with the patch
    unpatched = [message.had_receipt_handle(handle) for handle in asked]
    with cheaper_sqs_receipt_handle_check():
        patched = [message.had_receipt_handle(handle) for handle in asked]
    # Then the answers are the same, and moto still answers from the handles the patch reads
    assert patched == unpatched == [True, True, True, False]
    assert "self.all_receipt_handles" in inspect.getsource(Message.had_receipt_handle)
    assert "[self.receipt_handle] + self._old_receipt_handles" in inspect.getsource(Message)


def test_concurrent_receives_hand_backs_and_sends_on_a_fifo_queue_all_succeed(aws):
    # Given a FIFO queue with many messages, and moto's SQS serialized
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="busy.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for number in range(60):
        sqs.send_message(
            QueueUrl=url, MessageBody="x", MessageGroupId=f"g{number}", MessageDeduplicationId=f"d{number}"
        )
    errors: list[Exception] = []

    def consumer() -> None:
        client = boto3.client("sqs")
        try:
            for _ in range(8):
                received = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                for message in received:
                    client.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
        except Exception as error:
            errors.append(error)

    def producer() -> None:
        client = boto3.client("sqs")
        try:
            for number in range(60, 90):
                client.send_message(
                    QueueUrl=url,
                    MessageBody="y",
                    MessageGroupId=f"g{number}",
                    MessageDeduplicationId=f"d{number}",
                )
        except Exception as error:
            errors.append(error)

    # When four consumers hand records back while a producer sends, all at once
    with serialized_sqs():
        threads = [threading.Thread(target=consumer) for _ in range(4)] + [threading.Thread(target=producer)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # Then every operation succeeded
    assert errors == []


def test_the_sqs_internals_the_serializing_patch_relies_on_are_still_there():
    from moto.sqs.models import Queue, SQSBackend

    # Every operation the patch wraps is still a method of moto's SQS backend
    missing = [name for name in SERIALIZED_SQS_OPERATIONS if not callable(getattr(SQSBackend, name, None))]
    assert missing == []
    # and a long poll still waits in Queue.wait_for_messages, which the patch lets go of the lock around
    assert _parameters(Queue.wait_for_messages) == ["self", "timeout"]
    assert ".wait_for_messages(" in inspect.getsource(SQSBackend.receive_message)


def fifo_queue_with_its_one_group_in_flight(sqs: Any) -> tuple[str, list[Any]]:
    """A FIFO queue of 30 messages in one group (as QboChangesQueue holds one company's), the first batch of
    which is received: every visible message belongs to a group in flight."""
    url = sqs.create_queue(
        QueueName="company.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for start in range(0, 30, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(n), "MessageBody": f"m{start + n}", "MessageGroupId": "realm"} for n in range(10)
            ],
        )
    return url, sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]


@pytest.mark.parametrize("patched", [False, True])
def test_a_long_poll_that_may_deliver_nothing_waits_instead_of_rescanning(aws, patched):
    from moto.sqs.models import Queue

    # Given a FIFO queue whose visible messages all belong to a group in flight
    sqs = boto3.client("sqs")
    url, _ = fifo_queue_with_its_one_group_in_flight(sqs)
    waits: list[float] = []
    original_wait = Queue.wait_for_messages

    # When a receive long-polls for a second, with moto's own wait or the patched one (each wait counted)
    with sqs_long_polls_that_wait() if patched else contextlib.nullcontext():
        wait = Queue.wait_for_messages

        def counted_wait(self: Any, timeout: int) -> None:
            waits.append(timeout)
            wait(self, timeout)

        with mock.patch.object(Queue, "wait_for_messages", counted_wait):
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    # Then it returns nothing either way, but only the patched wait looks again a few times a second:
    # moto's returns at once while any message is visible, so the receive loops, rescanning the queue
    assert "Messages" not in answer
    assert Queue.wait_for_messages is original_wait
    if patched:
        assert 5 <= len(waits) <= 1 / 0.05 + 2
    else:  # thousands on this machine; a hundred leaves room for a slow one
        assert len(waits) > 100


def test_a_long_poll_returns_a_message_sent_while_it_waits(aws):
    # Given a receive long-polling an empty queue, with the patched wait
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    answers: list[Any] = []
    with sqs_long_polls_that_wait():
        receiver = threading.Thread(
            target=lambda: answers.append(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5))
        )
        receiver.start()
        time.sleep(0.3)
        # When a message is sent meanwhile
        boto3.client("sqs").send_message(QueueUrl=url, MessageBody="hello")
        receiver.join()
    # Then the waiting receive returns it
    assert [message["Body"] for message in answers[0]["Messages"]] == ["hello"]


def test_the_sqs_internals_the_waiting_patch_relies_on_are_still_there():
    from moto.sqs.models import Queue, SQSBackend

    # A long poll waits on the queue's condition, which sends notify; the wakers find queues by name
    assert "self._messages_lock.wait_for(" in inspect.getsource(Queue.wait_for_messages)
    assert "self._messages_lock.notify_all()" in inspect.getsource(Queue.add_message)
    assert "self.queues" in inspect.getsource(SQSBackend.get_queue)
    assert _parameters(SQSBackend.delete_message)[:2] == ["self", "queue_name"]
    assert _parameters(SQSBackend.change_message_visibility)[:2] == ["self", "queue_name"]
    for batch in (SQSBackend.delete_message_batch, SQSBackend.change_message_visibility_batch):
        source = inspect.getsource(batch)
        assert "self.delete_message(" in source or "self.change_message_visibility(" in source


def test_concurrent_conditional_writes_of_one_item_let_exactly_one_win(aws):
    # Given a table, and moto's DynamoDB serialized
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="claims",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    clients = [boto3.client("dynamodb") for _ in range(6)]
    winners: list[list[int]] = []
    errors: list[Exception] = []

    def claim(
        client: Any, round_number: int, contender: int, start: threading.Barrier, won: list[int]
    ) -> None:
        start.wait()
        try:
            client.put_item(
                TableName="claims",
                Item={"pk": {"S": f"name-{round_number}"}, "owner": {"N": str(contender)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            won.append(contender)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                errors.append(error)

    # When six threads claim the same new item at once, twenty times over
    with serialized_dynamodb():
        for round_number in range(20):
            start, won = threading.Barrier(len(clients)), list[int]()
            threads = [
                threading.Thread(target=claim, args=(client, round_number, n, start, won))
                for n, client in enumerate(clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            winners.append(won)

    # Then each time exactly one of them got it, and the others were refused by the condition
    assert errors == []
    assert [len(won) for won in winners] == [1] * 20


def test_the_dynamodb_operations_the_serializing_patch_wraps_are_still_there():
    from moto.dynamodb.models import DynamoDBBackend

    missing = [
        name for name in SERIALIZED_DYNAMODB_OPERATIONS if not callable(getattr(DynamoDBBackend, name, None))
    ]
    assert missing == []
    # and moto's responses still reach the backend through them (a request moto served some other way
    # would not be serialized)
    from moto.dynamodb import responses

    reached = set(re.findall(r"dynamodb_backend\.(\w+)\(", inspect.getsource(responses)))
    assert set(SERIALIZED_DYNAMODB_OPERATIONS) <= reached


def test_the_moto_server_freezes_what_survives_a_full_collection_out_of_the_next_ones():
    # Given the moto server's garbage collection policy, and long-lived objects (a table's items)
    items = [{"pk": {"S": f"CUSTOMER#{n}"}} for n in range(50_000)]
    gc.unfreeze()
    try:
        with frozen_after_full_collections():
            # When a full collection runs
            gc.collect()
            # Then what survived it is frozen: the next full collection does not walk it again
            assert gc.get_freeze_count() >= len(items)
        # And once the policy is off, a full collection freezes nothing
        gc.unfreeze()
        gc.collect()
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
