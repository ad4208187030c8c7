"""The settings of QboChangesFunction and QboCdcFunction, which follow what people do in QBO."""

from pydantic import Field

from customer_sync.config.clients import ClientSettings


class QboFollowSettings(ClientSettings):
    """What following QBO needs (QboChangesFunction, QboCdcFunction): the tables, the merchants' QBO
    clients (their reads draw on the company's request budget, as the sync's do), and CustomerChangesQueue,
    where changes held for an inactive QBO customer are sent again."""

    changes_queue_url: str = Field(min_length=1)


class QboChangesSettings(QboFollowSettings):
    idempotency_table_name: str = Field(min_length=1)
