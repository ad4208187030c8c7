"""A merchant's PaySimple secrets, as stored in Secrets Manager. Apart from the customer models
(models/paysimple.py): the ingest function reads only the signing key, and building the customer models
would cost its cold start for nothing."""

from pydantic import BaseModel, ConfigDict, Field


class PaySimpleCredentials(BaseModel):
    """Per-merchant secret. Never logged, never echoed back by the admin API."""

    model_config = ConfigDict(frozen=True)

    api_username: str = Field(min_length=1)
    api_key: str = Field(min_length=1)
    webhook_signing_key: str = Field(min_length=1)


class WebhookSigningKey(BaseModel):
    """Per-merchant secret `{prefix}merchants/<m>/webhook-signing-key`: the one value the internet-facing
    ingest function may read. The admin API writes it with the PaySimple secret, which keeps its own copy."""

    model_config = ConfigDict(frozen=True)

    webhook_signing_key: str = Field(min_length=1)
