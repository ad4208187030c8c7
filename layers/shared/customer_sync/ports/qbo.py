"""QBO: the customer API of one realm, its access tokens, and what token refresh needs (a lock, connection
health).

Adapters: adapters/qbo_client.py, adapters/tokens.py, adapters/locks.py, adapters/qbo_connection_secret.py,
adapters/dynamodb_connection.py.
Errors raised are the typed QBO errors of customer_sync/errors.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from customer_sync.models.common import Lease
    from customer_sync.models.qbo import (
        BatchItem,
        BatchItemResult,
        ConnectionState,
        QboCompanyInfo,
        QboConnection,
        QboCustomer,
        StagedRotation,
        StoredConnection,
        TokenSet,
    )


class AccessTokenSource(Protocol):
    """A valid QBO access token for one realm, refreshed as needed."""

    def access_token(self) -> str: ...

    def refresh_after_unauthorized(self, stale_access_token: str) -> str:
        """QBO rejected `stale_access_token` (401/3200): return a newer one (refreshing if nobody has)."""
        ...

    def connection_broken(self, reason: str) -> None:
        """QBO said the connection is broken (401 with fault code 120: the user who connected lost
        access): record it where operators and the merchant see it. Never raises."""
        ...


class QboCustomers(Protocol):
    """The QBO Customer API of one realm, and the realm's CompanyInfo."""

    realm_id: str

    @property
    def calls_made(self) -> int: ...

    def check_budget(self) -> None:
        """Raises QboBudgetExhausted when this company's request budget is known to be used up for now,
        without any I/O (ports.QboRequestBudget); nothing is sent either way."""
        ...

    def query_customers(self, where: str, *, include_inactive: bool = False) -> list[QboCustomer]: ...

    def query(self, statement: str) -> dict[str, Any]: ...

    def read_customer(self, customer_id: str) -> QboCustomer: ...

    def create_customer(self, fields: Mapping[str, Any], *, request_id: str) -> QboCustomer: ...

    def sparse_update(
        self,
        customer_id: str,
        sync_token: str,
        fields: Mapping[str, Any],
        *,
        request_id: str | None = None,
    ) -> QboCustomer: ...

    def batch(
        self, items: Sequence[BatchItem], *, request_id: str | None = None
    ) -> list[BatchItemResult]: ...

    def customer_changes(self, changed_since: datetime) -> list[dict[str, Any]]:
        """CDC: customers changed since then (full objects; merged-away ones as `{"status": "Deleted"}`)."""
        ...

    def company_info(self) -> QboCompanyInfo:
        """The company's own record (its name); one metered read."""
        ...


class QboRequestBudget(Protocol):
    """The per-realm QBO request budget every invocation shares (domain/qbo_budget.py).

    Adapter: adapters/qbo_budget.py. Each instance draws at one priority (the sync's, or interactive).
    """

    def take(self, realm_id: str, *, may_wait_seconds: float = 0.0) -> None:
        """One request to this company, now, or after a wait of at most `may_wait_seconds` for its turn;
        raises QboBudgetExhausted (with `retry_after`) when there is none. A realm known to be empty for
        longer than that is refused without any I/O. A request that waits books its turn and sleeps until
        it. Only a few invocations at a time wait for a company (QBO_BUDGET_WAITERS: the others are refused
        at once, so the pollers stay free for other companies' changes)."""
        ...

    def release(self) -> None:
        """The invocation is done: another may now wait for the companies this one waited for."""
        ...

    def check(self, realm_id: str, *, may_wait_seconds: float = 0.0) -> None:
        """Raises QboBudgetExhausted when this instance already knows the realm has no request left within
        `may_wait_seconds` (an earlier draw was refused, or QBO throttled it), or, for a caller that would
        wait, that another invocation is waiting for it; no I/O."""
        ...

    def pause(self, realm_id: str, at_least_seconds: float | None = None) -> float:
        """QBO answered 429 for this company: nobody calls it for a while. Returns the seconds paused."""
        ...

    def wait_in_line(self, realm_id: str, changes: int) -> float:
        """Changes the budget sent back take their place in the company's waiting line, behind those sent
        back before them: the seconds until the budget will have served the line up to them."""
        ...


class TokenEndpoint(Protocol):
    """The OAuth 2.0 token endpoint. Raises InvalidGrant for a dead refresh token or code."""

    def refresh(self, refresh_token: str) -> TokenSet: ...

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet: ...


class MerchantLock(Protocol):
    """A short lease per merchant with a fencing token (adapters/locks.py)."""

    lease_seconds: float

    def try_acquire(self, merchant_id: str) -> Lease | None:
        """The lease, or None while someone else holds it."""
        ...

    def confirm(self, merchant_id: str, lease: Lease, *, hold_seconds: float) -> bool:
        """Right before a write the lease protects: True (and the lease lasts `hold_seconds` more) if it is
        still this holder's; False if another worker took it over."""
        ...

    def release(self, merchant_id: str, lease: Lease) -> None: ...


class QboConnectionSecret(Protocol):
    """One merchant's QBO connection secret, whose tokens are written in two steps: a rotation is first
    staged (durable, not yet used by anyone), then made current.

    `request_token` makes a write idempotent: the same token and value never make a second version."""

    def current(self, *, force: bool = False) -> StoredConnection | None:
        """The connection every reader uses, or None when none is stored. Raises QboConnectionBroken
        (`malformed`) for one that does not parse."""
        ...

    def staged(self) -> StagedRotation | None:
        """The rotation last staged, if any (it may be stale: see `replaces_version_id`)."""
        ...

    def stage(self, connection: QboConnection, *, replaces_version_id: str, request_token: str) -> str:
        """Store a rotation of the current version without making it current; its version id."""
        ...

    def make_current(self, connection: QboConnection, *, request_token: str) -> StoredConnection:
        """Store `connection` as the one every reader uses (creating the secret if needed)."""
        ...


class ConnectionStateRecorder(Protocol):
    """Where a merchant's QBO connection health is recorded (read by the admin status)."""

    def mark_broken(self, merchant_id: str, reason: str) -> None: ...

    def mark_connected(self, merchant_id: str, realm_id: str) -> None:
        """Healthy, connected to `realm_id`; the company name of an earlier connect is forgotten."""
        ...

    def current(self, merchant_id: str) -> ConnectionState | None: ...
