"""QBO shapes with the exact JSON names of reference/qbo-api.md: Customer, batch items, OAuth tokens and the
per-merchant connection secret.

Tokens are `SecretStr`, so a stray repr or log line shows `**********`, never a token; and every model hides
its input in validation errors, which would otherwise quote a whole token-bearing dict (or customer values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from customer_sync.errors import QboError


class QboEmailAddress(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    Address: str | None = None


class QboPhone(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    FreeFormNumber: str | None = None


class QboWebAddress(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    URI: str | None = None


class QboAddress(BaseModel):
    """QBO adds Id/Lat/Long and may normalize Country: never diff on those."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    Id: str | None = None
    Line1: str | None = None
    Line2: str | None = None
    Line3: str | None = None
    Line4: str | None = None
    Line5: str | None = None
    City: str | None = None
    CountrySubDivisionCode: str | None = None
    PostalCode: str | None = None
    Country: str | None = None
    Lat: str | None = None
    Long: str | None = None


class QboMetaData(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    CreateTime: datetime | None = None
    LastUpdatedTime: datetime | None = None


class QboCustomer(BaseModel):
    """A QBO Customer with the fields the sync uses; `raw` keeps the whole JSON object as QBO sent it."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    Id: str
    SyncToken: str
    DisplayName: str | None = None
    Title: str | None = None
    GivenName: str | None = None
    MiddleName: str | None = None
    FamilyName: str | None = None
    Suffix: str | None = None
    CompanyName: str | None = None
    PrintOnCheckName: str | None = None
    PrimaryEmailAddr: QboEmailAddress | None = None
    PrimaryPhone: QboPhone | None = None
    AlternatePhone: QboPhone | None = None
    Mobile: QboPhone | None = None
    Fax: QboPhone | None = None
    WebAddr: QboWebAddress | None = None
    Notes: str | None = None
    BillAddr: QboAddress | None = None
    ShipAddr: QboAddress | None = None
    Active: bool = True
    MetaData: QboMetaData | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _keep_raw(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "raw" not in data:
            return {**data, "raw": dict(data)}
        return data

    @property
    def email(self) -> str | None:
        return self.PrimaryEmailAddr.Address if self.PrimaryEmailAddr else None


BatchOperation = Literal["create", "update"]


class QboCompanyInfo(BaseModel):
    """The connected company's own record (`GET companyinfo/<realm id>`): only what the console shows."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    CompanyName: str | None = None
    LegalName: str | None = None

    @property
    def name(self) -> str | None:
        """The name the company goes by, else its legal name; None when QBO has neither."""
        for name in (self.CompanyName, self.LegalName):
            if name and name.strip():
                return name.strip()
        return None


class BatchItem(BaseModel):
    """One entry of a `/batch` request: a Customer create, a sparse Customer update, or a query.

    Build them with `create`, `sparse_update` or `query`; `bId` must be unique within a batch call.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    bId: str = Field(min_length=1)
    operation: BatchOperation | None = None
    customer: dict[str, Any] | None = None
    query_statement: str | None = None

    @model_validator(mode="after")
    def _one_payload(self) -> BatchItem:
        if (self.customer is None) == (self.query_statement is None):
            raise ValueError("a batch item carries exactly one of a Customer or a Query")
        if (self.customer is not None) != (self.operation is not None):
            raise ValueError("a Customer batch item needs an operation, a Query item none")
        return self

    @classmethod
    def create(cls, bid: str, fields: Mapping[str, Any]) -> BatchItem:
        return cls(bId=bid, operation="create", customer=dict(fields))

    @classmethod
    def sparse_update(
        cls, bid: str, customer_id: str, sync_token: str, fields: Mapping[str, Any]
    ) -> BatchItem:
        body = {**fields, "Id": customer_id, "SyncToken": sync_token, "sparse": True}
        return cls(bId=bid, operation="update", customer=body)

    @classmethod
    def query(cls, bid: str, statement: str) -> BatchItem:
        return cls(bId=bid, query_statement=statement)

    def to_request(self) -> dict[str, Any]:
        if self.query_statement is not None:
            return {"bId": self.bId, "Query": self.query_statement}
        return {"bId": self.bId, "operation": self.operation, "Customer": self.customer}


@dataclass(frozen=True)
class BatchItemResult:
    """The outcome of one batch item, found by its bId (QBO does not keep the order)."""

    bId: str
    customer: QboCustomer | None = None
    query_response: dict[str, Any] | None = None
    error: QboError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class TokenSet(BaseModel):
    """A response of the OAuth token endpoint (refresh or authorization-code grant)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, hide_input_in_errors=True)

    access_token: SecretStr
    refresh_token: SecretStr
    expires_in: int = Field(gt=0)
    refresh_token_expires_in: int | None = Field(default=None, alias="x_refresh_token_expires_in")
    refresh_token_hard_expires_in: int | None = Field(default=None, alias="x_refresh_token_hard_expires_in")
    token_type: str = "bearer"


class QboConnection(BaseModel):
    """The per-merchant secret `{prefix}merchants/{merchant_id}/qbo`.

    Stored as JSON with ISO-8601 UTC timestamps (`2026-01-01T10:00:00+00:00`); epoch seconds and naive
    timestamps (read as UTC) are accepted on read.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    realm_id: str = Field(min_length=1)
    access_token: SecretStr
    access_token_expires_at: datetime
    refresh_token: SecretStr
    refresh_token_expires_at: datetime | None = None
    # When the connection ends whatever is refreshed (≤5 years after consent): the merchant must reconnect.
    refresh_token_hard_expires_at: datetime | None = None

    @field_validator("access_token_expires_at", "refresh_token_expires_at", "refresh_token_hard_expires_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value) if value is not None else None

    @classmethod
    def from_token_set(cls, realm_id: str, tokens: TokenSet, now: datetime) -> QboConnection:
        # The rolling lifetime (~100 days) never outlives the hard one (≤5 years since the first consent).
        lifetimes = [
            seconds
            for seconds in (tokens.refresh_token_expires_in, tokens.refresh_token_hard_expires_in)
            if seconds is not None
        ]
        refresh_expiry = now + timedelta(seconds=min(lifetimes)) if lifetimes else None
        hard = tokens.refresh_token_hard_expires_in
        return cls(
            realm_id=realm_id,
            access_token=tokens.access_token,
            access_token_expires_at=now + timedelta(seconds=tokens.expires_in),
            refresh_token=tokens.refresh_token,
            refresh_token_expires_at=refresh_expiry,
            refresh_token_hard_expires_at=now + timedelta(seconds=hard) if hard is not None else None,
        )

    def rotated(self, tokens: TokenSet, now: datetime) -> QboConnection:
        """After a refresh. An answer without the hard expiry keeps the one known: it never moves later."""
        rotated = QboConnection.from_token_set(self.realm_id, tokens, now)
        if rotated.refresh_token_hard_expires_at is None and self.refresh_token_hard_expires_at is not None:
            rotated = rotated.model_copy(
                update={"refresh_token_hard_expires_at": self.refresh_token_hard_expires_at}
            )
        return rotated

    def access_token_usable(self, now: datetime, skew: timedelta) -> bool:
        return _as_utc(now) + skew < self.access_token_expires_at

    def to_secret(self) -> dict[str, str | None]:
        """The JSON stored in Secrets Manager (the only place tokens are revealed)."""
        return {
            "realm_id": self.realm_id,
            "access_token": self.access_token.get_secret_value(),
            "access_token_expires_at": self.access_token_expires_at.isoformat(),
            "refresh_token": self.refresh_token.get_secret_value(),
            "refresh_token_expires_at": (
                self.refresh_token_expires_at.isoformat() if self.refresh_token_expires_at else None
            ),
            "refresh_token_hard_expires_at": (
                self.refresh_token_hard_expires_at.isoformat() if self.refresh_token_hard_expires_at else None
            ),
        }


class StoredConnection(BaseModel):
    """The current QBO connection and the Secrets Manager version holding it."""

    model_config = ConfigDict(frozen=True)

    version_id: str
    connection: QboConnection


class StagedRotation(BaseModel):
    """A rotation written to the connection secret but not yet made current (stage AWSPENDING). It is made
    current only while `replaces_version_id` is still the current version: then its refresh token is the
    newest one QBO issued."""

    model_config = ConfigDict(frozen=True)

    version_id: str
    replaces_version_id: str
    connection: QboConnection


class QboAppCredentials(BaseModel):
    """The deployment's OAuth client, secret `{prefix}qbo-app`."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    redirect_uri: str = Field(min_length=1)


ConnectionStatus = Literal["connected", "broken"]


class ConnectionState(BaseModel):
    """The health of a merchant's QBO connection as recorded in the settings table."""

    model_config = ConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    status: ConnectionStatus
    reason: str | None = None
    at: datetime
    realm_id: str | None = None
    # The company's name as QBO's CompanyInfo gave it at the last connect of `realm_id` (None: unknown).
    company_name: str | None = None
