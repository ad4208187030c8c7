"""QBO OAuth 2.0: the token endpoint, and the per-merchant access-token provider.

The provider's rules come from reference/qbo-api.md and DESIGN.md "Secrets":
- the refresh-token value rotates and an old one dies, so the newest one is written to Secrets Manager
  (staged, then made current) before the new access token is used;
- refreshes are serialised per merchant by a DynamoDB lease with a fencing token, and whoever gets the lease
  re-reads the secret first (another worker may have refreshed, or staged a rotation, already); the current
  tokens are written only while the fencing token still holds the lease;
- on `invalid_grant` the stored tokens are re-read once before the connection is declared broken.
No token value or client secret is ever logged or put in an error message.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlencode

from pydantic import SecretStr, ValidationError

from customer_sync.adapters.http import (
    HttpResponse,
    HttpSession,
    HttpUnreachable,
    HttpUnsendable,
    basic_authorization,
)
from customer_sync.errors import (
    InvalidGrant,
    QboAuthorizationFailed,
    QboConnectionBroken,
    QboError,
    QboThrottled,
    QboTransientError,
    SecretNotFound,
)
from customer_sync.models.common import Lease
from customer_sync.models.qbo import QboAppCredentials, QboConnection, StoredConnection, TokenSet
from customer_sync.models.validation import invalid_fields
from customer_sync.observability import logger
from customer_sync.ports import (
    Clock,
    ConnectionStateRecorder,
    MerchantLock,
    QboConnectionSecret,
    SecretStore,
    TokenEndpoint,
)

BROKEN_REASON_INVALID_GRANT = "QBO rejected the stored refresh token (invalid_grant); reconnect QuickBooks"
# What Disconnect leaves in the connection secret instead of the tokens.
DISCONNECTED_AT = "disconnected_at"


class OAuthTokenEndpoint:
    """Intuit's token endpoint: form-encoded POST with HTTP Basic client authentication."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | SecretStr,
        *,
        timeout_seconds: float = 15.0,
        session: HttpSession | None = None,
    ) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = (
            client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        )
        self._timeout_seconds = timeout_seconds
        self._session = session or HttpSession()

    @classmethod
    def for_app(cls, token_url: str, app: QboAppCredentials, **kwargs: Any) -> OAuthTokenEndpoint:
        return cls(token_url, app.client_id, app.client_secret, **kwargs)

    def __repr__(self) -> str:
        return f"OAuthTokenEndpoint(token_url={self._token_url!r}, client_id={self._client_id!r})"

    def refresh(self, refresh_token: str) -> TokenSet:
        return self._grant({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        return self._grant({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})

    def _grant(self, form: dict[str, str]) -> TokenSet:
        grant_type = form["grant_type"]
        try:
            response = self._session.request(
                "POST",
                self._token_url,
                headers={
                    **basic_authorization(self._client_id, self._client_secret.get_secret_value()),
                    "Accept": "application/json",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                body=urlencode(form).encode(),
                timeout_seconds=self._timeout_seconds,
            )
        except (HttpUnreachable, HttpUnsendable) as error:
            # Only the type: the request holds the client secret and the grant's token or code.
            raise QboTransientError(f"token endpoint unreachable ({error.kind})") from None
        intuit_tid = response.headers.get("intuit_tid")
        if response.status == 200:
            try:
                return TokenSet.model_validate(response.json())
            except (ValueError, ValidationError):
                raise QboTransientError(
                    "token endpoint answered 200 without a usable token set", intuit_tid=intuit_tid
                ) from None
        raise _token_error(response, grant_type, intuit_tid)


def _token_error(response: HttpResponse, grant_type: str, intuit_tid: str | None) -> QboError:
    status = response.status
    try:
        body = response.json()
        oauth_error = str(body.get("error")) if isinstance(body, dict) and body.get("error") else None
    except ValueError:
        oauth_error = None
    message = f"token endpoint refused the {grant_type} grant: HTTP {status} {oauth_error or ''}".strip()
    logger.warning(
        "QBO token endpoint error",
        extra={"status": status, "oauth_error": oauth_error, "intuit_tid": intuit_tid, "grant": grant_type},
    )
    context: dict[str, Any] = {"code": oauth_error, "status": status, "intuit_tid": intuit_tid}
    if oauth_error == "invalid_grant":
        return InvalidGrant(message, **context)
    if oauth_error == "invalid_client":
        return QboAuthorizationFailed(message, **context)
    if status == 429:
        return QboThrottled(message, **context)
    if status >= 500:
        return QboTransientError(message, **context)
    return QboError(message, **context)


def stored_qbo_connection(
    secrets: SecretStore, secret_name: str, *, max_age_seconds: int | None = None, force_fetch: bool = False
) -> QboConnection | None:
    """The merchant's stored QBO connection (its current version), or None when none is stored (or it was
    disconnected: a `{"disconnected_at": ..}` left by Disconnect). A stored one that does not parse raises
    QboConnectionBroken (code `malformed`) naming the fields only: pydantic's message echoes tokens."""
    try:
        stored = secrets.get_json(secret_name, max_age_seconds=max_age_seconds, force_fetch=force_fetch)
    except SecretNotFound:
        return None
    if DISCONNECTED_AT in stored and "refresh_token" not in stored:
        return None
    try:
        return QboConnection.model_validate(stored)
    except ValidationError as error:
        raise QboConnectionBroken(
            f"the stored QBO connection is malformed (fields: {invalid_fields(error)})", code="malformed"
        ) from None


class QboTokenProvider:
    """Access tokens for one merchant's QBO connection (implements ports.AccessTokenSource).

    A refresh, under the merchant's lease:
    1. re-read the current connection; if an earlier holder staged a rotation of exactly this version, make
       that current instead of refreshing (its refresh token is the newest QBO issued);
    2. refresh at the token endpoint;
    3. stage the rotation (AWSPENDING): from here it is durable, and whoever holds the lease next makes it
       current if this worker cannot;
    4. make it current: each such write is preceded by `lock.confirm`, which succeeds only while the lease's
       fencing token is still ours and extends the lease past the write, so a holder that stalled past its
       lease learns it before writing and leaves the current tokens to the new holder;
    5. only then hand out the new access token.
    If Secrets Manager refuses even the staging, the rotation stays in this process as a last resort (there
    is nowhere durable left) and is stored first at its next refresh; the change goes back to SQS.
    """

    def __init__(
        self,
        merchant_id: str,
        secret: QboConnectionSecret,
        lock: MerchantLock,
        token_endpoint: TokenEndpoint,
        clock: Clock,
        connection_state: ConnectionStateRecorder,
        *,
        expiry_skew: timedelta = timedelta(minutes=5),
        lock_poll_seconds: float = 0.25,
        lock_max_polls: int = 40,
        persist_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._merchant_id = merchant_id
        self._secret = secret
        self._lock = lock
        self._token_endpoint = token_endpoint
        self._clock = clock
        self._connection_state = connection_state
        self._expiry_skew = expiry_skew
        self._lock_poll_seconds = lock_poll_seconds
        self._lock_max_polls = lock_max_polls
        self._persist_attempts = max(1, persist_attempts)
        self._sleep = sleep
        self._connection: QboConnection | None = None
        # A rotation Secrets Manager refused even to stage: (the refresh token it replaced, the rotation).
        self._unsaved: tuple[SecretStr, QboConnection] | None = None
        self._writes = 0  # numbers each distinct write, for its idempotency token
        # One refresh at a time inside this process too (the lease serialises across processes).
        self._mutex = threading.RLock()

    # -- AccessTokenSource -------------------------------------------------------------------------------

    def access_token(self) -> str:
        """The current access token, refreshed first when it expires within `expiry_skew`."""
        with self._mutex:
            connection = self._connection or self._load()
            self._connection = connection
            if connection.access_token_usable(self._clock.now(), self._expiry_skew):
                return connection.access_token.get_secret_value()
            return self._refresh(stale_access_token=connection.access_token.get_secret_value())

    def refresh_after_unauthorized(self, stale_access_token: str) -> str:
        """QBO said 401/3200 for `stale_access_token`: use a newer stored one, or refresh."""
        with self._mutex:
            known = self._connection
            if known is not None and self._refreshed_elsewhere(known, stale_access_token):
                return known.access_token.get_secret_value()  # this process already has a newer one
            return self._refresh(stale_access_token=stale_access_token)

    # -- connection ------------------------------------------------------------------------------------------

    def realm_id(self) -> str:
        with self._mutex:
            self._connection = self._connection or self._load()
            return self._connection.realm_id

    def reload(self) -> QboConnection:
        """The stored connection, read again past every cache: another worker may have stored a new one
        (a connect to another company) since this one was loaded."""
        with self._mutex:
            self._connection = self._load(force=True)
            return self._connection

    def connection(self) -> QboConnection:
        """The connection as last loaded or refreshed (tokens stay SecretStr)."""
        with self._mutex:
            self._connection = self._connection or self._load()
            return self._connection

    def store_authorization(self, code: str, redirect_uri: str, realm_id: str) -> QboConnection:
        """The OAuth callback: exchange the code and store the new connection (under the refresh lease, so
        a concurrent refresh of an older connection cannot overwrite it)."""
        tokens = self._token_endpoint.exchange_code(code, redirect_uri)
        connection = QboConnection.from_token_set(realm_id, tokens, self._clock.now())
        with self._mutex:
            lease = self._acquire_lease(stale_access_token=None)
            if not isinstance(lease, Lease):
                raise QboTransientError("QBO token refresh lease is held by another worker")
            try:
                self._make_current(lease, connection)
            finally:
                self._lock.release(self._merchant_id, lease)
            self._connection = connection
            self._unsaved = None
        self._connection_state.mark_connected(self._merchant_id, realm_id)
        return connection

    # -- internals -------------------------------------------------------------------------------------------

    def _load(self, *, force: bool = False) -> QboConnection:
        return self._stored(force=force).connection

    def _stored(self, *, force: bool) -> StoredConnection:
        stored = self._secret.current(force=force)
        if stored is None:
            raise QboConnectionBroken("no QBO connection is stored for this merchant", code="not_connected")
        return stored

    def _refreshed_elsewhere(self, connection: QboConnection, stale_access_token: str | None) -> bool:
        return connection.access_token.get_secret_value() != stale_access_token and (
            connection.access_token_usable(self._clock.now(), self._expiry_skew)
        )

    def _acquire_lease(self, stale_access_token: str | None) -> Lease | QboConnection | None:
        """The lease; or, while waiting, a connection another worker refreshed meanwhile; None when the
        lease stayed taken (a refresh under `stale_access_token=None` never short-cuts)."""
        for poll in range(self._lock_max_polls + 1):
            lease = self._lock.try_acquire(self._merchant_id)
            if lease is not None:
                return lease
            if poll == self._lock_max_polls:
                break
            self._sleep(self._lock_poll_seconds)
            if stale_access_token is not None:
                latest = self._load(force=True)
                if self._refreshed_elsewhere(latest, stale_access_token):
                    return latest
        return None

    def _refresh(self, *, stale_access_token: str) -> str:
        lease = self._acquire_lease(stale_access_token)
        if lease is None:
            raise QboTransientError("QBO token refresh lease is held by another worker")
        if isinstance(lease, QboConnection):
            self._connection = lease
            return lease.access_token.get_secret_value()
        try:
            latest = self._latest(lease)
            if not self._refreshed_elsewhere(latest.connection, stale_access_token):
                latest = self._refreshed(lease, latest)
        finally:
            self._lock.release(self._merchant_id, lease)
        self._connection = latest.connection
        return latest.connection.access_token.get_secret_value()

    def _latest(self, lease: Lease) -> StoredConnection:
        """The current connection, after making current what an earlier refresh left staged (durably, or in
        this process's memory) if it is a rotation of exactly the current version."""
        stored = self._stored(force=True)
        staged = self._secret.staged()
        if staged is not None and staged.replaces_version_id == stored.version_id:
            logger.info(
                "making a staged QBO token rotation current", extra={"merchant_id": self._merchant_id}
            )
            return self._make_current(lease, staged.connection)
        unsaved, self._unsaved = self._unsaved, None
        if unsaved is not None and stored.connection.refresh_token == unsaved[0]:
            logger.info(
                "storing QBO tokens that an earlier refresh could not",
                extra={"merchant_id": self._merchant_id},
            )
            return self._store_rotation(lease, stored, unsaved[1])
        return stored

    def _refreshed(self, lease: Lease, stored: StoredConnection) -> StoredConnection:
        connection = stored.connection
        try:
            tokens = self._token_endpoint.refresh(connection.refresh_token.get_secret_value())
        except InvalidGrant:
            # Another worker (or a reconnect) may have rotated the tokens, or staged a rotation: look once
            # more before giving up.
            latest = self._latest(lease)
            if latest.connection.refresh_token == connection.refresh_token:
                self._mark_broken()
            if self._refreshed_elsewhere(latest.connection, connection.access_token.get_secret_value()):
                return latest
            logger.info("QBO refresh token was rotated elsewhere; retrying with the stored one")
            stored, connection = latest, latest.connection
            try:
                tokens = self._token_endpoint.refresh(connection.refresh_token.get_secret_value())
            except InvalidGrant:
                self._mark_broken()
        rotated = connection.rotated(tokens, self._clock.now())
        if rotated.refresh_token_expires_at is None:
            rotated = rotated.model_copy(
                update={"refresh_token_expires_at": connection.refresh_token_expires_at}
            )
        stored_rotation = self._store_rotation(lease, stored, rotated)
        logger.info("QBO access token refreshed", extra={"merchant_id": self._merchant_id})
        return stored_rotation

    def _store_rotation(
        self, lease: Lease, base: StoredConnection, rotated: QboConnection
    ) -> StoredConnection:
        """Stage `rotated` (a rotation of `base`), then make it current. Staging happens even when the lease
        was lost: a staged rotation is never used by anyone until a lease holder makes it current, and only
        if `base` is still current then."""
        lease_held = self._lock.confirm(self._merchant_id, lease, hold_seconds=self._lock.lease_seconds)
        token = self._request_token(lease)
        try:
            self._persisting(
                "staging",
                lambda: self._secret.stage(rotated, replaces_version_id=base.version_id, request_token=token),
            )
        except QboTransientError:
            self._unsaved = (base.connection.refresh_token, rotated)
            raise
        if not lease_held:
            raise QboTransientError(
                "the QBO token refresh lease was taken over before the new tokens were made current; "
                "they are staged for the next holder"
            )
        return self._make_current(lease, rotated)

    def _make_current(self, lease: Lease, connection: QboConnection) -> StoredConnection:
        """Make `connection` the one every reader uses: each attempt only while our fencing token holds."""
        token = self._request_token(lease)

        def write() -> StoredConnection:
            if not self._lock.confirm(self._merchant_id, lease, hold_seconds=self._lock.lease_seconds):
                raise _LeaseLost()
            return self._secret.make_current(connection, request_token=token)

        try:
            return self._persisting("making current", write)
        except _LeaseLost:
            raise QboTransientError(
                "the QBO token refresh lease was taken over; the new tokens were not made current"
            ) from None

    def _request_token(self, lease: Lease) -> str:
        """The idempotency token of the next distinct write (a retry of that write reuses it): the lease's
        fence and owner, and a count, so no two writes of different values share one."""
        self._writes += 1
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"qbo-tokens:{lease.owner}:{lease.fence}:{self._writes}"))

    def _persisting(self, step: str, write: Callable[[], _Written]) -> _Written:
        """`write`, tried `persist_attempts` times; then QboTransientError (the new tokens are not used)."""
        for attempt in range(1, self._persist_attempts + 1):
            try:
                return write()
            except _LeaseLost:
                raise
            except Exception as error:  # any SDK failure: retry, then refuse to hand the token out
                logger.warning(
                    f"{step} refreshed QBO tokens failed",
                    extra={
                        "merchant_id": self._merchant_id,
                        "attempt": attempt,
                        "error": type(error).__name__,
                    },
                )
                if attempt < self._persist_attempts:
                    self._sleep(self._lock_poll_seconds * attempt)
        logger.error(f"{step} refreshed QBO tokens failed", extra={"merchant_id": self._merchant_id})
        raise QboTransientError(f"refreshed QBO tokens could not be stored in Secrets Manager ({step})")

    def connection_broken(self, reason: str) -> None:
        try:
            self._connection_state.mark_broken(self._merchant_id, reason)
        except Exception:
            logger.exception(
                "recording the broken QBO connection failed", extra={"merchant_id": self._merchant_id}
            )

    def _mark_broken(self) -> NoReturn:
        self.connection_broken(BROKEN_REASON_INVALID_GRANT)
        raise QboConnectionBroken(BROKEN_REASON_INVALID_GRANT, code="invalid_grant")


_Written = TypeVar("_Written")


class _LeaseLost(Exception):
    """Our fencing token no longer holds the refresh lease: the write it guards must not be made."""
