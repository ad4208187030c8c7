"""The QBO connect flow: an authorize URL carrying a signed, expiring, one-time `state`, and the callback
that trusts nothing but that state.

The state is `v1.<claims>.<signature>`: base64url JSON claims `{"m": merchant id, "n": nonce, "e": expiry
epoch seconds}` and base64url HMAC-SHA256 over `v1.<claims>` with the deployment's state key. The signature
makes it unforgeable, `e` makes it expire, and the nonce — stored when the URL is issued and taken out
(at most once) by the callback — makes it one-time. The callback's `realmId` and `code` are only used after
the state checks out, and a refused callback stores nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from customer_sync.errors import (
    AuthorizationRejected,
    Conflict,
    InvalidGrant,
    InvalidOAuthState,
    InvalidRequest,
    MerchantNotFound,
    QboConnectionBroken,
)
from customer_sync.models.admin import QboCallbackResponse, QboConnectResponse
from customer_sync.models.settings import OAuthState
from customer_sync.ports import (
    Clock,
    LinksRepository,
    OAuthStateRepository,
    QboConnections,
    SettingsRepository,
)

STATE_VERSION = "v1"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
DEFAULT_STATE_TTL = timedelta(minutes=10)
MAX_STATE_LENGTH = 1024
# Intuit's realm ids are numbers; anything else in a callback is not from Intuit.
_REALM_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")


@dataclass(frozen=True)
class StateClaims:
    merchant_id: str
    nonce: str
    expires_at: datetime


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


def _signature(signed_part: str, key: bytes) -> str:
    return _b64encode(hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest())


def sign_state(claims: StateClaims, key: bytes) -> str:
    payload = {"m": claims.merchant_id, "n": claims.nonce, "e": int(claims.expires_at.timestamp())}
    encoded = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signed_part = f"{STATE_VERSION}.{encoded}"
    return f"{signed_part}.{_signature(signed_part, key)}"


def verify_state(state: str, key: bytes, *, now: datetime) -> StateClaims:
    """The claims of a state this deployment signed and that has not expired; InvalidOAuthState otherwise."""
    if not state or len(state) > MAX_STATE_LENGTH or not state.isascii():
        raise InvalidOAuthState("invalid state")
    version, _, rest = state.partition(".")
    encoded, _, signature = rest.partition(".")
    if version != STATE_VERSION or not encoded or not signature:
        raise InvalidOAuthState("invalid state")
    if not hmac.compare_digest(signature, _signature(f"{version}.{encoded}", key)):
        raise InvalidOAuthState("invalid state")
    try:
        payload = json.loads(_b64decode(encoded))
        claims = StateClaims(
            merchant_id=str(payload["m"]),
            nonce=str(payload["n"]),
            expires_at=datetime.fromtimestamp(int(payload["e"]), tz=UTC),
        )
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError, OverflowError):
        raise InvalidOAuthState("invalid state") from None
    if claims.expires_at <= now:
        raise InvalidOAuthState("the connect link has expired; start again")
    return claims


class QboConnect:
    def __init__(
        self,
        *,
        connections: QboConnections,
        states: OAuthStateRepository,
        settings: SettingsRepository,
        links: LinksRepository,
        clock: Clock,
        authorize_url: str,
        state_ttl: timedelta = DEFAULT_STATE_TTL,
        new_nonce: Callable[[], str] = lambda: secrets.token_urlsafe(32),
    ) -> None:
        self._connections = connections
        self._states = states
        self._settings = settings
        self._links = links
        self._clock = clock
        self._authorize_url = authorize_url
        self._state_ttl = state_ttl
        self._new_nonce = new_nonce

    def start(self, merchant_id: str) -> QboConnectResponse:
        """The authorize URL for an onboarded merchant (the caller checked that it exists)."""
        app = self._connections.app_credentials()
        now = self._clock.now()
        stored = OAuthState(
            nonce=self._new_nonce(),
            merchant_id=merchant_id,
            created_at=now,
            expires_at=now + self._state_ttl,
        )
        state = sign_state(
            StateClaims(merchant_id=merchant_id, nonce=stored.nonce, expires_at=stored.expires_at),
            self._connections.state_signing_key(),
        )
        self._states.save_oauth_state(stored)
        query = urlencode(
            {
                "client_id": app.client_id,
                "response_type": "code",
                "scope": ACCOUNTING_SCOPE,
                "redirect_uri": app.redirect_uri,
                "state": state,
            }
        )
        separator = "&" if "?" in self._authorize_url else "?"
        return QboConnectResponse(
            authorize_url=f"{self._authorize_url}{separator}{query}", expires_at=stored.expires_at
        )

    def complete(
        self, *, state: str | None, code: str | None, realm_id: str | None, error: str | None = None
    ) -> QboCallbackResponse:
        """The OAuth redirect: check the state (signature, expiry, one use), then exchange and store."""
        now = self._clock.now()
        claims = verify_state(state or "", self._connections.state_signing_key(), now=now)
        issued = self._states.consume_oauth_state(claims.nonce, now=now)
        if issued is None or issued.merchant_id != claims.merchant_id:
            raise InvalidOAuthState("the connect link was already used or has expired; start again")
        merchant_id = claims.merchant_id
        if error:
            raise AuthorizationRejected("QuickBooks access was not granted")
        if not code:
            raise InvalidRequest("query.code", ["code is required"])
        if not realm_id or not _REALM_ID.fullmatch(realm_id):
            raise InvalidRequest("query.realmId", ["realmId is required and must be a QBO company id"])
        if not self._settings.merchant_exists(merchant_id):
            raise MerchantNotFound(merchant_id)
        self._refuse_realm_change(merchant_id, realm_id)
        try:
            connection = self._connections.connect(merchant_id, code=code, realm_id=realm_id)
        except InvalidGrant:
            raise AuthorizationRejected(
                "QuickBooks refused the authorization code; start the connection again"
            ) from None
        return QboCallbackResponse(
            merchant_id=merchant_id,
            realm_id=connection.realm_id,
            access_token_expires_at=connection.access_token_expires_at,
            refresh_token_expires_at=connection.refresh_token_expires_at,
        )

    def _refuse_realm_change(self, merchant_id: str, realm_id: str) -> None:
        """Links hold QBO ids of one company: connecting another one would point them at strangers."""
        try:
            current = self._connections.stored_connection(merchant_id)
        except QboConnectionBroken:
            return  # an unreadable connection is replaced
        if current is None or current.realm_id == realm_id:
            return
        holds_links = any(
            self._links.list_customers(merchant_id, status, limit=1).items
            for status in ("linked", "source_deleted")
        )
        if holds_links:
            raise Conflict(
                f"merchant is connected to QBO company {current.realm_id} and has linked customers; "
                "linking them to another company would point them at the wrong records"
            )
