"""Protocols the domain depends on, one module per concern. Adapters implement them; unit tests pass
in-memory fakes. Import them from here (`from customer_sync.ports import LinksRepository`); add to the
module of a concern rather than defining a second port for the same thing.

A concern's module is loaded when one of its names is first imported from here, so a function loads only
the concerns it uses: the ingest function two of ten (about 3 ms of its cold start). A new port is added
to `_PORTS` and to the imports for type checkers below; tests/unit/test_ports_package.py checks they agree.

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

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_PORTS: dict[str, tuple[str, ...]] = {
    "admin": (
        "ConnectionAudit",
        "ConnectionRecord",
        "ConsoleUsers",
        "MerchantCredentialsStore",
        "QboConnections",
        "QueueDepth",
        "QueueStats",
    ),
    "clock": ("Clock",),
    "ingest": (
        "ChangePublisher",
        "SigningKeys",
    ),
    "merchant_clients": ("MerchantClients",),
    "paysimple": ("PaySimpleCustomers",),
    "qbo": (
        "AccessTokenSource",
        "ConnectionStateRecorder",
        "MerchantLock",
        "QboConnectionSecret",
        "QboCustomers",
        "QboRequestBudget",
        "TokenEndpoint",
    ),
    "qbo_side": (
        "CdcCheckpoints",
        "MerchantList",
        "NameVariantsRepository",
        "QboChangePublisher",
        "QboConnectionRefresher",
        "QboVerifierToken",
        "RealmConnection",
        "RealmDirectory",
        "TokenRevoker",
    ),
    "repositories": (
        "FailuresRepository",
        "HistoryRepository",
        "LinksRepository",
        "MappingRepository",
        "OAuthStateRepository",
        "SettingsRepository",
        "SyncConfigSource",
        "SyncJournal",
    ),
    "secrets": ("SecretStore",),
    "sync_queue": ("ChangeHandBacks",),
}
_MODULE_OF = {name: module for module, names in _PORTS.items() for name in names}


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    port: object = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = port  # asked for once
    return port


if TYPE_CHECKING:
    from customer_sync.ports.admin import (
        ConnectionAudit as ConnectionAudit,
        ConnectionRecord as ConnectionRecord,
        ConsoleUsers as ConsoleUsers,
        MerchantCredentialsStore as MerchantCredentialsStore,
        QboConnections as QboConnections,
        QueueDepth as QueueDepth,
        QueueStats as QueueStats,
    )
    from customer_sync.ports.clock import (
        Clock as Clock,
    )
    from customer_sync.ports.ingest import (
        ChangePublisher as ChangePublisher,
        SigningKeys as SigningKeys,
    )
    from customer_sync.ports.merchant_clients import (
        MerchantClients as MerchantClients,
    )
    from customer_sync.ports.paysimple import (
        PaySimpleCustomers as PaySimpleCustomers,
    )
    from customer_sync.ports.qbo import (
        AccessTokenSource as AccessTokenSource,
        ConnectionStateRecorder as ConnectionStateRecorder,
        MerchantLock as MerchantLock,
        QboConnectionSecret as QboConnectionSecret,
        QboCustomers as QboCustomers,
        QboRequestBudget as QboRequestBudget,
        TokenEndpoint as TokenEndpoint,
    )
    from customer_sync.ports.qbo_side import (
        CdcCheckpoints as CdcCheckpoints,
        MerchantList as MerchantList,
        NameVariantsRepository as NameVariantsRepository,
        QboChangePublisher as QboChangePublisher,
        QboConnectionRefresher as QboConnectionRefresher,
        QboVerifierToken as QboVerifierToken,
        RealmConnection as RealmConnection,
        RealmDirectory as RealmDirectory,
        TokenRevoker as TokenRevoker,
    )
    from customer_sync.ports.repositories import (
        FailuresRepository as FailuresRepository,
        HistoryRepository as HistoryRepository,
        LinksRepository as LinksRepository,
        MappingRepository as MappingRepository,
        OAuthStateRepository as OAuthStateRepository,
        SettingsRepository as SettingsRepository,
        SyncConfigSource as SyncConfigSource,
        SyncJournal as SyncJournal,
    )
    from customer_sync.ports.secrets import (
        SecretStore as SecretStore,
    )
    from customer_sync.ports.sync_queue import (
        ChangeHandBacks as ChangeHandBacks,
    )
