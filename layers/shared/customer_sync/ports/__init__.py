"""Protocols the domain depends on, one module per concern. Adapters implement them; unit tests pass
in-memory fakes. Import them from here (`from customer_sync.ports import LinksRepository`); add to the
module of a concern rather than defining a second port for the same thing.

| module | ports |
|---|---|
| clock | Clock |
| qbo | QBO customer API, access tokens, token endpoint, refresh lock, connection secret and health |
| secrets | JSON secrets by name |
| paysimple | PaySimple customer API |
| merchant_clients | each merchant's PaySimple and QBO clients |
| ingest | webhook signing keys, the change queue |
| repositories | links, settings, mappings, OAuth states, history, parked failures |
| admin | merchant secrets, the QBO connect flow, the DLQ and queue depths, console users, who connected |
| qbo_side | QBO webhook verifier token and queue, realms, CDC checkpoints, name variants, keep-alive |
"""

from customer_sync.ports.admin import (
    ConnectionAudit,
    ConnectionRecord,
    ConsoleUsers,
    DeadLetterMessage,
    DeadLetterQueue,
    DeadLetterScan,
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
    TokenEndpoint,
)
from customer_sync.ports.qbo_side import (
    CdcCheckpoints,
    MerchantList,
    NameVariants,
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
)
from customer_sync.ports.secrets import SecretStore

__all__ = [
    "AccessTokenSource",
    "CdcCheckpoints",
    "ChangePublisher",
    "Clock",
    "ConnectionAudit",
    "ConnectionRecord",
    "ConnectionStateRecorder",
    "ConsoleUsers",
    "DeadLetterMessage",
    "DeadLetterQueue",
    "DeadLetterScan",
    "FailuresRepository",
    "HistoryRepository",
    "LinksRepository",
    "MappingRepository",
    "MerchantClients",
    "MerchantCredentialsStore",
    "MerchantList",
    "MerchantLock",
    "NameVariants",
    "NameVariantsRepository",
    "OAuthStateRepository",
    "PaySimpleCustomers",
    "QboChangePublisher",
    "QboConnectionRefresher",
    "QboConnectionSecret",
    "QboConnections",
    "QboCustomers",
    "QboVerifierToken",
    "QueueDepth",
    "QueueStats",
    "RealmConnection",
    "RealmDirectory",
    "SecretStore",
    "SettingsRepository",
    "SigningKeys",
    "TokenEndpoint",
    "TokenRevoker",
]
