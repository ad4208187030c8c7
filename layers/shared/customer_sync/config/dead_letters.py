"""DeadLetterFunction's settings."""

from customer_sync.config.shared import TableNames


class DeadLetterSettings(TableNames):
    """DeadLetterFunction: records CustomerChangesDLQ's changes as failures (HistoryTable)."""
