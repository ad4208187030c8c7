"""Sync-engine overhead: how many changes per second one core gets through when QBO answers at once.

Two measurements, both on one pinned core:

- `handler`: SyncFunction's real handler (batch processor, idempotency, adapters, boto3) over pre-built SQS
  events of pre-enqueued changes, in this process, with AWS as moto in-process (no HTTP) and the QBO and
  PaySimple emulators on threads of this process, zero latency. Everything it needs competes for the same
  core, so the figure is the whole stack's CPU cost per change, not only the engine's.
- `engine`: `SyncService.process` alone, with the in-memory repositories and fake clients of tests/fakes:
  the domain's own cost per change.

Run as `python -m bench.sync_engine --changes 1000 --out result.json [--profile profile.txt]`; the
benchmark (bench/run_bench.py) does, with the handler's log lines going to a file.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from emulators.paysimple import PaySimpleEmulator, PaySimpleEmulatorControl
from emulators.qbo.control import QboEmulatorControl
from emulators.qbo.server import QboEmulator
from tests.support.aws_calls import counting_aws_calls
from tests.support.emulators import UNLIMITED_QBO_BUDGET

MERCHANT_ID = "4242"
REALM_ID = "9130350000004242"
BATCH_SIZE = 10
NO_RATE_LIMIT = 10**9


def pin_to_one_core() -> int:
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


# -- the real handler -----------------------------------------------------------------------------------


class HandlerBench:
    """Everything SyncFunction needs, in this process. Built inside moto's mock (see `run_handler_bench`)."""

    def __init__(self, qbo: QboEmulator, paysimple: PaySimpleEmulator) -> None:
        from local.api_routes import api_routes
        from local.bootstrap import create_local_resources
        from local.gateway import Gateway

        self.qbo_emulator, self.paysimple_emulator = qbo, paysimple
        self.qbo = QboEmulatorControl(qbo.base_url)
        self.paysimple = PaySimpleEmulatorControl(paysimple.base_url)
        redirect_uri = "http://127.0.0.1:3000/oauth/qbo/callback"
        qbo.state.register_redirect_uri(redirect_uri)  # as the app's owner does on Intuit's Keys & OAuth page
        app_secret = {
            "client_id": qbo.state.settings.client_id,
            "client_secret": qbo.state.settings.client_secret,
            "redirect_uri": redirect_uri,
        }
        resources = create_local_resources(
            parameters={
                "QboApiBaseUrl": qbo.base_url,
                "QboTokenUrl": qbo.token_url,
                "QboAuthorizeUrl": qbo.authorize_url,
                "PaySimpleApiBaseUrl": paysimple.base_url,
            },
            secret_values={"QboAppSecret": json.dumps(app_secret)},
        )
        # Lambda sets the environment before the handler is imported; so do we.
        os.environ.update(resources.function_environment("SyncFunction"))
        os.environ.update(resources.function_environment("AdminFunction"))
        # QBO answers at once and without limits here; so does the request budget (this measures our cost).
        os.environ.update(UNLIMITED_QBO_BUDGET)
        # The Metrics singleton was made when this process first imported customer_sync (the engine bench),
        # before the environment above: give it the namespace Lambda's environment would have.
        from customer_sync.observability import metrics

        metrics.namespace = os.environ["POWERTOOLS_METRICS_NAMESPACE"]
        from functions.admin.app import lambda_handler as admin_handler
        from functions.sync.app import lambda_handler as sync_handler

        self.sync_handler = sync_handler
        self.admin_token = secrets.token_urlsafe(16)
        self.gateway = Gateway(
            api_routes(resources.template), self._invoke_admin(admin_handler), admin_token=self.admin_token
        )
        self.queue_arn = resources.resolver.attributes[("CustomerChangesQueue", "Arn")]

    @staticmethod
    def _invoke_admin(handler: Callable[[dict[str, Any], Any], Any]) -> Callable[[str, dict[str, Any]], Any]:
        from local.invoker import InvocationResult

        def invoke(logical_id: str, event: dict[str, Any]) -> InvocationResult:
            payload = handler(event, context("AdminFunction"))
            return InvocationResult("request", payload, None, 0.0, 0)

        return invoke

    def admin(self, method: str, target: str, body: Any = None) -> Any:
        from local.apigw_events import HttpRequest

        parts = urlsplit(target)
        headers = [("Authorization", f"Bearer {self.admin_token}"), ("Content-Type", "application/json")]
        request = HttpRequest(
            method=method,
            path=parts.path,
            headers=headers,
            query=parse_qsl(parts.query, keep_blank_values=True),
            body=json.dumps(body).encode() if body is not None else b"",
            source_ip="127.0.0.1",
            host="127.0.0.1:3000",
        )
        response, _ = self.gateway.handle(request, str(uuid.uuid4()))
        if response.status >= 300:
            raise RuntimeError(f"{method} {target}: {response.status} {response.body[:300]!r}")
        return json.loads(response.body) if response.body else None

    def onboard(self) -> None:
        """The admin API's onboarding, as `make run` does it, but by calling the handler directly."""
        self.qbo.create_realm(REALM_ID)
        self.qbo.set_consent_realm(REALM_ID)
        api_username, api_key = f"bench-{MERCHANT_ID}", secrets.token_urlsafe(16)
        self.paysimple.add_merchant(MERCHANT_ID, api_username, api_key, "bench-signing-key")
        credentials = {"api_username": api_username, "api_key": api_key, "webhook_signing_key": "bench-key"}
        self.admin("PUT", f"/admin/merchants/{MERCHANT_ID}", {"paysimple": credentials})
        authorize_url = self.admin("GET", f"/admin/merchants/{MERCHANT_ID}/qbo/connect")["authorize_url"]
        callback = urlsplit(
            requests.get(authorize_url, allow_redirects=False, timeout=10).headers["Location"]
        )
        self.admin("GET", f"{callback.path}?{callback.query}")
        self.admin("PUT", f"/admin/merchants/{MERCHANT_ID}/settings", {"sync_enabled": True})

    def save_customers(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        saved = [self.paysimple.save_customer(MERCHANT_ID, record, send_webhook=False) for record in records]
        return [item["customer"] for item in saved]

    def events(
        self, customers: list[dict[str, Any]], event_type: str, batch_size: int = BATCH_SIZE
    ) -> list[dict[str, Any]]:
        """The SQS events Lambda would build from the changes IngestFunction enqueued, 10 per batch."""
        occurred_at = datetime.now(UTC).isoformat()
        records: list[dict[str, Any]] = []
        for customer in customers:
            event_id = f"evt_{secrets.token_hex(12)}"
            body = {
                "merchant_id": MERCHANT_ID,
                "customer_id": str(customer["Id"]),
                "event_type": event_type,
                "event_id": event_id,
                "occurred_at": occurred_at,
            }
            records.append(
                {
                    "messageId": str(uuid.uuid4()),
                    "receiptHandle": secrets.token_urlsafe(32),
                    "body": json.dumps(body),
                    "attributes": {
                        "ApproximateReceiveCount": "1",
                        "SentTimestamp": str(int(time.time() * 1000)),
                        "MessageGroupId": f"{MERCHANT_ID}:{customer['Id']}",
                        "MessageDeduplicationId": event_id,
                        "SequenceNumber": str(len(records)),
                    },
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": "us-east-1",
                }
            )
        return [
            {"Records": records[start : start + batch_size]} for start in range(0, len(records), batch_size)
        ]

    def run_phase(
        self, name: str, events: list[dict[str, Any]], profiler: cProfile.Profile | None
    ) -> dict[str, Any]:
        self.qbo.clear_calls(REALM_ID)
        changes = sum(len(event["Records"]) for event in events)
        failed = 0
        with counting_aws_calls() as aws_calls:
            wall, cpu = time.perf_counter(), time.process_time()
            for event in events:
                if profiler is not None:
                    profiler.enable()
                result = self.sync_handler(event, context("SyncFunction"))
                if profiler is not None:
                    profiler.disable()
                failed += len(result.get("batchItemFailures", []))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        calls = Counter(str(call["operation"]) for call in self.qbo.calls(REALM_ID))
        return {
            "phase": name,
            "changes": changes,
            "failed": failed,
            "seconds": round(wall, 3),
            "cpu_seconds": round(cpu, 3),
            "changes_per_second": round(changes / wall, 1),
            "ms_per_change": round(wall * 1000 / changes, 2),
            "qbo_calls_per_change": {
                kind: round(count / changes, 3) for kind, count in sorted(calls.items())
            },
            "dynamodb_calls_per_change": round(aws_calls.of("dynamodb") / changes, 2),
            "aws_calls_per_change": {
                name: round(count / changes, 2) for name, count in sorted(aws_calls.items())
            },
        }


def context(function_name: str) -> Any:
    from local.function_worker import LocalLambdaContext

    deadline = int((time.time() + 900) * 1000)
    return LocalLambdaContext(function_name, 512, str(uuid.uuid4()), deadline)


@contextmanager
def _in_process_aws(patched_moto: bool) -> Iterator[None]:
    from moto import mock_aws

    from local.moto_patches import local_moto_patches

    fake = {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    os.environ.update(fake)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        if patched_moto:
            with local_moto_patches():
                yield
        else:
            yield


def run_handler_bench(
    changes: int, profile_path: Path | None, *, patched_moto: bool
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The timed phases, and (when profiled) the shares of the handler's time: moto, waiting, own code."""
    qbo = QboEmulator(
        rate_limit_per_minute=NO_RATE_LIMIT,
        rate_limit_per_second=None,
        batch_rate_limit_per_minute=NO_RATE_LIMIT,
    ).start()
    paysimple = PaySimpleEmulator().start()
    try:
        with _in_process_aws(patched_moto):
            bench = HandlerBench(qbo, paysimple)
            bench.onboard()
            warmup = bench.save_customers([_person(f"Warm{index}") for index in range(20)])
            bench.run_phase("warm-up", bench.events(warmup, "customer_created"), None)
            results = _three_phases(bench, "Customer", changes, None)
            # Changes delivered one per invocation: what one change costs when it shares nothing.
            results += _three_phases(bench, "Lone", 20, None, batch_size=1)
            shares: dict[str, float] = {}
            if profile_path is not None:
                # A separate pass: profiling slows everything down, so it never touches the timings above.
                profiler = cProfile.Profile()
                _three_phases(bench, "Profiled", max(50, changes // 4), profiler)
                report, shares = profile_report(profiler)
                profile_path.write_text(report)
            return results, shares
    finally:
        paysimple.stop()
        qbo.stop()


def _three_phases(
    bench: HandlerBench,
    prefix: str,
    changes: int,
    profiler: cProfile.Profile | None,
    *,
    batch_size: int = BATCH_SIZE,
) -> list[dict[str, Any]]:
    suffix = "" if batch_size == BATCH_SIZE else f", {batch_size} per invocation"
    customers = bench.save_customers([_person(f"{prefix}{index:05d}") for index in range(changes)])
    results = [
        bench.run_phase(f"create{suffix}", bench.events(customers, "customer_created", batch_size), profiler)
    ]
    changed = bench.save_customers(
        [{**customer, "Phone": f"555{index:07d}"} for index, customer in enumerate(customers)]
    )
    results.append(
        bench.run_phase(
            f"linked update{suffix}", bench.events(changed, "customer_updated", batch_size), profiler
        )
    )
    results.append(
        bench.run_phase(f"unchanged{suffix}", bench.events(changed, "customer_updated", batch_size), profiler)
    )
    return results


def _person(last_name: str) -> dict[str, Any]:
    return {"FirstName": "Bench", "LastName": last_name, "Email": f"{last_name.lower()}@bench.example"}


# -- the domain alone -----------------------------------------------------------------------------------


class PortTimer:
    """Times the calls the engine makes into its ports (the in-memory fakes), so their cost can be told
    apart from the engine's own: a fake is a test double, and some scan everything they hold."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._depth = 0

    def wrap(self, port: Any) -> Any:
        return _TimedPort(port, self)

    def timed_call(self, function: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        self._depth += 1
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.seconds += time.perf_counter() - began


class _TimedPort:
    def __init__(self, port: Any, timer: PortTimer) -> None:
        self._port = port
        self._timer = timer

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._port, name)
        if not callable(value):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            result = self._timer.timed_call(value, args, kwargs)
            # The per-merchant clients hand out more ports (PaySimple and QBO of one merchant).
            is_port = type(result).__module__.startswith("tests.fakes.")
            return self._timer.wrap(result) if is_port else result

        return timed


def run_engine_bench(changes: int) -> list[dict[str, Any]]:
    """SyncService with tests/fakes: no I/O at all. The time spent inside the fakes is measured and taken
    out, leaving the engine's own cost per change."""
    from customer_sync.domain.sync.service import SyncService
    from customer_sync.models.messages import CustomerChangeMessage
    from customer_sync.models.settings import SettingsChanges
    from tests.fakes.merchant_clients import FakeMerchantClients, SettableClock
    from tests.fakes.qbo_side import InMemoryNameVariants
    from tests.fakes.repositories import (
        InMemoryFailuresRepository,
        InMemoryHistoryRepository,
        InMemoryLinksRepository,
        InMemoryMappingRepository,
        InMemorySettingsRepository,
        InMemorySyncConfigs,
        InMemorySyncJournal,
    )

    enabled_at = datetime(2026, 1, 1, tzinfo=UTC)
    clock = SettableClock(enabled_at + timedelta(hours=1))
    settings = InMemorySettingsRepository()
    settings.update_settings(MERCHANT_ID, SettingsChanges(sync_enabled=True), now=enabled_at)
    clients = FakeMerchantClients()
    paysimple, qbo = clients.add_merchant(MERCHANT_ID)
    variants = InMemoryNameVariants()  # built (none): one name query per batch, as after the first sweep
    variants.replace(MERCHANT_ID, qbo.realm_id, [], built_at=enabled_at)
    ports = PortTimer()
    links, history, failures = (
        InMemoryLinksRepository(),
        InMemoryHistoryRepository(),
        InMemoryFailuresRepository(),
    )
    service = SyncService(
        configs=ports.wrap(InMemorySyncConfigs(settings, InMemoryMappingRepository(), variants)),
        links=ports.wrap(links),
        history=ports.wrap(history),
        failures=ports.wrap(failures),
        journal=ports.wrap(
            InMemorySyncJournal(links=links, history=history, failures=failures, settings=settings)
        ),
        clients=ports.wrap(clients),
        variants=ports.wrap(variants),
        clock=ports.wrap(clock),
    )
    results = []
    for phase, phone in (("create", None), ("linked update", "5550000000"), ("unchanged", "5550000000")):
        for index in range(changes):
            fields = _person(f"Customer{index:05d}") | ({"Phone": phone} if phone else {})
            paysimple.save(index + 1, **fields)
        messages = [
            CustomerChangeMessage(
                merchant_id=MERCHANT_ID,
                customer_id=str(index + 1),
                event_type="customer_updated",
                event_id=f"evt_{phase}_{index}",
                occurred_at=clock.advance(seconds=1),
            )
            for index in range(changes)
        ]
        calls_before, ports.seconds = qbo.calls_made, 0.0
        wall = time.perf_counter()
        for message in messages:
            service.process(message)
        wall = time.perf_counter() - wall
        engine = wall - ports.seconds
        results.append(
            {
                "phase": phase,
                "changes": changes,
                "seconds": round(wall, 3),
                "seconds_in_fakes": round(ports.seconds, 3),
                "changes_per_second": round(changes / engine, 1),
                "ms_per_change": round(engine * 1000 / changes, 3),
                "with_fakes_changes_per_second": round(changes / wall, 1),
                "qbo_calls_per_change": round((qbo.calls_made - calls_before) / changes, 3),
            }
        )
    return results


# -- profile --------------------------------------------------------------------------------------------

_BUCKETS = [
    ("customer_sync/domain", "customer_sync.domain (the engine)"),
    ("customer_sync/adapters", "customer_sync.adapters"),
    ("customer_sync/models", "customer_sync.models"),
    ("customer_sync/", "customer_sync (other)"),
    ("functions/", "functions (handlers)"),
    ("aws_lambda_powertools", "Powertools"),
    ("pydantic", "pydantic"),
    ("/moto/", "moto (AWS stand-in, in-process)"),
    ("botocore", "botocore"),
    ("boto3", "boto3"),
    ("emulators/", "QBO/PaySimple emulators"),
    ("werkzeug", "werkzeug (moto's request parsing)"),
    ("requests", "requests"),
    ("urllib3", "urllib3"),
    ("jmespath", "jmespath"),
]


def _bucket(filename: str) -> str:
    for marker, name in _BUCKETS:
        if marker in filename:
            return name
    if filename.startswith("~") or "<built-in" in filename or filename == "~":
        return "built-ins (C)"
    return "standard library / other"


# Where the handler's thread waits for another thread of this process (the emulators) or a socket.
_WAITS = ("recv_into", "connect", "sendall", "select", "poll", "acquire", "sleep")


def profile_report(profiler: cProfile.Profile) -> tuple[str, dict[str, float]]:
    """Where the handler's time goes: inside moto, waiting for the emulators, or SyncFunction's own code
    (engine, adapters, boto3/botocore client side, Powertools, pydantic); then own time per package and the
    top functions. cProfile sees only the handler's thread; the emulators' threads run while it waits.
    Returns the report and the three shares."""
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_bucket: dict[str, float] = defaultdict(float)
    total = inside_moto = waiting = 0.0
    for (filename, _line, name), (_cc, _nc, own, cumulative, _callers) in raw.items():
        by_bucket[_bucket(filename)] += own
        total += own
        if filename.endswith("botocore_stubber.py") and name == "process_request":
            inside_moto = max(inside_moto, cumulative)
        if filename == "~" and any(wait in name for wait in _WAITS):
            waiting += own
    own_code = total - inside_moto - waiting
    lines = [
        f"profiled time: {total:.2f} s (profiling slows everything; compare shares, not totals)",
        "",
        "where the handler's time goes:",
        f"  {inside_moto / total * 100:5.1f} %  inside moto (the in-process AWS stand-in)",
        f"  {waiting / total * 100:5.1f} %  waiting on sockets/locks (the emulators answering)",
        f"  {own_code / total * 100:5.1f} %  SyncFunction's own code, boto3/botocore client side included",
        "",
        "own time by package:",
    ]
    for name, seconds in sorted(by_bucket.items(), key=lambda item: -item[1]):
        lines.append(f"  {seconds / total * 100:5.1f} %  {name}")
    for order in ("tottime", "cumulative"):
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).strip_dirs().sort_stats(order).print_stats(30)
        lines += ["", f"top functions by {order}:", buffer.getvalue()]
    shares = {
        "inside_moto": round(inside_moto / total, 3),
        "waiting": round(waiting / total, 3),
        "own_code": round(own_code / total, 3),
    }
    return "\n".join(lines), shares


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument(
        "--moto-as-is",
        action="store_true",
        help="moto's own whole-table rollback copies (local/moto_patches.py)",
    )
    options = parser.parse_args(argv)
    core = pin_to_one_core()
    engine = run_engine_bench(options.changes)
    handler, shares = run_handler_bench(options.changes, options.profile, patched_moto=not options.moto_as_is)
    result = {"core": core, "engine": engine, "handler": handler, "handler_time_shares": shares}
    options.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
