"""Takes the local stack's moto server off moto's slowest paths, without changing what it answers.

1. DynamoDB TransactWriteItems costs what the transaction touches, not the whole table. moto 5 backs up
   every table a transaction names with `copy.deepcopy(table)` (once per item!) so it can roll back on
   failure. The links and history tables grow with every synced change, so each transaction gets slower
   and a benchmark of a few thousand changes turns quadratic. Here the backup holds only the items the
   transaction touches, and a failed transaction puts exactly those back. All-or-nothing stays as in
   DynamoDB (the unpatched rollback also wiped writes other requests made meanwhile; this one does not).
2. The server finds each request's service without listing moto's package directory on disk every time
   (a quarter of its CPU under load).
3. SQS's check of a received message against the retention period reads that one setting instead of
   computing every queue attribute, three of which scan all messages (once per message received).
4. SQS requests are served one at a time. moto's SQS is not thread-safe and its server is: under the
   sync's benchmark load (pollers receiving, handing records back and deleting while IngestFunction
   sends) a receive iterating the in-flight set while another request changes it fails with "Set changed
   size during iteration", or worse. A lock around every SQS backend operation makes them atomic as in SQS;
   a long poll waiting for messages lets go of it meanwhile.
5. DynamoDB requests are served one at a time. moto checks a write's condition and then writes, with
   nothing in between holding other requests back: two conditional writes of the same item from two
   threads (two sync pollers claiming the same new customer's name) could both pass their condition. A
   lock around every DynamoDB backend operation makes each request atomic, as each is in DynamoDB.
6. SQS's list of a queue's visible messages reads the clock once per list, not twice per message: with a
   backlog of a few thousand messages, moto asking for the time for each message's `visible` and `delayed`
   on every receive (and three times per attributes request) was half of the server's CPU, which set the
   pace of the sync's benchmark. Which messages are listed is unchanged.
7. moto's SQS reads the clock as `time.time()`, not through datetime arithmetic (`utcnow()` minus
   `utcfromtimestamp(0)`, with an import on every call). Beyond the list above, it reads it for each
   message a receive's own loop looks at, each message counted by a send's check of the queue's
   attributes, and each visibility change. With a backlog of a couple of thousand messages, most of them
   handed back to wait their turn, that was most of the server's CPU. The number is the same: seconds
   since the epoch.
8. A message's own `visible` and `delayed` read `time.time()` in one call, not through moto's two clock
   functions. A receive asks each visible message again whether it is visible, and every send counts the
   queue's hidden and delayed messages (twice); with a backlog of a couple of thousand messages this was a
   fifth of the server's CPU while the sync drained it. Each answer is the same comparison with the same
   clock.

9. A long poll that finds nothing it may deliver waits for the queue to change, not in a busy loop. moto's
   wait ends at once whenever the queue holds any visible message, even one it may not deliver: on a FIFO
   queue whose visible messages all belong to a group in flight (QboChangesQueue holds one group per QBO
   company), each waiting receive rescanned the queue thousands of times a second until its wait ran
   out, and held the SQS lock for every scan. Two such receives kept a core busy. Here the wait ends when
   a message is sent, deleted or given a new visibility (the changes that can make one deliverable), or
   after LONG_POLL_TICK_SECONDS, when the receive looks again (a visibility that simply runs out is
   noticed that way). What a receive returns is unchanged.
10. Finding a message by receipt handle (each deletion and each visibility change scans the queue's
   messages with it) no longer builds a list of every handle the message ever had, per message scanned:
   the handle is compared with the current one, then looked up among the old ones. Same answer.

Only the local stack's moto server (local/moto_process.py) and the benchmark use them: `local_moto_patches()`.
"""

from __future__ import annotations

import copy
import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import Any
from unittest import mock

# (table name, hash key, range key or None) -> the item before the transaction, None if there was none
_Snapshot = dict[tuple[str, Any, Any], Any]


class _CopyKeepingTables:
    """Stands in for the `copy` module inside moto.dynamodb.models: a table is "copied" as itself (the
    touched items are backed up separately); anything else is deep-copied as before."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, self._table_type):
            return value
        return copy.deepcopy(value, memo)


def _touched(backend: Any, transact_items: list[dict[str, Any]]) -> _Snapshot:
    snapshot: _Snapshot = {}
    for entry in transact_items:
        try:
            _, operation = next(iter(entry.items()))
            table = backend.get_table(operation["TableName"])
            if "Key" in operation:
                key = operation["Key"]
            else:
                attributes = operation["Item"]
                key = {table.hash_key_attr: attributes[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attributes[table.range_key_attr]
            hash_key, range_key = backend.get_keys_value(table, key)
        except Exception:  # noqa: S112 - moto reads the same key before writing and fails the same way
            continue
        identity = (operation["TableName"], hash_key, range_key)
        snapshot.setdefault(identity, copy.deepcopy(table.get_item(hash_key, range_key)))
    return snapshot


def _restore(backend: Any, snapshot: _Snapshot) -> None:
    for (table_name, hash_key, range_key), item in snapshot.items():
        table = backend.get_table(table_name)
        table.delete_item(hash_key, range_key)
        if item is None:
            continue
        if range_key is not None:
            table.items[hash_key][range_key] = item
        else:
            table.items[hash_key] = item


@contextmanager
def cheaper_dynamodb_transactions() -> Iterator[None]:
    """While active, every moto DynamoDB backend (in this process) uses the item-level rollback."""
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshot = _touched(self, transact_items)
        try:
            original(self, transact_items)
        except Exception:
            _restore(self, snapshot)
            raise

    with (
        mock.patch.object(models, "copy", _CopyKeepingTables(Table)),
        mock.patch.object(models.DynamoDBBackend, "transact_write_items", transact_write_items),
    ):
        yield


@contextmanager
def cached_service_module_list() -> Iterator[None]:
    """moto's package directory does not change while it runs."""
    from moto import backends

    listed = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> Iterable[str]:
        return listed

    with mock.patch.object(backends, "list_of_moto_modules", list_of_moto_modules):
        yield


@contextmanager
def cheaper_sqs_retention_check() -> Iterator[None]:
    from moto.core.utils import unix_time
    from moto.sqs.models import Message, SQSBackend

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Message) -> bool:
        retention_seconds = int(self.get_queue(queue_name).message_retention_period)
        return retention_seconds + message.sent_timestamp / 1000 > unix_time()  # type: ignore[operator]

    with mock.patch.object(
        SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period
    ):
        yield


@contextmanager
def cheaper_sqs_visible_messages() -> Iterator[None]:
    from moto.sqs.models import Queue

    def messages(self: Any) -> list[Any]:
        now = time.time() * 1000.0  # moto's unix_time_millis(), the cheaper way of 7.
        # moto's Message.visible and .delayed, with `now` read once.
        return [
            message
            for message in self._messages
            if now > message.visible_at and not now < message.delayed_until
        ]

    with mock.patch.object(Queue, "messages", property(messages)):
        yield


@contextmanager
def cheaper_sqs_clock() -> Iterator[None]:
    from moto.core.utils import unix_time as moto_unix_time
    from moto.sqs import models

    def unix_time(dt: datetime | None = None) -> float:
        return time.time() if dt is None else moto_unix_time(dt)

    def unix_time_millis(dt: datetime | None = None) -> float:
        return unix_time(dt) * 1000.0

    with (
        mock.patch.object(models, "unix_time", unix_time),
        mock.patch.object(models, "unix_time_millis", unix_time_millis),
    ):
        yield


@contextmanager
def cheaper_sqs_message_state() -> Iterator[None]:
    from moto.sqs.models import Message

    def visible(self: Any) -> bool:  # moto's Message.visible, with time.time() read directly (see 7.)
        return bool(time.time() * 1000.0 > self.visible_at)

    def delayed(self: Any) -> bool:
        return bool(time.time() * 1000.0 < self.delayed_until)

    with (
        mock.patch.object(Message, "visible", property(visible)),
        mock.patch.object(Message, "delayed", property(delayed)),
    ):
        yield


@contextmanager
def cheaper_sqs_receipt_handle_check() -> Iterator[None]:
    from moto.sqs.models import Message

    def had_receipt_handle(self: Any, receipt_handle: str) -> bool:  # moto's, without the list (see 10.)
        return receipt_handle == self.receipt_handle or receipt_handle in self._old_receipt_handles

    with mock.patch.object(Message, "had_receipt_handle", had_receipt_handle):
        yield


LONG_POLL_TICK_SECONDS = 0.05


@contextmanager
def sqs_long_polls_that_wait() -> Iterator[None]:
    """While active, a long poll that found nothing to deliver sleeps until the queue changes (see 9.)."""
    from moto.sqs.models import Queue, SQSBackend

    def wait_for_messages(self: Any, timeout: int) -> None:
        with self._messages_lock:
            self._messages_lock.wait(timeout=min(timeout, LONG_POLL_TICK_SECONDS))

    def waking_receivers(operation: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(operation)
        def run(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return operation(backend, queue_name, *args, **kwargs)
            finally:
                queue = backend.queues.get(queue_name)
                if queue is not None:
                    with queue._messages_lock:
                        queue._messages_lock.notify_all()

        return run

    with ExitStack() as patches:
        patches.enter_context(mock.patch.object(Queue, "wait_for_messages", wait_for_messages))
        for name in ("delete_message", "change_message_visibility"):
            patches.enter_context(
                mock.patch.object(SQSBackend, name, waking_receivers(getattr(SQSBackend, name)))
            )
        yield


# The SQS backend operations a client's request reaches (moto.sqs.responses calls these).
SERIALIZED_SQS_OPERATIONS = (
    "create_queue",
    "get_queue_url",
    "list_queues",
    "delete_queue",
    "get_queue_attributes",
    "set_queue_attributes",
    "send_message",
    "send_message_batch",
    "receive_message",
    "delete_message",
    "delete_message_batch",
    "change_message_visibility",
    "change_message_visibility_batch",
    "purge_queue",
    "list_dead_letter_source_queues",
)


def _under(lock: threading.RLock) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wraps an operation so that it runs holding `lock`."""

    def serialized(operation: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(operation)
        def run(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return operation(*args, **kwargs)

        return run

    return serialized


@contextmanager
def serialized_sqs() -> Iterator[None]:
    """While active, moto's SQS backends serve one operation at a time (see 4. above)."""
    from moto.sqs.models import Queue, SQSBackend

    lock = threading.RLock()
    serialized = _under(lock)
    original_wait = Queue.wait_for_messages

    def wait_for_messages(self: Any, timeout: int) -> None:
        # receive_message's long poll, called with the lock held once: other requests go on meanwhile.
        lock.release()
        try:
            original_wait(self, timeout)
        finally:
            lock.acquire()

    with ExitStack() as patches:
        for name in SERIALIZED_SQS_OPERATIONS:
            patches.enter_context(mock.patch.object(SQSBackend, name, serialized(getattr(SQSBackend, name))))
        patches.enter_context(mock.patch.object(Queue, "wait_for_messages", wait_for_messages))
        yield


# The DynamoDB backend operations a client's item request reaches (moto.dynamodb.responses calls these;
# its batch reads and writes call them once per item).
SERIALIZED_DYNAMODB_OPERATIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "transact_write_items",
)


@contextmanager
def serialized_dynamodb() -> Iterator[None]:
    """While active, moto's DynamoDB backends serve one item operation at a time (see 5. above)."""
    from moto.dynamodb.models import DynamoDBBackend

    serialized = _under(threading.RLock())
    with ExitStack() as patches:
        for name in SERIALIZED_DYNAMODB_OPERATIONS:
            original = getattr(DynamoDBBackend, name)
            patches.enter_context(mock.patch.object(DynamoDBBackend, name, serialized(original)))
        yield


@contextmanager
def local_moto_patches() -> Iterator[None]:
    with ExitStack() as patches:
        for patch in (
            cheaper_dynamodb_transactions,
            serialized_dynamodb,  # after the patch above: it serializes the cheaper transactions
            cached_service_module_list,
            cheaper_sqs_retention_check,
            cheaper_sqs_visible_messages,
            cheaper_sqs_clock,
            cheaper_sqs_message_state,
            cheaper_sqs_receipt_handle_check,
            sqs_long_polls_that_wait,  # before serialized_sqs, which lets go of its lock around this wait
            serialized_sqs,
        ):
            patches.enter_context(patch())
        yield
