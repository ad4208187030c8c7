"""Protocols the domain depends on, one module per concern. Adapters implement them; unit tests pass
in-memory fakes. Import them from here (`from customer_sync.ports import LinksRepository`); add to the
module of a concern rather than defining a second port for the same thing.

| module | ports |
|---|---|
| clock | Clock |
| qbo | QBO customer API, request budget, tokens, token endpoint, refresh lock, connection secret, health |
| secrets | JSON secrets by name |
| sync_queue | the sync's hand-backs to the change queue and its dead-letter queue |
| paysimple | PaySimple customer API |
| merchant_clients | each merchant's PaySimple and QBO clients |
| ingest | webhook signing keys, the change queue |
| repositories | links, settings, mappings, OAuth states, history, parked failures, sync config and journal |
| admin | merchant secrets, the QBO connect flow, the DLQ and queue depths, console users, who connected |
| qbo_side | QBO webhook verifier token and queue, realms, CDC checkpoints, name variants, keep-alive |
"""

from customer_sync.ports.admin import (
    ConnectionAudit,
    ConnectionRecord,
    ConsoleUsers,
    MerchantCredentialsStore,
    QboConnections,
    QueueDepth,
    QueueStats,
)
from customer_sync.ports.clock import Clock
from customer_sync.ports.ingest import ChangePublisher, SigningKeys
from customer_sync.ports.merchant_clients import MerchantClients
from customer_sync.ports.paysimple import PaySimpleCustomers
from customer_sync.ports.qbo import (
    AccessTokenSource,
    ConnectionStateRecorder,
    MerchantLock,
    QboConnectionSecret,
    QboCustomers,
    QboRequestBudget,
    TokenEndpoint,
)
from customer_sync.ports.qbo_side import (
    CdcCheckpoints,
    MerchantList,
    NameVariantsRepository,
    QboChangePublisher,
    QboConnectionRefresher,
    QboVerifierToken,
    RealmConnection,
    RealmDirectory,
    TokenRevoker,
)
from customer_sync.ports.repositories import (
    FailuresRepository,
    HistoryRepository,
    LinksRepository,
    MappingRepository,
    OAuthStateRepository,
    SettingsRepository,
    SyncConfigSource,
    SyncJournal,
)
from customer_sync.ports.secrets import SecretStore
from customer_sync.ports.sync_queue import ChangeHandBacks

__all__ = [
    "AccessTokenSource",
    "CdcCheckpoints",
    "ChangeHandBacks",
    "ChangePublisher",
    "Clock",
    "ConnectionAudit",
    "ConnectionRecord",
    "ConnectionStateRecorder",
    "ConsoleUsers",
    "FailuresRepository",
    "HistoryRepository",
    "LinksRepository",
    "MappingRepository",
    "MerchantClients",
    "MerchantCredentialsStore",
    "MerchantList",
    "MerchantLock",
    "NameVariantsRepository",
    "OAuthStateRepository",
    "PaySimpleCustomers",
    "QboChangePublisher",
    "QboConnectionRefresher",
    "QboConnectionSecret",
    "QboConnections",
    "QboCustomers",
    "QboRequestBudget",
    "QboVerifierToken",
    "QueueDepth",
    "QueueStats",
    "RealmConnection",
    "RealmDirectory",
    "SecretStore",
    "SettingsRepository",
    "SigningKeys",
    "SyncConfigSource",
    "SyncJournal",
    "TokenEndpoint",
    "TokenRevoker",
]
