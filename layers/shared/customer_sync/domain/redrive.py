"""Sending a parked change to CustomerChangesQueue again: by an admin's redrive, when a held QBO customer is
active again, when a merchant reconnects QuickBooks.

The resent change carries `redrive_attempt + 1`, hence a new deduplication id (neither SQS nor the sync's
outcome of the failed attempt swallows it). Its parked entry is not removed here: it is updated to the new
attempt *before* the send, and stays listed until the sync applies that attempt (the sync removes it then,
in the same transaction as the change's outcome; see domain.sync.service `_finish`). So a resent change that
is not applied (parked again, or skipped because sync is off) is still where the admin looks, and the sync's
removal can never be undone by a late update of the entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from customer_sync.models.history import ParkedFailure
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.ports import ChangePublisher, FailuresRepository

_PAGE = 100


def next_attempt(message: CustomerChangeMessage) -> CustomerChangeMessage:
    return CustomerChangeMessage.model_validate(
        {**message.model_dump(), "redrive_attempt": message.redrive_attempt + 1}
    )


def all_parked(failures: FailuresRepository, merchant_id: str) -> Iterator[ParkedFailure]:
    """Every parked failure of the merchant, page after page."""
    cursor: str | None = None
    while True:
        page = failures.list_failures(merchant_id, cursor=cursor, limit=_PAGE)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def resend_parked(
    failure: ParkedFailure, *, failures: FailuresRepository, publisher: ChangePublisher
) -> CustomerChangeMessage | None:
    """Send the parked change again; the message sent, or None when its entry is gone (the sync resolved it
    since it was read). A send that fails restores the entry as it was and raises."""
    again = next_attempt(failure.message)
    if not failures.replace_failure(failure.model_copy(update={"message": again})):
        return None
    try:
        publisher.publish(again)
    except Exception:
        failures.replace_failure(failure)
        raise
    return again


def resend_all_parked(
    failures: FailuresRepository,
    publisher: ChangePublisher,
    merchant_id: str,
    *,
    chosen: Callable[[ParkedFailure], bool],
) -> list[CustomerChangeMessage]:
    """Send again every parked change of the merchant that `chosen` picks; the messages sent."""
    picked = [failure for failure in all_parked(failures, merchant_id) if chosen(failure)]
    sent = [resend_parked(failure, failures=failures, publisher=publisher) for failure in picked]
    return [message for message in sent if message is not None]
