"""The per-realm QBO request budget: how many requests every invocation together may send to one company.

QBO allows each company (realm) about 500 requests a minute and 10 a second, counted over sliding windows
(reference/qbo-api.md "Limits"). The budget is a GCRA (generic cell rate algorithm), the exact form of a
token bucket that needs one number per realm: the theoretical arrival time `tat`, the moment the next
request would be due if requests were evenly spaced.

- Every request moves `tat` one `interval` later: `tat' = max(tat, now) + interval`.
- A request is allowed while `tat <= now + tolerance`. The tolerance lets requests come a little early
  (a burst of `1 + tolerance / interval`), so a poller that asks a few milliseconds late does not lose
  its turn.

Any window of `W` seconds then holds at most `floor((W + tolerance) / interval) + 1` requests. The interval
and tolerances are chosen so that this stays within both of QBO's windows, with `jitter` seconds to spare
for clocks that differ and requests that take a little longer to reach QBO than others.

Interactive calls go first. The admin API's type-ahead, link checks and dry run have a person waiting, so
they get a larger tolerance than the sync, and may book one turn further ahead (see below). While the sync
keeps a realm busy, an admin's request waits at most for the turns the sync has already booked and one
interval; the sync's then waits for the admin's.

The tolerances are small (a tenth of an interval at most) and the jitter large (0.2 s): on a loaded machine
requests reach QBO up to a couple of tenths of a second later than their turn, some more than others, and
the per-second window is the one such bunching breaks. Spent on tolerance, the same margin would buy
bursts nobody needs (a waiting request books its turn instead).

A request that may wait books its turn: the draw moves `tat` on while it is at most `reservation` seconds
beyond the tolerance, and the caller then sleeps until its turn comes. One conditional write per request,
however many invocations wait for the same company; retrying instead, they would all wake at the same
moment and all but one be refused, again and again. And the request leaves at the time its turn says, not
after a DynamoDB round trip whose length varies with load, which `jitter` would have to cover. The sync
books at most RESERVED_TURNS turns ahead (one per waiter, QBO_BUDGET_WAITERS), interactive calls one more,
so the sync's bookings never keep an admin's request out.

Changes the budget sends back wait in line. Each group of changes sent back together (the records of one
company in one Lambda batch) takes the next `changes * REQUESTS_PER_CHANGE` intervals of a second number per
realm, `line`, and comes back when the budget reaches the start of its place: then together, as one batch,
so that they share one name query again. A backlog is thus served at the budget's pace instead of every
change trying again at growing random intervals (most of which would find the budget empty again).

A 429 from QBO despite the budget (another app on the same company, or a limit lower than configured)
pauses the realm: `tat` moves to `now + pause`, so no invocation calls that company before then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

BudgetPriority = Literal["sync", "interactive"]

# QBO's published limits per realm (reference/qbo-api.md "Limits").
QBO_REQUESTS_PER_MINUTE = 500
QBO_REQUESTS_PER_SECOND = 10
# Seconds of disagreement allowed for between the clocks of the invocations and QBO's, and for requests
# that reach QBO later than others (a request drawn now may be sent a little later than the next one).
DEFAULT_JITTER_SECONDS = 0.2
# Interactive calls may come up to this many intervals early, the sync half as much: the rest is the
# interactive reserve. Tiny limits (a test's few requests a minute) get a quarter of the smaller limit at
# most, since a tolerance of k intervals costs k requests per window.
INTERACTIVE_TOLERANCE_INTERVALS = 0.1
SYNC_SHARE_OF_TOLERANCE = 1 / 2
# How many turns ahead of the budget a sync request may book its own (one per waiting invocation: the
# default QBO_BUDGET_WAITERS); interactive calls may book one turn further.
RESERVED_TURNS = 4
# What a change sent back costs when its turn comes: a create, and a tenth of a batch's name query.
REQUESTS_PER_CHANGE = 1.1
# DynamoDB adds `tat + interval` in decimal, we compare in binary floating point: a microsecond of slack
# keeps a request that is exactly on time from being refused for the difference.
ROUNDING_SLACK_SECONDS = 1e-6


@dataclass(frozen=True)
class BudgetRules:
    interval: float  # seconds between evenly spaced requests
    sync_tolerance: float  # seconds a sync request may come before its turn
    interactive_tolerance: float

    @classmethod
    def for_limits(
        cls,
        per_minute: int = QBO_REQUESTS_PER_MINUTE,
        per_second: int = QBO_REQUESTS_PER_SECOND,
        *,
        jitter: float = DEFAULT_JITTER_SECONDS,
    ) -> BudgetRules:
        """The shortest interval for which no window of 60 s holds more than `per_minute` requests and no
        window of 1 s more than `per_second`, even for interactive calls and with `jitter`.

        With the largest tolerance `k` intervals, a window of W seconds holds at most
        `floor((W + k·interval + jitter) / interval) + 1` requests; that is at most `limit` when
        `interval > (W + jitter) / (limit - k)`.
        """
        if per_minute < 1 or per_second < 1:
            raise ValueError("QBO budget limits must be at least 1 request")
        largest = min(INTERACTIVE_TOLERANCE_INTERVALS, min(per_minute, per_second) / 4)
        per_minute_floor = (60.0 + jitter) / (per_minute - largest)
        per_second_floor = (1.0 + jitter) / (per_second - largest)
        # A hair above the strict bound, so floating point never lands on it.
        interval = max(per_minute_floor, per_second_floor) * (1 + 1e-9)
        return cls(
            interval=interval,
            sync_tolerance=largest * SYNC_SHARE_OF_TOLERANCE * interval,
            interactive_tolerance=largest * interval,
        )

    @property
    def requests_per_minute(self) -> float:
        """The sustained rate the budget allows."""
        return 60.0 / self.interval

    def tolerance(self, priority: BudgetPriority) -> float:
        return self.interactive_tolerance if priority == "interactive" else self.sync_tolerance

    def reservation(self, priority: BudgetPriority) -> float:
        """Seconds beyond its tolerance a request of this priority that may wait can book its turn ahead."""
        return (RESERVED_TURNS + (1 if priority == "interactive" else 0)) * self.interval

    def latest_allowed_tat(self, now: float, priority: BudgetPriority, *, ahead: float = 0.0) -> float:
        """A request at `now` is allowed while the realm's `tat` is at most this (with `ahead`, a request that
        books its turn up to that many seconds beyond its tolerance)."""
        return now + self.tolerance(priority) + ahead + ROUNDING_SLACK_SECONDS

    def retry_after(self, tat: float, now: float, priority: BudgetPriority, *, ahead: float = 0.0) -> float:
        """Seconds until a request of this priority would be allowed (booking up to `ahead`), for a realm at
        `tat` (0 = now). Waiting exactly this long lands inside the allowance by the rounding slack, never
        on its edge."""
        return max(0.0, tat - (now + self.tolerance(priority) + ahead))

    def turn_starts(self, tat_after: float, priority: BudgetPriority) -> float:
        """When a request granted with the realm's `tat` moved to `tat_after` may be sent: its turn, less its
        tolerance."""
        return tat_after - self.interval - self.tolerance(priority)

    def next_tat(self, tat: float | None, now: float) -> float:
        """The realm's `tat` after one more request at `now`."""
        return max(tat if tat is not None else now, now) + self.interval

    def line_length(self, changes: int) -> float:
        """Seconds of the budget `changes` waiting changes will take."""
        return changes * REQUESTS_PER_CHANGE * self.interval

    def window_capacity(self, window_seconds: float, priority: BudgetPriority = "interactive") -> int:
        """The most requests any window of this length can hold (the bound the docstring derives)."""
        return math.floor((window_seconds + self.tolerance(priority)) / self.interval) + 1
