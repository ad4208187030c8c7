"""Throughput within QBO's limits, on the local stack of `make run` with the QBO emulator enforcing them
(500 requests a minute and 10 a second per company, 429 in QBO's XML past them):

- `ceiling_and_fairness`: a backlog of new customers of one merchant (A) drains through the stack while a
  second merchant (B) saves a customer every couple of seconds; how close A's drain comes to what QBO's
  limits allow given the calls each change needs, the 429s QBO answered, and how long B's changes take to
  reach QBO meanwhile;
- `throttled_burst`: QBO limited to a few requests a minute (the budget is not told): a burst of new
  customers against 429s, compared with the time the limit requires;
- `calls_per_change`: QBO calls of a burst of 10 new customers (one batch), of linked updates and of saves
  that change nothing, and the metered reads of a mix of changes;
- `outage`: QBO answering 503 to one company for minutes, then recovering; how long after the recovery
  each change reaches QBO, and whether any went to the DLQ.

Each scenario onboards merchants of its own, as production does (admin API, QBO connect flow). Changes
normally arrive as PaySimple's signed webhooks through the gateway and IngestFunction; the 2,000-change
backlog is enqueued directly, as IngestFunction would enqueue it, while the sync's event source is paused
(the ingest path is not what it measures).
"""

from __future__ import annotations

import itertools
import math
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from bench.qbo_timing import CustomerWrite, TimedQboEmulator
from customer_sync.adapters.sqs import queue_body
from customer_sync.models.messages import CustomerChangeMessage
from emulators.paysimple import PaySimpleEmulatorControl
from emulators.qbo.control import QboEmulatorControl
from local.demo import AdminApi, onboard_merchant
from local.stack import Stack

# QBO's limits per company (reference/qbo-api.md).
QBO_PER_MINUTE = 500
QBO_PER_SECOND = 10
# A batch of new customers costs one name query, shared by up to ten changes (a Lambda batch).
BATCH = 10
SENDERS = 8
_merchant_numbers = itertools.count(6101)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def calls_needed_for_new_customers(count: int) -> int:
    """What `count` new customers need at least: one create each and one name query per batch."""
    return count + math.ceil(count / BATCH)


class Bench:
    """The running stack, its emulators and the admin API, and helpers the scenarios share."""

    def __init__(self, stack: Stack, qbo_emulator: TimedQboEmulator) -> None:
        assert stack.paysimple_emulator is not None
        self.stack = stack
        self.qbo_emulator = qbo_emulator
        self.qbo = QboEmulatorControl(qbo_emulator.base_url)
        self.paysimple = PaySimpleEmulatorControl(stack.paysimple_emulator.base_url)
        self.admin = AdminApi(stack.gateway_url, stack.admin_token)

    def onboard(self) -> tuple[str, str]:
        merchant_id = str(next(_merchant_numbers))
        realm_id = f"913035000000{merchant_id}"
        self.qbo.create_realm(realm_id)
        onboard_merchant(
            self.admin,
            self.paysimple,
            self.qbo,
            merchant_id=merchant_id,
            realm_id=realm_id,
            signing_key=f"bench-key-{merchant_id}",
            webhook_url=self.stack.gateway_url + "/webhooks/paysimple",
        )
        return merchant_id, realm_id

    def save(self, merchant_id: str, record: dict[str, Any], *, webhook: bool = True) -> tuple[int, float]:
        """Save in PaySimple; with `webhook`, its webhook must be accepted. (customer id, time accepted)."""
        saved = self.paysimple.save_customer(merchant_id, record, send_webhook=webhook)
        if webhook and [d.get("status_code") for d in saved["deliveries"]] != [202]:
            raise RuntimeError(f"webhook refused: {saved['deliveries']}")
        return int(saved["customer"]["Id"]), time.time()

    def save_many(self, merchant_id: str, records: list[dict[str, Any]]) -> list[tuple[int, float]]:
        with ThreadPoolExecutor(max_workers=SENDERS) as senders:
            return list(senders.map(lambda record: self.save(merchant_id, record), records))

    def enqueue(self, merchant_id: str, customer_ids: list[int]) -> None:
        """Changes as IngestFunction enqueues them (same body, group and deduplication id), 10 per call."""
        sqs = self.stack.sqs_client()
        queue_url = self.stack.queue_url("CustomerChangesQueue")
        now = datetime.now(UTC)
        for start in range(0, len(customer_ids), 10):
            entries: list[dict[str, str]] = []
            for customer_id in customer_ids[start : start + 10]:
                message = CustomerChangeMessage(
                    merchant_id=merchant_id,
                    customer_id=str(customer_id),
                    event_type="customer_created",
                    event_id=f"evt_bench_{uuid.uuid4().hex[:20]}",
                    occurred_at=now,
                )
                entries.append(
                    {
                        "Id": str(len(entries)),
                        "MessageBody": queue_body(message),
                        "MessageGroupId": message.message_group_id,
                        "MessageDeduplicationId": message.deduplication_id,
                    }
                )
            sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]

    def customers(self, realm_id: str) -> int:
        """Customers the realm's creates made so far in this scenario (each scenario has realms of its own
        and takes their writes first)."""
        return self.qbo_emulator.customers_created(realm_id)

    def first_writes(self, realm_id: str) -> dict[str, CustomerWrite]:
        """The first create of each customer (by name) noted since the last call (a repeated requestid
        answers again with the same customer: that later answer is not when it reached QBO)."""
        first: dict[str, CustomerWrite] = {}
        for write in sorted(self.qbo_emulator.take_writes(realm_id), key=lambda noted: noted.at):
            if write.operation == "create":
                first.setdefault(write.display_name, write)
        return first

    def wait_for(self, condition: Callable[[], bool], *, timeout_seconds: float, what: str) -> None:
        deadline = time.monotonic() + timeout_seconds
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.5)

    def failures(self, merchant_id: str) -> tuple[int, int]:
        found = self.admin.call("GET", f"/admin/merchants/{merchant_id}/failures")
        return len(found.get("dead_letter", [])), len(found.get("parked", []))

    def operations(self, realm_id: str) -> Counter[str]:
        return Counter(f"{call['operation']} {call['status']}" for call in self.qbo.calls(realm_id))


# -- drain at the ceiling, and fairness ---------------------------------------------------------------------


def ceiling_and_fairness(bench: Bench, *, backlog: int, fairness_every_seconds: float) -> dict[str, Any]:
    bench.qbo.set_rate_limits(per_minute=QBO_PER_MINUTE, per_second=QBO_PER_SECOND)
    merchant_a, realm_a = bench.onboard()
    merchant_b, realm_b = bench.onboard()
    records = [
        {"FirstName": "Drain", "LastName": f"Customer{n:05d}", "Email": f"d{n}@a.example"}
        for n in range(backlog)
    ]
    with ThreadPoolExecutor(max_workers=SENDERS) as senders:
        ids = list(senders.map(lambda record: bench.save(merchant_a, record, webhook=False)[0], records))
    bench.stack.pause_pollers()
    bench.stack.wait_until_idle()
    # Every SyncFunction environment initialised first, as in a deployment that has been busy: on two
    # cores, ten inits at once would hold the drain's first seconds (init is measured on its own).
    sync_pool = bench.stack.pools["SyncFunction"]
    sync_pool.warm(environments=sync_pool.max_concurrency)
    bench.enqueue(merchant_a, ids)
    bench.qbo.clear_calls(realm_a)
    bench.qbo.clear_calls(realm_b)
    bench.qbo_emulator.take_writes()
    accepted_b: dict[str, float] = {}
    stop = threading.Event()

    def merchant_b_saves() -> None:
        for number in itertools.count():
            name = f"Customer{number:04d}"
            _, at = bench.save(
                merchant_b, {"FirstName": "Fair", "LastName": name, "Email": f"f{number}@b.example"}
            )
            accepted_b[f"Fair {name}"] = at
            if stop.wait(fairness_every_seconds):
                return

    began = time.time()
    bench.stack.resume_pollers()
    saver = threading.Thread(target=merchant_b_saves, daemon=True)
    saver.start()
    bench.wait_for(lambda: bench.customers(realm_a) >= backlog, timeout_seconds=3600, what="the backlog")
    stop.set()
    saver.join()
    bench.wait_for(
        lambda: bench.stack.wait_until_drained(timeout_seconds=5), timeout_seconds=600, what="drain"
    )
    writes_a = bench.first_writes(realm_a)
    writes_b = bench.first_writes(realm_b)
    drain_seconds = max(write.at for write in writes_a.values()) - began
    calls_a = bench.qbo.calls(realm_a)
    made = sum(1 for call in calls_a if call["status"] == 200)
    throttled = [call["at"] - began for call in calls_a + bench.qbo.calls(realm_b) if call["status"] == 429]
    needed = calls_needed_for_new_customers(backlog)
    per_second = QBO_PER_MINUTE / 60
    b_latencies = [writes_b[name].at - at for name, at in accepted_b.items() if name in writes_b]
    dead, parked = bench.failures(merchant_a)
    return {
        "backlog": backlog,
        "drain_seconds": round(drain_seconds, 1),
        "changes_per_second": round(backlog / drain_seconds, 2),
        "qbo_calls_needed": needed,
        "qbo_calls_made": made,
        "qbo_calls_by_kind": dict(sorted(bench.operations(realm_a).items())),
        "seconds_the_limit_requires": round(needed / per_second, 1),
        "share_of_what_the_limit_allows": round(needed / per_second / drain_seconds, 3),
        "share_given_the_calls_made": round(made / per_second / drain_seconds, 3),
        "throttled_429": len(throttled),
        "throttled_429_after_the_first_second": sum(1 for at in throttled if at > 1.0),
        "dead_letters": dead,
        "parked": parked,
        "fairness": {
            "merchant_b_changes": len(accepted_b),
            "reached_qbo": len(b_latencies),
            "p50_seconds": round(statistics.median(b_latencies), 2) if b_latencies else None,
            "p95_seconds": round(percentile(b_latencies, 0.95), 2) if b_latencies else None,
            "max_seconds": round(max(b_latencies), 2) if b_latencies else None,
            "every_seconds": fairness_every_seconds,
        },
    }


# -- a burst against a low limit ----------------------------------------------------------------------------


def throttled_burst(bench: Bench, *, customers: int, per_minute: int) -> dict[str, Any]:
    merchant_id, realm_id = bench.onboard()
    bench.qbo.clear_calls(realm_id)
    bench.qbo_emulator.take_writes(realm_id)
    bench.qbo.set_rate_limits(per_minute=per_minute, per_second=QBO_PER_SECOND)
    try:
        began = time.time()
        records = [
            {"FirstName": "Burst", "LastName": f"Customer{n:03d}", "Email": f"b{n}@c.example"}
            for n in range(customers)
        ]
        bench.save_many(merchant_id, records)
        bench.wait_for(lambda: bench.customers(realm_id) >= customers, timeout_seconds=1800, what="the burst")
        last = max(write.at for write in bench.first_writes(realm_id).values())
    finally:
        bench.qbo.set_rate_limits(per_minute=QBO_PER_MINUTE, per_second=QBO_PER_SECOND)
    seconds = last - began
    needed = calls_needed_for_new_customers(customers)
    required = needed / (per_minute / 60)
    calls = bench.operations(realm_id)
    dead, parked = bench.failures(merchant_id)
    return {
        "customers": customers,
        "qbo_limit_per_minute": per_minute,
        "seconds": round(seconds, 1),
        "seconds_the_limit_requires": round(required, 1),
        "ratio_to_required": round(seconds / required, 2),
        "qbo_calls_by_kind": dict(sorted(calls.items())),
        "dead_letters": dead,
        "parked": parked,
    }


# -- calls per change ---------------------------------------------------------------------------------------


def calls_per_change(bench: Bench, *, mixed: int) -> dict[str, Any]:
    merchant_id, realm_id = bench.onboard()
    # A burst of 10 new customers, arriving while the event source is paused: one Lambda batch.
    bench.stack.pause_pollers()
    bench.stack.wait_until_idle()
    burst = [{"FirstName": "Ten", "LastName": f"Customer{n}", "Email": f"t{n}@d.example"} for n in range(10)]
    saved = bench.save_many(merchant_id, burst)
    bench.qbo.clear_calls(realm_id)
    bench.stack.resume_pollers()
    bench.stack.wait_until_drained(timeout_seconds=300)
    new_calls = bench.operations(realm_id)

    def phase(records: list[dict[str, Any]]) -> Counter[str]:
        bench.qbo.clear_calls(realm_id)
        bench.save_many(merchant_id, records)
        bench.stack.wait_until_drained(timeout_seconds=600)
        return bench.operations(realm_id)

    customers = [{**record, "Id": customer_id} for record, (customer_id, _) in zip(burst, saved, strict=True)]
    updated = [{**customer, "Phone": f"303555{n:04d}"} for n, customer in enumerate(customers)]
    update_calls = phase(updated)
    unchanged_calls = phase(updated)
    # A mix, as a merchant's day might bring: 30 % new customers, 50 % updates, 20 % saves without change.
    new_count, update_count = int(mixed * 0.3), int(mixed * 0.5)
    unchanged_count = mixed - new_count - update_count
    bench.qbo.clear_calls(realm_id)
    new_records = [
        {"FirstName": "Mix", "LastName": f"Customer{n:04d}", "Email": f"m{n}@d.example"}
        for n in range(new_count)
    ]
    mixed_saved = bench.save_many(merchant_id, new_records)
    bench.stack.wait_until_drained(timeout_seconds=1800)
    mixed_customers = [{**r, "Id": c} for r, (c, _) in zip(new_records, mixed_saved, strict=True)]
    updates = [
        {**mixed_customers[n % len(mixed_customers)], "Phone": f"720555{n:04d}"} for n in range(update_count)
    ]
    for start in range(0, len(updates), len(mixed_customers)):
        bench.save_many(merchant_id, updates[start : start + len(mixed_customers)])
        bench.stack.wait_until_drained(timeout_seconds=1800)
    latest = {record["Id"]: record for record in updates}
    again = [latest.get(c["Id"], c) for c in mixed_customers][:unchanged_count]
    bench.save_many(merchant_id, again)
    bench.stack.wait_until_drained(timeout_seconds=1800)
    mixed_calls = bench.operations(realm_id)
    reads = sum(count for kind, count in mixed_calls.items() if kind.split()[0] in ("query", "read"))
    return {
        "new_customer_burst_of_10": {
            "qbo_calls_by_kind": dict(sorted(new_calls.items())),
            "qbo_calls_per_change": round(sum(new_calls.values()) / 10, 2),
        },
        "linked_update": {
            "qbo_calls_by_kind": dict(sorted(update_calls.items())),
            "qbo_calls_per_change": round(sum(update_calls.values()) / 10, 2),
        },
        "unchanged_save": {"qbo_calls_per_change": round(sum(unchanged_calls.values()) / 10, 2)},
        "mixed": {
            "changes": mixed,
            "new": new_count,
            "updates": update_count,
            "unchanged": unchanged_count,
            "qbo_calls_by_kind": dict(sorted(mixed_calls.items())),
            "metered_reads_per_1000_changes": round(reads * 1000 / mixed, 1),
            "qbo_calls_per_1000_changes": round(sum(mixed_calls.values()) * 1000 / mixed, 1),
        },
    }


# -- an outage ----------------------------------------------------------------------------------------------


def outage(bench: Bench, *, minutes: float, changes: int) -> dict[str, Any]:
    merchant_id, realm_id = bench.onboard()
    bench.qbo_emulator.take_writes(realm_id)
    bench.qbo.inject_fault(realm_id=realm_id, status=503, count=10**9)
    began = time.time()
    names: dict[str, float] = {}
    try:
        # The changes arrive during the first half of the outage, in bursts, as a merchant's work would.
        waves = 5
        per_wave = math.ceil(changes / waves)
        for wave in range(waves):
            records = [
                {
                    "FirstName": "Outage",
                    "LastName": f"Customer{wave}{n:03d}",
                    "Email": f"o{wave}{n}@e.example",
                }
                for n in range(per_wave)
            ]
            for record, (_, at) in zip(records, bench.save_many(merchant_id, records), strict=True):
                names[f"{record['FirstName']} {record['LastName']}"] = at
            time.sleep(max(0.0, began + (wave + 1) * minutes * 60 / 2 / waves - time.time()))
        time.sleep(max(0.0, began + minutes * 60 - time.time()))
    finally:
        bench.qbo.clear_faults()
    recovered = time.time()
    bench.wait_for(
        lambda: bench.customers(realm_id) >= len(names),
        timeout_seconds=900,
        what="the changes after the outage",
    )
    writes = bench.first_writes(realm_id)
    after_recovery = [writes[name].at - recovered for name in names]
    failed = sum(1 for call in bench.qbo.calls(realm_id) if call["status"] == 503)
    dead, parked = bench.failures(merchant_id)
    return {
        "outage_minutes": minutes,
        "changes": len(names),
        "failed_qbo_calls_during_the_outage": failed,
        "landed_after_recovery_p50_seconds": round(statistics.median(after_recovery), 1),
        "landed_after_recovery_max_seconds": round(max(after_recovery), 1),
        "dead_letters": dead,
        "parked": parked,
    }


def qbo_emulator_with_limits() -> TimedQboEmulator:
    """QBO's own limits, enforced (the emulator's default)."""
    return TimedQboEmulator(rate_limit_per_minute=QBO_PER_MINUTE, rate_limit_per_second=QBO_PER_SECOND)
