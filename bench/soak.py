"""The soak (`make soak`, SOAK.md): thousands of PaySimple changes through the local stack of `make run` while
QBO fails in every way it does, PaySimple's webhooks arrive twice and out of order, and SyncFunction dies
between the QBO write and the link write. At the end every customer is checked.

The run, on `Stack` (local/stack.py) with free ports and the QBO emulator enforcing QBO's own rate limits:

1. merchants onboarded as production does (admin API, QBO connect flow), sync on, the default mapping;
2. `customers` PaySimple customers created and updated until `changes` saves were made, by a few senders
   that keep the queue short (moto's SQS scans every message on each receive). Every `planted_every`-th
   customer carries card and bank numbers in its free text (tests/support/planted_data.py);
3. PaySimple's own signed webhooks (the PaySimple emulator sends them) with, per save:
   - `duplicate_share` delivered twice: half at once, half re-sent later by the soak with PaySimple's
     body and signature (a redelivery), many after SQS's 5-minute deduplication window;
   - `reorder_share` held back a few seconds while the same customer's next save is delivered at once,
     so the older event arrives after the newer one;
4. faults, spread over the run by how many changes were sent: QBO 500/502/503 answers, 429s, timeouts
   (an answer slower than the client's 10 s, with and without the call carried out), a 504 after the save,
   access tokens expired at QBO (the refresh path), one QBO outage of `outage_seconds` for every company,
   and `crashes` SyncFunction processes killed right after QBO saved one of their customer writes, before
   the answer reaches them (local/invoker.py `FunctionPool.crash`);
5. the queue drained, then the checks (`SoakChecks`).

QBO's state is compared with what the product's own mapping makes of PaySimple's latest record
(`scrub_customer` then `build_qbo_payload` with the merchant's mapping, here the default): the soak tests
that faults, duplicates and reordering never leave QBO behind or wrong, not the mapping rules themselves
(their unit tests do).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import boto3
import requests

from bench.qbo_timing import CustomerWrite, TimedQboEmulator
from bench.throughput import Bench
from customer_sync.domain.diff import canonical_country
from customer_sync.domain.mapping import build_qbo_payload, default_mapping
from customer_sync.domain.names import name_key
from customer_sync.domain.scrub import scrub_customer
from customer_sync.models.paysimple import PaySimpleCustomer
from emulators.paysimple.signing import SIGNATURE_HEADER
from local.sockets import process_with_local_port
from local.stack import Stack
from tests.support.planted_data import (
    AMEX_GROUPS,
    FOUR_BY_FOUR,
    PAYSIMPLE_PLANTED,
    PS_ACCOUNT,
    PS_AMEX,
    PS_BANK_PAIR,
    PS_DISCOVER,
    PS_MASTERCARD,
    PS_VISA,
    leaks_by_place,
)

Say = Callable[[str], None]
SYNC_FUNCTION = "SyncFunction"
# Past the functions' HTTP_TIMEOUT_SECONDS (10): the client gives up first.
TIMEOUT_LATENCY_MS = 11_000
# A customer event the sync finished with: applied, or nothing left to apply.
_DONE = {"created", "updated", "linked", "unchanged", "skipped"}
_DONE_WITH_FAILURE = {"parked", "failed"}


@dataclass(frozen=True)
class SoakPlan:
    customers: int = 600
    changes: int = 3000
    merchants: int = 3
    outage_seconds: float = 180.0
    outage_at: float = 0.35  # share of the changes sent when QBO goes down
    duplicate_share: float = 0.10
    reorder_share: float = 0.10
    server_errors: int = 24  # QBO 500, 502 and 503 answers, in three rounds
    throttles: int = 3  # injected 429s (each pauses that company for QBO_THROTTLE_PAUSE_SECONDS)
    timeouts: int = 4  # answers past the client's timeout: half carried out, half not
    saved_then_504: int = 4  # 504s from Intuit's edge after QBO saved the write
    token_expiries: int = 3  # rounds of every company's access tokens expired at QBO
    crashes: int = 6  # SyncFunction killed between the QBO write and the link write (creates and updates)
    planted_every: int = 5
    senders: int = 6
    max_queued: int = 60
    reorder_hold_seconds: float = 3.0
    drain_timeout_seconds: float = 600.0
    seed: int = 13


@dataclass
class FaultCounts:
    """What was injected, as the soak did it (the QBO call log tells what QBO answered)."""

    injected: Counter[str] = field(default_factory=Counter)
    outage_began: float | None = None
    outage_ended: float | None = None


@dataclass
class Deliveries:
    """PaySimple's side: saves made, events and how their webhooks went."""

    saves: int = 0
    creates: int = 0
    updates: int = 0
    duplicated_at_once: int = 0
    redelivered_later: int = 0
    redelivered_after_dedup_window: int = 0
    reordered: int = 0
    refused: list[str] = field(default_factory=list)  # deliveries without a 202 (PaySimple retries them)
    late: list[tuple[float, dict[str, Any], float]] = field(default_factory=list)  # (due, delivery, saved at)


class CrashFault:
    """Kills the SyncFunction process that sent an armed customer write, after QBO saved it and before its
    answer leaves: the invocation dies between the QBO write and the link write."""

    def __init__(self, stack: Stack, qbo_emulator: TimedQboEmulator) -> None:
        self._stack = stack
        self._lock = threading.Lock()
        self._armed: set[tuple[str, str, str]] = set()
        self.crashed: list[str] = []
        self.missed: list[str] = []
        qbo_emulator.after_write = self._after_write

    def arm(self, realm_id: str, display_name: str, operation: str) -> None:
        with self._lock:
            self._armed.add((realm_id, display_name, operation))

    @property
    def armed(self) -> int:
        with self._lock:
            return len(self._armed)

    def _after_write(self, write: CustomerWrite, remote_port: int) -> None:
        key = (write.realm_id, write.display_name, write.operation)
        with self._lock:
            if key not in self._armed:
                return
            self._armed.discard(key)
        pool = self._stack.pools[SYNC_FUNCTION]
        pid = process_with_local_port(remote_port, pool.pids())
        label = f"{write.operation} of {write.display_name!r}"
        if pid is not None and pool.crash(pid):
            self.crashed.append(label)
        else:
            self.missed.append(label)


class Soak:
    def __init__(self, stack: Stack, qbo_emulator: TimedQboEmulator, plan: SoakPlan, say: Say) -> None:
        self.stack = stack
        self.bench = Bench(stack, qbo_emulator)
        self.qbo = self.bench.qbo
        self.paysimple = self.bench.paysimple
        self.plan = plan
        self.say = say
        self.random = random.Random(plan.seed)
        self.faults = FaultCounts()
        self.deliveries = Deliveries()
        self.crash = CrashFault(stack, qbo_emulator)
        self.merchants: list[tuple[str, str]] = []  # (merchant id, realm id)
        self.customer_ids: dict[int, tuple[str, int]] = {}  # soak index -> (merchant id, PaySimple id)
        self._versions: Counter[int] = Counter()
        self._customer_locks: dict[int, threading.Lock] = {}
        self._lock = threading.Lock()
        self._room = threading.Event()
        self._room.set()
        self._sent = 0
        self._stop = threading.Event()

    # --- the customers ------------------------------------------------------------------------------------

    def record(self, index: int, version: int) -> dict[str, Any]:
        """Customer `index` as saved the `version`-th time. Names never change (one QBO customer each)."""
        record: dict[str, Any] = {
            "FirstName": "Soak",
            "LastName": f"Customer{index:04d}",
            "Email": f"c{index}.v{version}@soak.example",
            "Phone": f"303{index % 1000:03d}{version % 10000:04d}",
            "Company": f"Soak Co {index} v{version}",
            "BillingAddress": {
                "StreetAddress1": f"{version} Main St",
                "City": "Denver",
                "StateCode": "CO",
                "ZipCode": "80202",
                "Country": "US",
            },
        }
        if index % self.plan.planted_every == 0:
            # Card and bank numbers where merchants paste them: mapped fields (Company, the billing address)
            # and fields that are not (Notes, Website, CustomerAccount, MiddleName).
            record["Company"] = f"v{version} {PS_MASTERCARD.written('-', FOUR_BY_FOUR)}"
            record["BillingAddress"]["StreetAddress2"] = PS_BANK_PAIR
            record["Notes"] = f"Visa {PS_VISA.written(' ', FOUR_BY_FOUR)}\n{PS_BANK_PAIR}"
            record["Website"] = f"https://soak.example/{PS_DISCOVER.digits}"
            record["CustomerAccount"] = f"acct {PS_ACCOUNT.digits}"
            record["MiddleName"] = PS_AMEX.written(" ", AMEX_GROUPS)
        return record

    def display_name(self, index: int) -> str:
        return f"Soak Customer{index:04d}"

    # --- sending ------------------------------------------------------------------------------------------

    def change_order(self) -> list[int]:
        """Soak indexes, one per save: every customer's first save (its create) comes before its updates."""
        plan = self.plan
        order: list[int] = []
        created = 0
        updates_left = plan.changes - plan.customers
        while created < plan.customers or updates_left > 0:
            creates_left = plan.customers - created
            create_now = created == 0 or (
                creates_left > 0 and self.random.random() < creates_left / (creates_left + updates_left / 2)
            )
            if create_now and creates_left > 0:
                order.append(created)
                created += 1
            else:
                order.append(self.random.randrange(created))
                updates_left -= 1
        return order

    def save(self, index: int, *, duplicate: str | None = None, hold: float = 0.0) -> None:
        merchant_id = self.merchants[index % len(self.merchants)][0]
        with self._customer_locks.setdefault(index, threading.Lock()):
            version = self._versions[index]
            self._versions[index] += 1
            record = self.record(index, version)
            known = self.customer_ids.get(index)
            if known is not None:
                record["Id"] = known[1]
            saved = self.paysimple.save_customer(
                merchant_id, record, duplicate_delivery=duplicate == "at_once", delay_seconds=hold
            )
            if known is None:
                self.customer_ids[index] = (merchant_id, int(saved["customer"]["Id"]))
        with self._lock:
            self.deliveries.saves += 1
            if known is None:
                self.deliveries.creates += 1
            else:
                self.deliveries.updates += 1
            for delivery in saved["deliveries"]:
                if delivery.get("status_code") != 202:
                    outcome = delivery.get("status_code") or delivery.get("error")
                    self.deliveries.refused.append(f"{delivery['event_id']}: {outcome}")
            if duplicate == "at_once":
                self.deliveries.duplicated_at_once += 1
            elif duplicate == "later" and saved["deliveries"]:
                due = time.monotonic() + self.random.uniform(20, 420)
                self.deliveries.late.append((due, saved["deliveries"][0], time.monotonic()))

    def send_one(self, index: int) -> int:
        """One change of customer `index` (two when it is reordered); the number of saves made."""
        draw = self.random.random()
        plan = self.plan
        is_update = index in self.customer_ids
        if is_update and draw < plan.reorder_share:
            # Two saves: the first one's webhook held back, the second's delivered at once, so the older event
            # arrives after the newer one.
            self.save(index, hold=plan.reorder_hold_seconds)
            self.save(index)
            with self._lock:
                self.deliveries.reordered += 1
            return 2
        duplicate = None
        if draw > 1 - plan.duplicate_share:
            duplicate = "at_once" if draw > 1 - plan.duplicate_share / 2 else "later"
        self.save(index, duplicate=duplicate)
        return 1

    def send_all(self, on_progress: Callable[[float], None]) -> None:
        work = iter(self.change_order())
        claimed: set[int] = set()  # customers whose create a sender has taken

        def sender() -> None:
            while not self._stop.is_set():
                self._room.wait()
                with self._lock:
                    index = next(work, None)
                    # Once the changes are made, only the customers not created yet are still saved.
                    while index is not None and self._sent >= self.plan.changes and index in claimed:
                        index = next(work, None)
                    if index is None:
                        return
                    is_create = index not in claimed
                    claimed.add(index)
                # An update drawn while another sender still makes the create waits for it (it needs the Id).
                while not is_create and index not in self.customer_ids:
                    time.sleep(0.05)
                made = self.send_one(index)
                with self._lock:
                    self._sent += made
                    sent = self._sent
                on_progress(sent / self.plan.changes)

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(self.plan.senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def keep_queue_short(self) -> None:
        """The senders wait while more than `max_queued` changes are queued."""
        while not self._stop.is_set():
            depth = self.stack.queue_depth("CustomerChangesQueue")
            if depth > self.plan.max_queued:
                self._room.clear()
            else:
                self._room.set()
            self._stop.wait(0.5)
        self._room.set()

    def redeliver_late_duplicates(self, *, all_now: bool = False) -> None:
        """PaySimple's redelivery of an event already delivered: the same body and signature again."""
        while not self._stop.is_set() or all_now:
            now = time.monotonic()
            with self._lock:
                due = [late for late in self.deliveries.late if all_now or late[0] <= now]
                self.deliveries.late = [late for late in self.deliveries.late if late not in due]
            for _, delivery, saved_at in due:
                response = requests.post(
                    self.stack.gateway_url + "/webhooks/paysimple",
                    data=delivery["body"].encode(),
                    headers={"Content-Type": "application/json", SIGNATURE_HEADER: delivery["signature"]},
                    timeout=10,
                )
                with self._lock:
                    self.deliveries.redelivered_later += 1
                    if time.monotonic() - saved_at > 300:
                        self.deliveries.redelivered_after_dedup_window += 1
                    if response.status_code != 202:
                        self.deliveries.refused.append(f"redelivery: {response.status_code}")
            if all_now:
                return
            self._stop.wait(1.0)

    # --- faults -------------------------------------------------------------------------------------------

    def fault_schedule(self) -> list[tuple[float, str, Callable[[], None]]]:
        """(share of the changes sent, what, action), in order."""
        plan = self.plan
        per_round = max(1, plan.server_errors // 3)
        schedule: list[tuple[float, str, Callable[[], None]]] = []
        for share, status in ((0.05, 500), (0.45, 502), (0.75, 503)):
            schedule.append((share, f"QBO {status} x{per_round}", self._server_errors(status, per_round)))
        for n in range(plan.throttles):
            schedule.append((0.12 + 0.5 * n / max(1, plan.throttles), "QBO 429", self._inject(429)))
        for n in range(plan.timeouts):
            applied = n % 2 == 0
            what = "timeout after the save" if applied else "timeout, nothing saved"
            schedule.append((0.08 + 0.6 * n / max(1, plan.timeouts), what, self._timeout(applied)))
        for n in range(plan.saved_then_504):
            schedule.append(
                (0.1 + 0.6 * n / max(1, plan.saved_then_504), "504 after the save", self._saved_504())
            )
        for n in range(plan.token_expiries):
            share = 0.15 + 0.7 * n / max(1, plan.token_expiries)
            schedule.append((share, "access tokens expired", self._expire_tokens))
        schedule.append((plan.outage_at, f"QBO outage for {plan.outage_seconds:.0f} s", self._outage))
        for n in range(plan.crashes):
            share = 0.1 + 0.7 * n / max(1, plan.crashes)
            schedule.append((share, "crash armed", self._arm_crash(update=n % 2 == 1)))
        return sorted(schedule, key=lambda step: step[0])

    def _realm(self) -> str:
        return self.random.choice(self.merchants)[1]

    def _inject(self, status: int) -> Callable[[], None]:
        def inject() -> None:
            self.qbo.inject_fault(realm_id=self._realm(), status=status)
            self.faults.injected[f"QBO {status}"] += 1

        return inject

    def _server_errors(self, status: int, count: int) -> Callable[[], None]:
        def inject() -> None:
            for _ in range(count):
                self.qbo.inject_fault(realm_id=self._realm(), status=status)
            self.faults.injected[f"QBO {status}"] += count

        return inject

    def _timeout(self, applied: bool) -> Callable[[], None]:
        def inject() -> None:
            operation = self.random.choice(["create", "update"]) if applied else None
            self.qbo.inject_fault(
                realm_id=self._realm(),
                operation=operation,
                status=504,
                latency_ms=TIMEOUT_LATENCY_MS,
                applied=applied,
            )
            self.faults.injected["timeout after the save" if applied else "timeout, nothing saved"] += 1

        return inject

    def _saved_504(self) -> Callable[[], None]:
        def inject() -> None:
            operation = self.random.choice(["create", "update"])
            self.qbo.inject_fault(realm_id=self._realm(), operation=operation, status=504, applied=True)
            self.faults.injected["504 after the save"] += 1

        return inject

    def _expire_tokens(self) -> None:
        for _, realm_id in self.merchants:
            self.qbo.expire_access_tokens(realm_id)
        self.faults.injected["access tokens expired (all companies)"] += 1

    def _outage(self) -> None:
        def outage() -> None:
            # Every company, every call; the rule ends by itself, leaving the other faults in place.
            self.qbo.inject_fault(status=503, count=10**9, seconds=self.plan.outage_seconds)
            self.faults.outage_began = time.monotonic()
            time.sleep(self.plan.outage_seconds)
            self.faults.outage_ended = time.monotonic()

        self.faults.injected["QBO outage"] += 1
        threading.Thread(target=outage, name="qbo-outage", daemon=True).start()

    def _arm_crash(self, *, update: bool) -> Callable[[], None]:
        def arm() -> None:
            with self._lock:
                created = sorted(self.customer_ids)
                total = len(self.customer_ids)
            if update and created:
                index = self.random.choice(created)
                operation = "update"
            else:
                # A customer not created yet: its create is the write that dies.
                index = min(self.plan.customers - 1, total + self.plan.senders + self.random.randrange(20))
                operation = "create"
            realm_id = self.merchants[index % len(self.merchants)][1]
            self.crash.arm(realm_id, self.display_name(index), operation)
            self.faults.injected[f"crash after a QBO {operation}"] += 1

        return arm

    # --- the run ------------------------------------------------------------------------------------------

    def onboard(self) -> None:
        for _ in range(self.plan.merchants):
            self.merchants.append(self.bench.onboard())

    def run(self) -> dict[str, Any]:
        """Onboard, send with faults, drain; the figures of the run (the checks come after)."""
        self.onboard()
        schedule = self.fault_schedule()
        schedule_lock = threading.Lock()
        began = time.monotonic()

        def on_progress(share: float) -> None:
            while True:
                with schedule_lock:
                    if not schedule or schedule[0][0] > share:
                        return
                    _, what, action = schedule.pop(0)
                self.say(f"  {share:6.1%} sent, {time.monotonic() - began:5.0f} s: {what}")
                action()

        helpers = [
            threading.Thread(target=self.keep_queue_short, name="queue-depth", daemon=True),
            threading.Thread(target=self.redeliver_late_duplicates, name="redeliveries", daemon=True),
        ]
        for helper in helpers:
            helper.start()
        self.send_all(on_progress)
        on_progress(1.0)
        sent_seconds = time.monotonic() - began
        self.say(
            f"  all {self.deliveries.saves} saves made in {sent_seconds:.0f} s; waiting for the outage to end"
        )
        while self.faults.outage_began is not None and self.faults.outage_ended is None:
            time.sleep(0.5)
        self._stop.set()
        for helper in helpers:
            helper.join()
        self.redeliver_late_duplicates(all_now=True)
        time.sleep(self.plan.reorder_hold_seconds + 1)  # the held-back webhooks go out
        redelivered = self.paysimple.redeliver_failed()  # PaySimple's hourly retry of anything not 2xx
        self.say(f"  draining the queue ({self.stack.queue_depth('CustomerChangesQueue')} queued)")
        drain_began = time.monotonic()
        drained = self.stack.wait_until_drained(
            timeout_seconds=self.plan.drain_timeout_seconds, poll_seconds=1.0
        )
        self.say(f"  drained in {time.monotonic() - drain_began:.0f} s")
        return {
            "sending_seconds": round(sent_seconds, 1),
            "total_seconds": round(time.monotonic() - began, 1),
            "drained": drained,
            "paysimple_redelivered_failed": len(redelivered),
        }


# --- the checks -------------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


def _scan_table(dynamodb: Any, table_name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table_name}
    while True:
        page = dynamodb.scan(**request)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _plain(value: Any) -> Any:
    """A DynamoDB attribute value as plain JSON."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, inner),) = value.items()
        if kind in ("S", "N", "BOOL"):
            return inner
        if kind == "NULL":
            return None
        if kind == "M":
            return {key: _plain(part) for key, part in inner.items()}
        if kind == "L":
            return [_plain(part) for part in inner]
        if kind in ("SS", "NS"):
            return list(inner)
    return value


def _item(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(value) for key, value in raw.items()}


def qbo_value_matches(expected: Any, held: Any) -> bool:
    """A payload value against what QBO holds: empty text matches an absent field, wrapped values and
    addresses part by part."""
    if isinstance(expected, dict):
        held_parts = held if isinstance(held, dict) else {}
        return all(_same_text(part, held_parts.get(part), value) for part, value in expected.items())
    return _same_text("", held, expected)


def _same_text(part: str, held: Any, expected: Any) -> bool:
    if part == "Country":  # QBO may store "USA" for "US"
        return canonical_country(held or "") == canonical_country(expected or "")
    return (held or "") == (expected or "")


class SoakChecks:
    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        stack = soak.stack
        self.dynamodb = boto3.session.Session().client(
            "dynamodb", endpoint_url=stack.moto.url, region_name="us-east-1"
        )
        assert stack.resources is not None
        self.refs = stack.resources.resolver.refs
        self.queued_messages = 0

    def table(self, logical_id: str) -> list[dict[str, Any]]:
        return [_item(raw) for raw in _scan_table(self.dynamodb, self.refs[logical_id])]

    def run(self) -> list[Check]:
        links = self.table("LinksTable")
        history = self.table("HistoryTable")
        checks: list[Check] = []
        for check in (
            lambda: [self.qbo_equals_paysimple(links)],
            lambda: self.no_duplicates(links),
            lambda: [self.no_change_lost(history)],
            lambda: [self.dlq_empty()],
            lambda: [self.nothing_leaks()],
        ):
            began = time.monotonic()
            done = check()
            self.soak.say(f"  {done[0].name}: {time.monotonic() - began:.1f} s")
            checks += done
        return checks

    # The enabled fields in QBO equal PaySimple's latest state.
    def qbo_equals_paysimple(self, links: list[dict[str, Any]]) -> Check:
        soak = self.soak
        by_customer = {
            (item["pk"].split("#", 1)[1], item["sk"][3:]): item
            for item in links
            if item["sk"].startswith("PS#")
        }
        qbo_by_realm = {realm: {c["Id"]: c for c in soak.qbo.customers(realm)} for _, realm in soak.merchants}
        realm_of = dict(soak.merchants)
        mapping = default_mapping()
        wrong: list[str] = []
        for merchant_id, paysimple_id in soak.customer_ids.values():
            record = soak.paysimple.get_customer(merchant_id, paysimple_id)
            link = by_customer.get((merchant_id, str(paysimple_id)))
            label = f"{merchant_id}/{paysimple_id}"
            if record is None or link is None or link.get("status") != "linked":
                wrong.append(f"{label}: link {None if link is None else link.get('status')}")
                continue
            qbo_customer = qbo_by_realm[realm_of[merchant_id]].get(str(link.get("qbo_customer_id")))
            if qbo_customer is None:
                wrong.append(f"{label}: linked QBO customer {link.get('qbo_customer_id')} missing")
                continue
            scrubbed, _ = scrub_customer(PaySimpleCustomer.model_validate(record))
            expected = build_qbo_payload(scrubbed, mapping)
            differing = [
                name
                for name, value in expected.fields.items()
                if not qbo_value_matches(value, qbo_customer.get(name))
            ]
            if differing:
                wrong.append(f"{label}: {', '.join(differing)} differ")
        total = len(soak.customer_ids)
        return Check(
            "QBO holds PaySimple's latest state (enabled fields)",
            not wrong,
            f"{total - len(wrong)}/{total} customers match" + (f"; first: {wrong[:5]}" if wrong else ""),
        )

    # 0 duplicate QBO customers: by normalized name, and by link.
    def no_duplicates(self, links: list[dict[str, Any]]) -> list[Check]:
        soak = self.soak
        by_name: list[str] = []
        unlinked: list[str] = []
        shared: list[str] = []
        for merchant_id, realm_id in soak.merchants:
            customers = soak.qbo.customers(realm_id)
            names = Counter(name_key(c["DisplayName"]) for c in customers)
            by_name += [f"{realm_id}: {name!r} x{n}" for name, n in names.items() if n > 1]
            linked = Counter(
                str(item.get("qbo_customer_id"))
                for item in links
                if item["pk"] == f"MERCHANT#{merchant_id}" and item["sk"].startswith("PS#")
            )
            shared += [f"{realm_id}: QBO {qbo_id} x{n}" for qbo_id, n in linked.items() if n > 1]
            unlinked += [f"{realm_id}: {c['DisplayName']!r}" for c in customers if c["Id"] not in linked]
        qbo_total = sum(len(soak.qbo.customers(realm)) for _, realm in soak.merchants)
        return [
            Check(
                "0 duplicate QBO customers by normalized name",
                not by_name,
                f"{qbo_total} QBO customers for {len(soak.customer_ids)} PaySimple customers"
                + (f"; {by_name[:5]}" if by_name else ""),
            ),
            Check(
                "0 duplicate QBO customers by link (each linked once, none left unlinked)",
                not shared and not unlinked,
                f"shared {len(shared)}, unlinked {len(unlinked)}"
                + (f"; {(shared + unlinked)[:5]}" if shared or unlinked else ""),
            ),
        ]

    # 0 changes lost: every event PaySimple sent was accepted and the sync finished it.
    def no_change_lost(self, history: list[dict[str, Any]]) -> Check:
        soak = self.soak
        actions: dict[str, set[str]] = {}
        for item in history:
            if "event_id" in item and "action" in item:
                actions.setdefault(item["event_id"], set()).add(item["action"])
        events: dict[str, bool] = {}
        for merchant_id, _ in soak.merchants:
            for delivery in soak.paysimple.webhook_deliveries(merchant_id):
                if delivery["event_type"].startswith("customer_"):
                    events[delivery["event_id"]] = (
                        events.get(delivery["event_id"], False) or delivery["delivered"]
                    )
        undelivered = [event for event, delivered in events.items() if not delivered]
        unfinished = [event for event in events if not actions.get(event, set()) & _DONE]
        failed = [event for event in events if actions.get(event, set()) & _DONE_WITH_FAILURE]
        outcome = Counter(action for event in events for action in actions.get(event, {"(none)"}))
        return Check(
            "0 changes lost (every event accepted and finished by the sync)",
            not undelivered and not unfinished and not failed and len(events) == soak.deliveries.saves,
            f"{len(events)} events for {soak.deliveries.saves} saves; not accepted {len(undelivered)}, "
            f"not finished {len(unfinished)}, parked or failed {len(failed)}; "
            f"outcomes {dict(sorted(outcome.items()))}"
            + (
                f"; first: {(undelivered + unfinished + failed)[:5]}"
                if undelivered or unfinished or failed
                else ""
            ),
        )

    def dlq_empty(self) -> Check:
        soak = self.soak
        depth = soak.stack.queue_depth("CustomerChangesDLQ")
        listed = [soak.bench.failures(merchant_id) for merchant_id, _ in soak.merchants]
        dead = sum(d for d, _ in listed)
        parked = sum(p for _, p in listed)
        return Check(
            "the DLQ is empty and nothing is parked",
            depth == 0 and dead == 0 and parked == 0,
            f"DLQ depth {depth}; admin API: {dead} dead letters, {parked} parked",
        )

    # Nothing planted leaks: logs, every table, every message ever queued, QBO's store.
    def places(self) -> dict[str, str]:
        soak = self.soak
        places: dict[str, str] = {}
        log_dir = soak.stack.settings.log_dir
        for logical_id in soak.stack.pools:
            path = log_dir / f"{logical_id}.log"
            if path.exists():
                places[f"log {path.name}"] = path.read_text(errors="replace")
        for table_name in self.dynamodb.list_tables()["TableNames"]:
            items = [_item(raw) for raw in _scan_table(self.dynamodb, table_name)]
            places[f"table {table_name}"] = json.dumps(items)
        # moto keeps every SQS message ever sent (its model tracker): the queues' whole history.
        model_data = requests.get(soak.stack.moto.url + "/moto-api/data.json", timeout=120).json()
        messages = model_data.get("sqs", {}).get("Message", [])
        self.queued_messages = len(messages)
        places["every message queued"] = json.dumps(
            [{"body": m.get("body"), "attributes": m.get("message_attributes")} for m in messages]
        )
        assert soak.stack.qbo_emulator is not None
        state = soak.stack.qbo_emulator.state
        for _, realm_id in soak.merchants:
            store = {
                "customers": soak.qbo.customers(realm_id),
                "calls": soak.qbo.calls(realm_id),
            }
            places[f"QBO store {realm_id}"] = json.dumps(store)
            with state.lock:
                replies = state._realm(realm_id).replies  # the answers it replays
                places[f"QBO stored replies {realm_id}"] = "\n".join(
                    r.body.decode(errors="replace") for r in replies.values()
                )
        return places

    def secrets(self) -> dict[str, str]:
        """Known secret values: each merchant's PaySimple API key and webhook signing key, every QBO token
        issued, the QBO app's client secret."""
        soak = self.soak
        assert soak.stack.paysimple_emulator is not None and soak.stack.qbo_emulator is not None
        found: dict[str, str] = {}
        for merchant_id, realm_id in soak.merchants:
            merchant = soak.stack.paysimple_emulator.state.merchant(merchant_id)
            assert merchant is not None
            found[f"PaySimple API key of {merchant_id}"] = merchant.api_key
            found[f"webhook signing key of {merchant_id}"] = merchant.webhook_signing_key
            for n, token in enumerate(soak.stack.qbo_emulator.state.tokens_of(realm_id)):
                found[f"QBO token {n} of {realm_id}"] = token
        found["QBO client secret"] = soak.stack.qbo_emulator.state.settings.client_secret
        return found

    def nothing_leaks(self) -> Check:
        places = self.places()
        numbers = leaks_by_place(places, PAYSIMPLE_PLANTED)
        secrets = self.secrets()
        secret_leaks = {
            place: sorted(label for label, value in secrets.items() if value and value in text)
            for place, text in places.items()
        }
        secret_leaks = {place: labels for place, labels in secret_leaks.items() if labels}
        # Every accepted webhook queued a message: fewer means moto no longer keeps them, and the search of
        # the queues would be empty.
        queues_searched = self.queued_messages >= self.soak.deliveries.saves
        return Check(
            "nothing planted leaks (card/bank numbers, secrets, tokens)",
            not numbers and not secret_leaks and queues_searched,
            f"searched {len(places)} places ({sum(len(t) for t in places.values()) // 1024} KiB, "
            f"{self.queued_messages} messages ever queued) for "
            f"{len(PAYSIMPLE_PLANTED)} numbers and {len(secrets)} secrets"
            + (f"; numbers: {numbers}" if numbers else "")
            + (f"; secrets: {secret_leaks}" if secret_leaks else ""),
        )


def qbo_answers(soak: Soak) -> dict[str, int]:
    """What QBO answered, by operation and status, over the whole run (every company)."""
    answered: Counter[str] = Counter()
    for _, realm_id in soak.merchants:
        answered.update(f"{call['operation']} {call['status']}" for call in soak.qbo.calls(realm_id))
    return dict(sorted(answered.items()))


def summary(soak: Soak, figures: dict[str, Any], checks: Iterable[Check]) -> dict[str, Any]:
    deliveries = soak.deliveries
    return {
        **figures,
        "plan": vars(soak.plan),
        "merchants": len(soak.merchants),
        "customers": len(soak.customer_ids),
        "saves": deliveries.saves,
        "creates": deliveries.creates,
        "updates": deliveries.updates,
        "webhooks": {
            "duplicated_at_once": deliveries.duplicated_at_once,
            "redelivered_later": deliveries.redelivered_later,
            "redelivered_after_dedup_window": deliveries.redelivered_after_dedup_window,
            "reordered": deliveries.reordered,
            "refused": deliveries.refused[:20],
        },
        "faults_injected": dict(soak.faults.injected),
        "crashes": {
            "crashed": soak.crash.crashed,
            "not_reached": soak.crash.missed,
            "still_armed": soak.crash.armed,
        },
        "qbo_answers": qbo_answers(soak),
        "checks": [vars(check) for check in checks],
    }
