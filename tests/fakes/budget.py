"""A QBO request budget (ports.QboRequestBudget) that grants or refuses as the test says, and notes every
draw and pause."""

from __future__ import annotations

from customer_sync.errors import QboBudgetExhausted


class FakeQboBudget:
    def __init__(self, *, requests: int | None = None, pause_seconds: float = 60.0) -> None:
        self.left = requests  # None: no limit
        self.pause_seconds = pause_seconds
        self.taken: list[str] = []  # realm of each request granted
        self.pauses: list[tuple[str, float | None]] = []  # (realm, at least) of each pause
        self.lined_up: list[tuple[str, int]] = []  # (realm, changes) of each place taken in line
        self.released = False

    def take(self, realm_id: str, *, may_wait_seconds: float = 0.0) -> None:
        self.check(realm_id)
        if self.left is not None:
            if self.left <= 0:
                raise QboBudgetExhausted(retry_after=1.0, realm_id=realm_id)
            self.left -= 1
        self.taken.append(realm_id)

    def check(self, realm_id: str, *, may_wait_seconds: float = 0.0) -> None:
        if any(paused == realm_id for paused, _ in self.pauses):
            raise QboBudgetExhausted(retry_after=self.pause_seconds, realm_id=realm_id)

    def pause(self, realm_id: str, at_least_seconds: float | None = None) -> float:
        self.pauses.append((realm_id, at_least_seconds))
        return max(self.pause_seconds, at_least_seconds or 0.0)

    def wait_in_line(self, realm_id: str, changes: int) -> float:
        self.lined_up.append((realm_id, changes))
        return 1.0 + len(self.lined_up)

    def release(self) -> None:
        self.released = True
