"""The objects of the functions that follow QBO: QboChangesFunction (webhook changes, behind Powertools
idempotency) and QboCdcFunction (the daily CDC sweep), both over one QboChangeService. Their QBO reads draw
on the company's request budget at the sync's priority (the admin's interactive calls go first)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from customer_sync.adapters.aws_session import aws_client
from customer_sync.adapters.clock import SystemClock
from customer_sync.adapters.dynamodb_realms import (
    DynamoDbCdcCheckpoints,
    DynamoDbNameVariants,
    DynamoDbRealmDirectory,
)
from customer_sync.adapters.merchant_clients import MerchantClientFactory, QboRetryPolicy
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.adapters.sqs import SqsChangePublisher
from customer_sync.composition.cache import built_once
from customer_sync.composition.shared import build_merchant_clients, build_qbo_budget, build_repositories
from customer_sync.config import load_settings
from customer_sync.config.qbo_follow import QboChangesSettings, QboFollowSettings
from customer_sync.domain.cdc_sweep import CdcSweep
from customer_sync.domain.qbo_changes import QboChangeService
from customer_sync.handlers.qbo_changes_batch import QboChangesBatch
from customer_sync.ports import Clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# A QBO change's reads are made once (SQS delivers the change again after a failure, the queue's visibility
# timeout later) and may wait a second for their turn in the budget, as the sync's do.
QBO_CHANGES_RETRY = QboRetryPolicy(max_attempts=1, budget_patience_seconds=1.0)
# The daily sweep has nobody to hand a failure back to until the next day: two tries of a 5xx, and up to
# 5 s for its turn in a busy company's budget.
CDC_SWEEP_RETRY = QboRetryPolicy(max_attempts=2, budget_patience_seconds=5.0)


@dataclass(frozen=True)
class QboChangesComponents:
    settings: QboChangesSettings
    service: QboChangeService
    batch: QboChangesBatch


@dataclass(frozen=True)
class QboCdcComponents:
    settings: QboFollowSettings
    sweep: CdcSweep


def build_qbo_change_service(
    settings: QboFollowSettings, *, dynamodb: DynamoDBClient, clock: Clock, retry: QboRetryPolicy
) -> tuple[QboChangeService, MerchantClientFactory]:
    repositories = build_repositories(settings, dynamodb=dynamodb, clock=clock)
    clients = build_merchant_clients(
        settings,
        secrets=SecretsStore(default_max_age_seconds=settings.secrets_cache_seconds),
        clock=clock,
        retry=retry,
        budget=build_qbo_budget(settings, priority="sync", dynamodb=dynamodb),
        dynamodb=dynamodb,
    )
    service = QboChangeService(
        realms=DynamoDbRealmDirectory(settings.settings_table_name, client=dynamodb),
        variants=DynamoDbNameVariants(settings.settings_table_name, client=dynamodb),
        links=repositories.links,
        history=repositories.history,
        failures=repositories.failures,
        publisher=SqsChangePublisher(settings.changes_queue_url),
        clients=clients,
        clock=clock,
    )
    return service, clients


@built_once
def qbo_changes_components() -> QboChangesComponents:
    settings = load_settings(QboChangesSettings)
    dynamodb = aws_client("dynamodb")
    service, _ = build_qbo_change_service(
        settings, dynamodb=dynamodb, clock=SystemClock(), retry=QBO_CHANGES_RETRY
    )
    batch = QboChangesBatch(
        service,
        idempotency_store=DynamoDBPersistenceLayer(
            table_name=settings.idempotency_table_name, boto3_client=dynamodb
        ),
    )
    return QboChangesComponents(settings=settings, service=service, batch=batch)


@built_once
def qbo_cdc_components() -> QboCdcComponents:
    settings = load_settings(QboFollowSettings)
    dynamodb = aws_client("dynamodb")
    clock = SystemClock()
    service, clients = build_qbo_change_service(
        settings, dynamodb=dynamodb, clock=clock, retry=CDC_SWEEP_RETRY
    )
    sweep = CdcSweep(
        realms=DynamoDbRealmDirectory(settings.settings_table_name, client=dynamodb),
        checkpoints=DynamoDbCdcCheckpoints(settings.settings_table_name, client=dynamodb),
        variants=DynamoDbNameVariants(settings.settings_table_name, client=dynamodb),
        clients=clients,
        changes=service,
        clock=clock,
    )
    return QboCdcComponents(settings=settings, sweep=sweep)
