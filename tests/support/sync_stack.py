"""SyncFunction under test: moto with template.yaml's resources, the QBO and PaySimple emulators over
loopback HTTP (started once per module), one onboarded merchant per test, and helpers to deliver changes
and to look at QBO, the tables and the logs.

tests/conftest.py registers this module as a plugin, so its fixtures (sync_stack, captured_output, log_text)
reach every test; the emulators they use come from tests/support/emulators.py.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import itertools
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from customer_sync.adapters.dynamodb_history import DynamoDbFailuresRepository, DynamoDbHistoryRepository
from customer_sync.adapters.dynamodb_links import DynamoDbLinksRepository
from customer_sync.adapters.dynamodb_realms import DynamoDbNameVariants
from customer_sync.adapters.dynamodb_settings import DynamoDbMappingRepository, DynamoDbSettingsRepository
from customer_sync.adapters.qbo_client import QboClient
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.composition.sync import sync_components
from customer_sync.config.shared import SecretNames
from customer_sync.domain.mapping import default_mapping
from customer_sync.models.history import HistoryEntry, ParkedFailure
from customer_sync.models.links import CustomerLink
from customer_sync.models.mapping import MappingRow
from customer_sync.models.messages import CustomerChangeMessage, CustomerEventType
from customer_sync.models.settings import SettingsChanges
from customer_sync.observability import logger as powertools_logger, metrics
from emulators.paysimple.control import PaySimpleEmulatorControl
from emulators.paysimple.server import PaySimpleEmulator
from emulators.qbo.control import QboEmulatorControl
from emulators.qbo.server import QboEmulator
from functions.qbo_cdc.app import lambda_handler as cdc_handler
from functions.sync import app as sync_app
from functions.sync.app import lambda_handler
from local.bootstrap import LocalStack
from tests.fakes.tokens import FixedTokens
from tests.support import emulators
from tests.support.lambda_context import LambdaContextStub
from tests.support.onboarding import OnboardedMerchant, onboard_merchant
from tests.support.sqs_events import sqs_event, sqs_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Short, so a timeout test is quick; every emulator answer comes back in milliseconds.
HTTP_TIMEOUT_SECONDS = 1.0
_merchant_numbers = itertools.count(int(uuid.uuid4().int % 10_000) * 1000)


@dataclass
class SyncStack:
    env: dict[str, str]
    merchant: OnboardedMerchant
    qbo: QboEmulatorControl
    paysimple: PaySimpleEmulatorControl

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        """One client for all the test's own reads (each new boto3 session costs a model load)."""
        return boto3.client("dynamodb")

    @property
    def merchant_id(self) -> str:
        return self.merchant.merchant_id

    @property
    def realm_id(self) -> str:
        return self.merchant.realm_id

    # -- PaySimple and the queue ---------------------------------------------------------------------------

    def save_customer(self, **fields: Any) -> int:
        """Create (no Id) or replace a PaySimple customer without sending its webhook; returns its id."""
        saved = self.paysimple.save_customer(self.merchant_id, fields, send_webhook=False)
        return int(saved["customer"]["Id"])

    def message(
        self,
        customer_id: int,
        *,
        event_type: CustomerEventType = "customer_updated",
        at: datetime | None = None,
        event_id: str | None = None,
        redrive_attempt: int = 0,
    ) -> CustomerChangeMessage:
        return CustomerChangeMessage(
            merchant_id=self.merchant_id,
            customer_id=str(customer_id),
            event_type=event_type,
            event_id=event_id or f"evt_{uuid.uuid4().hex[:24]}",
            occurred_at=at or datetime.now(UTC),
            redrive_attempt=redrive_attempt,
        )

    def deliver(
        self, *items: CustomerChangeMessage | dict[str, Any], context: LambdaContextStub | None = None
    ) -> dict[str, Any]:
        """Invoke the real handler with one SQS event holding these messages (or ready-made records)."""
        records = [item if isinstance(item, dict) else sqs_record(item) for item in items]
        response: dict[str, Any] = dict(lambda_handler(sqs_event(records), context or LambdaContextStub()))
        return response

    def sync(self, customer_id: int, **kwargs: Any) -> dict[str, Any]:
        return self.deliver(self.message(customer_id, **kwargs))

    def sweep_qbo(self) -> dict[str, Any]:
        """The daily CDC sweep (QboCdcFunction's real handler); what it did for this stack's company. Its
        first run builds the company's name variants (domain.name_variants)."""
        result = cdc_handler({}, LambdaContextStub(function_name="QboCdcFunction"))
        [company] = [entry for entry in result["companies"] if entry["realm_id"] == self.realm_id]
        return dict(company)

    @staticmethod
    def another_container() -> Callable[[dict[str, Any], LambdaContextStub], dict[str, Any]]:
        """SyncFunction's handler as another Lambda container runs it: functions/sync/app.py loaded afresh
        (its own batch processor) over objects of its own (composition), so two threads can invoke two
        containers at once, as Lambda does; one container never runs two invocations at once."""
        spec = importlib.util.spec_from_file_location(f"sync_app_{uuid.uuid4().hex}", sync_app.__file__)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        components = sync_components.__wrapped__()  # type: ignore[attr-defined]
        setattr(module, "sync_components", lambda: components)  # noqa: B010 (a module made at run time)
        handler: Callable[[dict[str, Any], LambdaContextStub], dict[str, Any]] = module.lambda_handler
        return handler

    # -- QBO ---------------------------------------------------------------------------------------------

    def qbo_calls(self) -> list[dict[str, Any]]:
        return self.qbo.calls(self.realm_id)

    def qbo_operations(self) -> list[str]:
        return [str(call["operation"]) for call in self.qbo_calls()]

    def clear_qbo_calls(self) -> None:
        self.qbo.clear_calls(self.realm_id)

    def qbo_customers(self) -> list[dict[str, Any]]:
        return self.qbo.customers(self.realm_id)

    def qbo_customer(self, qbo_id: str) -> dict[str, Any]:
        return next(c for c in self.qbo_customers() if c["Id"] == qbo_id)

    def seed_qbo_customer(self, **fields: Any) -> dict[str, Any]:
        return self.qbo.seed_customer(self.realm_id, **fields)

    def edit_in_qbo(self, qbo_id: str, **fields: Any) -> None:
        """Someone else changes the customer through the QBO API (its SyncToken moves on)."""
        names = SecretNames(secret_prefix=self.env["SECRET_PREFIX"])
        token = str(
            SecretsStore().get_json(names.qbo_connection(self.merchant_id), force_fetch=True)["access_token"]
        )
        client = QboClient(self.env["QBO_API_BASE_URL"], self.realm_id, FixedTokens(token), max_attempts=1)
        current = client.read_customer(qbo_id)
        client.sparse_update(qbo_id, current.SyncToken, fields)

    # -- our tables ----------------------------------------------------------------------------------------

    def link(self, customer_id: int) -> CustomerLink:
        link = DynamoDbLinksRepository(self.env["LINKS_TABLE_NAME"], client=self.dynamodb).get(
            self.merchant_id, str(customer_id)
        )
        assert link is not None, f"no link record for PaySimple customer {customer_id}"
        return link

    def history(self, customer_id: int) -> list[HistoryEntry]:
        repository = DynamoDbHistoryRepository(self.env["HISTORY_TABLE_NAME"], client=self.dynamodb)
        return repository.list_for_customer(self.merchant_id, str(customer_id), limit=100).items

    def actions(self, customer_id: int) -> list[str]:
        """History actions, oldest first."""
        return [entry.action for entry in reversed(self.history(customer_id))]

    def failures(self) -> list[ParkedFailure]:
        return (
            DynamoDbFailuresRepository(self.env["HISTORY_TABLE_NAME"], client=self.dynamodb)
            .list_failures(self.merchant_id)
            .items
        )

    def set_mapping(self, *, at: datetime | None = None, **enabled: bool) -> None:
        rows = [
            MappingRow(
                paysimple_field=row.paysimple_field,
                qbo_field=row.qbo_field,
                enabled=enabled.get(row.paysimple_field, row.enabled),
            )
            for row in default_mapping().rows
        ]
        DynamoDbMappingRepository(self.env["SETTINGS_TABLE_NAME"], client=self.dynamodb).save_mapping(
            self.merchant_id, rows, now=at or datetime.now(UTC)
        )

    def update_settings(self, changes: SettingsChanges) -> None:
        repository = DynamoDbSettingsRepository(self.env["SETTINGS_TABLE_NAME"], client=self.dynamodb)
        repository.update_settings(self.merchant_id, changes, now=datetime.now(UTC))

    def all_table_items(self) -> str:
        """Every item of every DynamoDB table, as one JSON text (to look for what must never be stored)."""
        client = self.dynamodb
        dump: dict[str, list[Any]] = {}
        for table in client.list_tables()["TableNames"]:
            dump[table] = [
                item
                for page in client.get_paginator("scan").paginate(TableName=table)
                for item in page["Items"]
            ]
        return json.dumps(dump, default=str)


@pytest.fixture
def just_connected_sync_stack(
    use_function_env: Callable[..., dict[str, str]],
    local_stack: LocalStack,
    qbo_emulator: QboEmulator,
    paysimple_emulator: PaySimpleEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> SyncStack:
    """A merchant just onboarded and connected to a QBO company of its own: nothing has looked its
    company's names up yet."""
    env = use_function_env(
        "SyncFunction",
        # The tests call AdminFunction's handler too (failures, redrive): its one variable of its own.
        USER_POOL_ID=local_stack.function_environment("AdminFunction")["USER_POOL_ID"],
        **emulators.emulator_urls(qbo_emulator, paysimple_emulator),
        HTTP_TIMEOUT_SECONDS=str(HTTP_TIMEOUT_SECONDS),
    )
    # Lambda sets the environment before the handler module is imported; pytest imports it first, so the
    # Metrics singleton has not seen POWERTOOLS_METRICS_NAMESPACE.
    monkeypatch.setattr(metrics, "namespace", env["POWERTOOLS_METRICS_NAMESPACE"])
    qbo = QboEmulatorControl(qbo_emulator.base_url)
    paysimple = PaySimpleEmulatorControl(paysimple_emulator.base_url)
    merchant = onboard_merchant(env, str(next(_merchant_numbers)), qbo=qbo, paysimple=paysimple)
    return SyncStack(env=env, merchant=merchant, qbo=qbo, paysimple=paysimple)


@pytest.fixture
def sync_stack(just_connected_sync_stack: SyncStack) -> SyncStack:
    """The same merchant in steady state: its company's name variants are built (it is empty: none), as
    its first name lookup or daily sweep builds them, so a test counts the calls of the change it makes
    and nothing else."""
    stack = just_connected_sync_stack
    DynamoDbNameVariants(stack.env["SETTINGS_TABLE_NAME"]).replace(
        stack.merchant_id, stack.realm_id, [], built_at=datetime.now(UTC)
    )
    return stack


class CapturedOutput:
    """What the application wrote: log lines (the Powertools handler's stream, bound at import, is swapped
    for this capture) and standard output (where metrics go, as CloudWatch embedded-metric JSON)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._logs = io.StringIO()
        self._printed = ""

    @property
    def log_stream(self) -> io.StringIO:
        return self._logs

    def text(self) -> str:
        """Every log line and everything printed so far, as one text."""
        self._printed += self._capsys.readouterr().out
        return self._logs.getvalue() + self._printed

    def clear(self) -> None:
        self.text()
        self._logs.seek(0)
        self._logs.truncate()
        self._printed = ""

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines, in order."""
        return [json.loads(line) for line in self._logs.getvalue().splitlines() if line.strip()]

    def metric_counts(self) -> dict[str, float]:
        """Each metric's total over every embedded-metric document printed so far."""
        self.text()
        totals: dict[str, float] = {}
        for line in self._printed.splitlines():
            document = json.loads(line) if line.startswith("{") else {}
            for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
                for metric in directive["Metrics"]:
                    name = metric["Name"]
                    values = document[name] if isinstance(document[name], list) else [document[name]]
                    totals[name] = totals.get(name, 0.0) + sum(values)
        return totals


@contextlib.contextmanager
def _capturing(capsys: pytest.CaptureFixture[str]) -> Iterator[CapturedOutput]:
    captured = CapturedOutput(capsys)
    handler = powertools_logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous_stream = handler.setStream(captured.log_stream)
    previous_level = powertools_logger.log_level
    powertools_logger.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        powertools_logger.setLevel(previous_level)
        handler.setStream(previous_stream)


@pytest.fixture
def captured_output(capsys: pytest.CaptureFixture[str]) -> Iterator[CapturedOutput]:
    """The application's logs (at DEBUG level) and metrics during the test."""
    with _capturing(capsys) as captured:
        yield captured


@pytest.fixture
def log_text(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Everything logged (at DEBUG level) and printed (metrics) during the test, as one text."""
    with _capturing(capsys) as captured:
        yield captured.text
