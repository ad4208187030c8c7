"""SyncSettings as a test needs them: the required names (none of them reaches AWS), defaults for the rest."""

from __future__ import annotations

from typing import Any

from customer_sync.config.sync import SyncSettings

# What SyncFunction's environment must name, as field names (environment variables are these upper-cased).
SYNC_REQUIRED: dict[str, str] = {
    "secret_prefix": "test/",
    "links_table_name": "links",
    "settings_table_name": "settings",
    "history_table_name": "history",
    "idempotency_table_name": "idempotency",
    "qbo_budget_table_name": "qbo-budget",
    "changes_queue_url": "https://sqs.invalid/changes.fifo",
    "changes_dlq_url": "https://sqs.invalid/changes-dlq.fifo",
}


def sync_settings(**overrides: Any) -> SyncSettings:
    """The default tuning (retry waits, QBO budget, timeouts, record margin) unless `overrides` say so."""
    return SyncSettings(**{**SYNC_REQUIRED, **overrides})
