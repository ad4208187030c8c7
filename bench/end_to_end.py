"""The end-to-end benchmark: PaySimple saves (real signed webhooks) through the local stack into the QBO
emulator, in three phases of N changes each: new customers (each a QBO query and create), a changed phone on
each (a linked update), and a save that changes nothing QBO holds (no QBO call)."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.qbo_timing import CustomerWrite, TimedQboEmulator
from emulators.paysimple import PaySimpleEmulatorControl
from emulators.qbo.control import QboEmulatorControl
from local.demo import AdminApi, onboard_merchant
from local.stack import Stack

# Webhooks in flight at once: PaySimple sends concurrently, and the ingest side should not be the bottleneck.
SENDERS = 8
# Senders pause while more changes than this wait in the queue. A real SQS queue does not care how long it
# is, but moto's scans every message on each receive; an unbounded backlog would measure that, not us.
MAX_BACKLOG = 40
DRAIN_TIMEOUT_SECONDS = 1800


@dataclass
class PhaseResult:
    name: str
    changes: int
    seconds: float
    changes_per_second: float
    qbo_calls: dict[str, int]
    qbo_calls_per_change: dict[str, float]
    latency_ms: dict[str, float] = field(default_factory=dict)  # p50/p99/max, when the phase writes to QBO
    webhooks_refused: int = 0
    qbo_writes: int = 0


@dataclass
class RunResult:
    label: str
    qbo_latency_ms: int
    paysimple_latency_ms: int
    phases: list[PhaseResult]
    dead_letters: int
    parked: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


class Workload:
    def __init__(self, stack: Stack, qbo_emulator: TimedQboEmulator, merchant_id: str, realm_id: str) -> None:
        assert stack.paysimple_emulator is not None
        self.stack = stack
        self.qbo_emulator = qbo_emulator
        self.qbo = QboEmulatorControl(qbo_emulator.base_url)
        self.paysimple = PaySimpleEmulatorControl(stack.paysimple_emulator.base_url)
        self.admin = AdminApi(stack.gateway_url, stack.admin_token)
        self.merchant_id = merchant_id
        self.realm_id = realm_id
        self.customers: dict[int, dict[str, Any]] = {}  # PaySimple id -> current record
        self.qbo_ids: dict[str, int] = {}  # QBO customer id -> PaySimple id
        self._by_display_name: dict[str, int] = {}

    def onboard(self) -> None:
        self.qbo.create_realm(self.realm_id)
        onboard_merchant(
            self.admin,
            self.paysimple,
            self.qbo,
            merchant_id=self.merchant_id,
            realm_id=self.realm_id,
            signing_key=f"bench-signing-key-{self.merchant_id}",
            webhook_url=self.stack.gateway_url + "/webhooks/paysimple",
        )

    def run_phase(
        self,
        name: str,
        records: list[dict[str, Any]],
        written: Callable[[CustomerWrite], int | None],
        pace_per_second: float | None = None,
    ) -> PhaseResult:
        """Save every record (its webhook must be accepted), wait until the queue is drained, then count.
        Saves go as fast as SENDERS threads manage, or one at a time at `pace_per_second`."""
        self.qbo.clear_calls(self.realm_id)
        self.qbo_emulator.take_writes()
        accepted_at: dict[int, float] = {}
        refused = 0
        began = time.time()

        def save(record: dict[str, Any]) -> tuple[dict[str, Any], bool, float]:
            saved = self.paysimple.save_customer(self.merchant_id, record)
            # The emulator returns once the gateway answered the (synchronous) webhook delivery.
            accepted = [delivery.get("status_code") for delivery in saved["deliveries"]] == [202]
            return saved["customer"], accepted, time.time()

        backlog = _BacklogGate(lambda: self.stack.queue_depth("CustomerChangesQueue"))

        def save_when_room(record: dict[str, Any]) -> tuple[dict[str, Any], bool, float]:
            backlog.wait_for_room()
            return save(record)

        if pace_per_second:
            outcomes = []
            for index, record in enumerate(records):
                time.sleep(max(0.0, began + index / pace_per_second - time.time()))
                outcomes.append(save(record))
        else:
            with ThreadPoolExecutor(max_workers=SENDERS) as senders:
                outcomes = list(senders.map(save_when_room, records))
        for customer, accepted, at in outcomes:
            self.customers[customer["Id"]] = customer
            if accepted:
                accepted_at.setdefault(customer["Id"], at)
            else:
                refused += 1
        if not self.stack.wait_until_drained(timeout_seconds=DRAIN_TIMEOUT_SECONDS, poll_seconds=0.25):
            raise RuntimeError(f"phase {name}: the queue did not drain")
        seconds = time.time() - began
        calls = Counter(str(call["operation"]) for call in self.qbo.calls(self.realm_id))
        writes = self.qbo_emulator.take_writes()
        latencies = []
        for write in writes:
            customer_id = written(write)
            if customer_id is not None and customer_id in accepted_at:
                latencies.append((write.at - accepted_at.pop(customer_id)) * 1000)
        result = PhaseResult(
            name=name,
            changes=len(records),
            seconds=round(seconds, 2),
            changes_per_second=round(len(records) / seconds, 1),
            qbo_calls=dict(sorted(calls.items())),
            qbo_calls_per_change={
                kind: round(count / len(records), 3) for kind, count in sorted(calls.items())
            },
            webhooks_refused=refused,
            qbo_writes=len(writes),
        )
        if latencies:
            result.latency_ms = {
                "p50": round(statistics.median(latencies), 1),
                "p99": round(percentile(latencies, 0.99), 1),
                "max": round(max(latencies), 1),
            }
        return result

    def created(self, write: CustomerWrite) -> int | None:
        """The PaySimple customer a create was for (bench names are unique), remembered for its updates."""
        if write.operation != "create":
            return None
        if write.display_name not in self._by_display_name:
            self._by_display_name = {
                f"{customer['FirstName']} {customer['LastName']}": customer_id
                for customer_id, customer in self.customers.items()
            }
        customer_id = self._by_display_name.get(write.display_name)
        if customer_id is not None:
            self.qbo_ids[write.qbo_customer_id] = customer_id
        return customer_id

    def updated(self, write: CustomerWrite) -> int | None:
        return self.qbo_ids.get(write.qbo_customer_id) if write.operation == "update" else None

    def run(self, changes: int) -> list[PhaseResult]:
        new = [
            {"FirstName": "Bench", "LastName": f"Customer{number:05d}", "Email": f"c{number}@bench.example"}
            for number in range(changes)
        ]
        phases = [self.run_phase("new customer (create)", new, self.created)]
        updates = [{**customer, "Phone": f"555{index:07d}"} for index, customer in enumerate(self._records())]
        phases.append(self.run_phase("linked update", updates, self.updated))
        unchanged = [dict(customer) for customer in self._records()]
        phases.append(self.run_phase("save without change", unchanged, lambda write: None))
        # The burst phases' latency is mostly time spent queued behind the burst; at half the measured
        # create rate the queue stays short and the latency is the pipeline's own.
        pace = max(1.0, phases[0].changes_per_second / 2)
        paced = [
            {"FirstName": "Paced", "LastName": f"Customer{number:05d}", "Email": f"p{number}@bench.example"}
            for number in range(min(changes, 100))
        ]
        phases.append(
            self.run_phase(f"new customer, {pace:.0f}/s", paced, self.created, pace_per_second=pace)
        )
        return phases

    def _records(self) -> list[dict[str, Any]]:
        return [self.customers[customer_id] for customer_id in sorted(self.customers)]

    def failures(self) -> tuple[int, int]:
        found = self.admin.call("GET", f"/admin/merchants/{self.merchant_id}/failures")
        return len(found.get("dead_letter", [])), len(found.get("parked", []))


class _BacklogGate:
    """Lets senders through while the queue holds fewer than MAX_BACKLOG changes (depth read at most 5x/s)."""

    def __init__(self, depth: Callable[[], int]) -> None:
        self._depth = depth
        self._lock = threading.Lock()
        self._last_read = 0.0
        self._last_depth = 0

    def wait_for_room(self) -> None:
        while True:
            with self._lock:
                if time.monotonic() - self._last_read > 0.2:
                    self._last_depth, self._last_read = self._depth(), time.monotonic()
                if self._last_depth < MAX_BACKLOG:
                    self._last_depth += 1  # this sender's change, until the next read
                    return
            time.sleep(0.05)


def run_end_to_end(
    stack: Stack,
    qbo_emulator: TimedQboEmulator,
    *,
    label: str,
    changes: int,
    merchant_id: str,
    realm_id: str,
    qbo_latency_ms: int = 0,
    paysimple_latency_ms: int = 0,
) -> RunResult:
    workload = Workload(stack, qbo_emulator, merchant_id, realm_id)
    workload.onboard()
    # Latency applies to every later call of the emulators: run each setting on a stack of its own.
    workload.qbo.set_latency(qbo_latency_ms)
    if paysimple_latency_ms:
        workload.paysimple.inject_fault(count=10**9, latency_seconds=paysimple_latency_ms / 1000)
    phases = workload.run(changes)
    dead_letters, parked = workload.failures()
    return RunResult(label, qbo_latency_ms, paysimple_latency_ms, phases, dead_letters, parked)
