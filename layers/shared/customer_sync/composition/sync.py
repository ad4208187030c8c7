"""SyncFunction's objects: the sync service over DynamoDB, Secrets Manager and the per-merchant API clients
(whose QBO calls draw on the company's request budget at the sync's priority, each made once: a failure
hands the change back to SQS), and the batch that runs it one record at a time."""

from __future__ import annotations

import time
from dataclasses import dataclass

from customer_sync.adapters.aws_session import aws_client
from customer_sync.adapters.clock import SystemClock
from customer_sync.adapters.dynamodb_realms import DynamoDbNameVariants
from customer_sync.adapters.dynamodb_settings import DynamoDbSyncConfigs
from customer_sync.adapters.dynamodb_sync_journal import DynamoDbSyncJournal
from customer_sync.adapters.merchant_clients import MerchantClientFactory, QboRetryPolicy
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.adapters.sqs_hand_backs import SqsChangeHandBacks
from customer_sync.composition.cache import built_once
from customer_sync.composition.shared import build_merchant_clients, build_qbo_budget, build_repositories
from customer_sync.config import load_settings
from customer_sync.config.sync import SyncSettings
from customer_sync.domain.sync.retry_delay import RetryDelays
from customer_sync.domain.sync.service import SyncService
from customer_sync.handlers.sync_batch import SyncBatch

# Each QBO call once: the queue's redelivery, with its growing wait, is the retry. A request may wait up to a
# second for its turn in the company's budget (one invocation at a time per company), so a change that
# needs a few calls in a row finishes, and a throttled company's changes are served at the budget's pace.
SYNC_QBO_RETRY = QboRetryPolicy(max_attempts=1, budget_patience_seconds=1.0)


@dataclass(frozen=True)
class SyncComponents:
    settings: SyncSettings
    service: SyncService
    clients: MerchantClientFactory
    batch: SyncBatch


@built_once
def sync_components() -> SyncComponents:
    settings = load_settings(SyncSettings)
    clock = SystemClock()
    dynamodb = aws_client("dynamodb")
    repositories = build_repositories(settings, dynamodb=dynamodb, clock=clock)
    budget = build_qbo_budget(
        settings, priority="sync", dynamodb=dynamodb, waiters=settings.qbo_budget_waiters
    )
    clients = build_merchant_clients(
        settings,
        secrets=SecretsStore(default_max_age_seconds=settings.secrets_cache_seconds),
        clock=clock,
        retry=SYNC_QBO_RETRY,
        budget=budget,
        dynamodb=dynamodb,
    )
    journal = DynamoDbSyncJournal(
        links=repositories.links,
        history_table_name=settings.history_table_name,
        settings_table_name=settings.settings_table_name,
        idempotency_table_name=settings.idempotency_table_name,
        epoch_clock=time.time,
        client=dynamodb,
    )
    service = SyncService(
        configs=DynamoDbSyncConfigs(settings.settings_table_name, client=dynamodb),
        links=repositories.links,
        history=repositories.history,
        failures=repositories.failures,
        journal=journal,
        clients=clients,
        variants=DynamoDbNameVariants(settings.settings_table_name, client=dynamodb),
        clock=clock,
    )
    batch = SyncBatch(
        service,
        hand_backs=SqsChangeHandBacks(settings.changes_queue_url, settings.changes_dlq_url),
        budget=budget,
        retry_delays=RetryDelays(settings.retry_delay_first_seconds, settings.retry_delay_max_seconds),
        record_margin_seconds=settings.record_margin,
    )
    return SyncComponents(settings=settings, service=service, clients=clients, batch=batch)
