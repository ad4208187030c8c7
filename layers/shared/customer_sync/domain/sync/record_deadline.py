"""Whether an invocation still has time to start another record.

Lambda kills an invocation at its timeout wherever it is, and then reports nothing: every record of the
batch, finished or not, is delivered again. During a QBO outage one record can use up its HTTP timeout on
every attempt, so a batch of ten can outlast the function. The sync handler therefore starts a record only
while at least one record's worst case (the margin) is left; the others go back to SQS untouched, in the
partial batch response.

The margin is capped at half the time the invocation started with, so the first record always starts: a
margin as long as the function's timeout would otherwise hand back every batch untouched until each change
reached the DLQ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from customer_sync.errors import RecordDeferred


@dataclass(frozen=True)
class RecordDeadline:
    remaining_millis: Callable[[], int]
    margin_millis: int

    @classmethod
    def for_invocation(cls, remaining_millis: Callable[[], int], *, margin_seconds: float) -> RecordDeadline:
        """`remaining_millis` is the Lambda context's clock, read now for the cap and before each record."""
        cap = remaining_millis() // 2
        return cls(remaining_millis, min(round(margin_seconds * 1000), cap))

    def check_time_for_a_record(self) -> None:
        """Raises RecordDeferred when less than the margin is left."""
        left = self.remaining_millis()
        if left < self.margin_millis:
            raise RecordDeferred(
                f"not started: {left} ms left in this invocation, a record may need {self.margin_millis} ms"
            )
