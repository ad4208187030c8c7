"""What every function that builds merchants' QBO and PaySimple clients reads: the QBO request budget they
share, and the secret names, tables and service URLs."""

from pydantic import Field

from customer_sync.config import EnvironmentSettings
from customer_sync.config.shared import SecretNames, ServiceUrls, TableNames
from customer_sync.domain.qbo_budget import QBO_REQUESTS_PER_MINUTE, QBO_REQUESTS_PER_SECOND, BudgetRules


class QboBudgetSettings(EnvironmentSettings):
    """The per-realm QBO request budget every SyncFunction and AdminFunction invocation shares
    (domain/qbo_budget.py, adapters/qbo_budget.py)."""

    qbo_budget_table_name: str = Field(min_length=1)
    qbo_budget_per_minute: int = Field(
        default=QBO_REQUESTS_PER_MINUTE,
        ge=1,
        description="QBO_BUDGET_PER_MINUTE: requests a minute QBO allows per company (QBO: 500).",
    )
    qbo_budget_per_second: int = Field(
        default=QBO_REQUESTS_PER_SECOND,
        ge=1,
        description="QBO_BUDGET_PER_SECOND: requests a second QBO allows per company (QBO: 10).",
    )
    qbo_throttle_pause_seconds: float = Field(
        default=60.0,
        ge=0,
        le=900,
        description=(
            "QBO_THROTTLE_PAUSE_SECONDS: after a 429 from QBO despite the budget (another app using the same "
            "company, or a lower limit), nobody calls that company for this long (Intuit says wait 60 s)."
        ),
    )

    qbo_budget_waiters: int = Field(
        default=4,
        ge=1,
        le=10,
        description=(
            "QBO_BUDGET_WAITERS: SyncFunction invocations that may wait for one company's turn at a time. "
            "Enough to keep a busy company at its budget (each works through its changes one QBO call after "
            "another), few enough that the other pollers stay free for other merchants: keep it well "
            "below the template's SyncMaxConcurrency."
        ),
    )

    def budget_rules(self) -> BudgetRules:
        return BudgetRules.for_limits(self.qbo_budget_per_minute, self.qbo_budget_per_second)


class ClientSettings(SecretNames, TableNames, ServiceUrls, QboBudgetSettings):
    """The settings of every function that builds merchants' QBO and PaySimple clients."""

    secrets_cache_seconds: int = Field(default=300, ge=0)
