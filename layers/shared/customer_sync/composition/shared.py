"""What more than one function builds: the repositories over one DynamoDB client, and the per-merchant API
clients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from customer_sync.adapters.dynamodb_connection import DynamoDbConnectionState
from customer_sync.adapters.dynamodb_history import DynamoDbFailuresRepository, DynamoDbHistoryRepository
from customer_sync.adapters.dynamodb_links import DynamoDbLinksRepository
from customer_sync.adapters.dynamodb_settings import (
    DynamoDbMappingRepository,
    DynamoDbOAuthStateRepository,
    DynamoDbSettingsRepository,
)
from customer_sync.adapters.merchant_clients import MerchantClientFactory, QboRetryPolicy
from customer_sync.adapters.qbo_budget import DynamoDbQboBudget
from customer_sync.config.clients import ClientSettings, QboBudgetSettings
from customer_sync.config.shared import TableNames
from customer_sync.domain.qbo_budget import BudgetPriority
from customer_sync.ports import Clock, SecretStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class Repositories:
    settings: DynamoDbSettingsRepository
    mappings: DynamoDbMappingRepository
    links: DynamoDbLinksRepository
    history: DynamoDbHistoryRepository
    failures: DynamoDbFailuresRepository
    oauth_states: DynamoDbOAuthStateRepository
    connection_state: DynamoDbConnectionState


def build_repositories(tables: TableNames, *, dynamodb: DynamoDBClient, clock: Clock) -> Repositories:
    """Every repository over one DynamoDB client. Building one costs nothing until it is used."""
    return Repositories(
        settings=DynamoDbSettingsRepository(tables.settings_table_name, client=dynamodb),
        mappings=DynamoDbMappingRepository(tables.settings_table_name, client=dynamodb),
        links=DynamoDbLinksRepository(tables.links_table_name, client=dynamodb),
        history=DynamoDbHistoryRepository(tables.history_table_name, client=dynamodb),
        failures=DynamoDbFailuresRepository(tables.history_table_name, client=dynamodb),
        oauth_states=DynamoDbOAuthStateRepository(tables.settings_table_name, client=dynamodb),
        connection_state=DynamoDbConnectionState(tables.settings_table_name, clock=clock, client=dynamodb),
    )


def build_qbo_budget(
    settings: QboBudgetSettings,
    *,
    priority: BudgetPriority,
    dynamodb: DynamoDBClient,
    max_wait_seconds: float = 0.0,
    waiters: int | None = None,
) -> DynamoDbQboBudget:
    """The per-realm QBO request budget, drawn on at `priority`; with `waiters`, by invocations of which at
    most that many at a time wait for one company (the sync's)."""
    return DynamoDbQboBudget(
        settings.qbo_budget_table_name,
        settings.budget_rules(),
        priority=priority,
        pause_seconds=settings.qbo_throttle_pause_seconds,
        client=dynamodb,
        max_wait_seconds=max_wait_seconds,
        waiters=waiters,
    )


def build_merchant_clients(
    settings: ClientSettings,
    *,
    secrets: SecretStore,
    clock: Clock,
    retry: QboRetryPolicy,
    budget: DynamoDbQboBudget,
    dynamodb: DynamoDBClient,
) -> MerchantClientFactory:
    return MerchantClientFactory.for_settings(
        settings,
        secrets=secrets,
        clock=clock,
        retry=retry,
        budget=budget,
        secrets_max_age_seconds=settings.secrets_cache_seconds,
        dynamodb=dynamodb,
    )
