"""How long a change waits before SQS delivers it again, after a failure that will pass (QBO throttling or
down, the company's QBO request budget used up, PaySimple down, a conflict): seconds at first, doubling with
each delivery, up to a cap, with jitter so that changes failed together do not all come back together.

The wait is set on the record itself (ChangeMessageVisibility) as it goes back, instead of the queue's
540 s visibility timeout, and never by sleeping inside the Lambda. It is at least what the failure said to
wait (`at_least`: the budget's next free request, or the pause after QBO's 429).

Why the cap is 110 s (README "Failures and retries" has the arithmetic): an outage's last wait ends at most
110 s after QBO is back, so every change lands within two minutes of recovery; and with waits of 88 to
110 s (99 s on average) a day-long outage takes about 880 deliveries, within the queue's maxReceiveCount of
1000, so a throttle or an outage never pushes a change into the dead-letter queue.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Final

# SQS's longest visibility timeout (12 hours).
SQS_MAX_VISIBILITY_SECONDS: Final = 43_200
# Each wait is drawn between (1 - JITTER) and 1 times its nominal length.
JITTER: Final = 0.2


@dataclass(frozen=True)
class RetryDelays:
    first_seconds: int = 1
    max_seconds: int = 110
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def nominal(self, delivery: int) -> float:
        """The wait after the `delivery`-th delivery failed (1-based), before jitter."""
        exponent = min(max(delivery, 1) - 1, 32)
        return float(min(self.max_seconds, self.first_seconds * 2**exponent))

    def after(self, delivery: int, *, at_least: float | None = None) -> int:
        """Whole seconds (what SQS takes) until the next delivery."""
        wait = self.nominal(delivery) * (1 - JITTER * self.rng.random())
        wait = max(wait, at_least or 0.0)
        return min(SQS_MAX_VISIBILITY_SECONDS, math.ceil(wait))
