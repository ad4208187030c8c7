"""The sync's side of CustomerChangesQueue: handing records back with a wait of their own, and moving a
message that can never succeed to the dead-letter queue.

Adapter: adapters/sqs_hand_backs.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class ChangeHandBacks(Protocol):
    def hand_back(self, waits: Sequence[tuple[str, int]]) -> None:
        """Each (receipt handle, seconds): SQS delivers that record again after this many seconds."""
        ...

    def dead_letter(self, body: str, *, group_id: str, deduplication_id: str) -> None:
        """Put a message that can never be synced on the dead-letter queue as it came."""
        ...
