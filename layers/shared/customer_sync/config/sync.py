"""SyncFunction's settings."""

from pydantic import Field

from customer_sync.config.clients import ClientSettings

# Besides the PaySimple fetch and the QBO calls: DynamoDB and Secrets Manager calls, and the batch response.
RECORD_OVERHEAD_SECONDS = 2.0
# The slowest record that still succeeds: the PaySimple fetch, then up to three QBO calls (a sparse update,
# a read after 5010 and the retry), each answering just within HTTP_TIMEOUT_SECONDS.
SLOWEST_RECORD_HTTP_CALLS = 4


class SyncSettings(ClientSettings):
    idempotency_table_name: str = Field(min_length=1)
    changes_queue_url: str = Field(min_length=1)
    changes_dlq_url: str = Field(min_length=1)
    retry_delay_first_seconds: int = Field(
        default=1,
        ge=0,
        le=60,
        description=(
            "RETRY_DELAY_FIRST_SECONDS: how long a change that failed for a passing reason (QBO throttling "
            "or down, PaySimple down, the company's QBO budget used up) waits before its first redelivery. "
            "Each further delivery waits twice as long, with jitter, up to RETRY_DELAY_MAX_SECONDS."
        ),
    )
    retry_delay_max_seconds: int = Field(
        default=110,
        ge=1,
        le=900,
        description=(
            "RETRY_DELAY_MAX_SECONDS: the longest wait between deliveries of a failing change (jittered "
            "between 80 % and 100 % of it). Short enough that changes land within two minutes of an outage "
            "ending; long enough that a day-long outage fits in the queue's maxReceiveCount (README)."
        ),
    )
    record_margin_seconds: float | None = Field(
        default=None,
        gt=0,
        le=900,
        description=(
            "RECORD_MARGIN_SECONDS: a record is started only while the invocation has at least this much "
            "time left; otherwise it goes back to SQS untouched, so Lambda never kills a batch mid-record "
            "without reporting which records succeeded. Unset: the slowest record that still succeeds, "
            "4 x HTTP_TIMEOUT_SECONDS (a PaySimple fetch and three QBO calls) + 2 s, i.e. 42 s with the "
            "defaults. The handler caps it at half the time an invocation starts with, so a batch always "
            "makes progress. SyncFunction's Timeout must be at least twice this."
        ),
    )

    @property
    def record_margin(self) -> float:
        """Seconds one record may need at worst (RECORD_MARGIN_SECONDS, or derived as described there)."""
        if self.record_margin_seconds is not None:
            return self.record_margin_seconds
        return SLOWEST_RECORD_HTTP_CALLS * self.http_timeout_seconds + RECORD_OVERHEAD_SECONDS
