"""The QBO connect flow: an authorize URL carrying a signed, expiring, one-time `state`, and the callback
that trusts nothing but that state.

The state is `v1.<claims>.<signature>`: base64url JSON claims `{"m": merchant id, "n": nonce, "e": expiry
epoch seconds}` and base64url HMAC-SHA256 over `v1.<claims>` with the deployment's state key. The signature
makes it unforgeable, `e` makes it expire, and the nonce — stored when the URL is issued and taken out
(at most once) by the callback — makes it one-time. The callback's `realmId` and `code` are only used after
the state checks out, and a refused callback stores nothing.

Two more claims, both optional:
- `u`: the console user who started the connect (`cognito:<sub>`). Such a state is completed only by that
  same user, signed in: Intuit's redirect to the public callback hands the query over to the console
  (`#connection?...`), whose page posts it to `POST /admin/merchants/{id}/qbo/connection` with the user's ID
  token. Anyone else, signed in or not, is refused, and the state stays unused for its owner. A state
  without `u` (started by an operator's IAM-signed script) completes at the public callback, as before.
- `c`: the starter already confirmed connecting a different QBO company than the one the links point into.

A different company needs that confirmation (RealmChangeUnconfirmed, 409, before the state is used up).
When confirmed, the new company is recorded as the merchant's (ports.RealmDirectory) and every linked
customer is unlinked, before the new connection is stored: their QBO ids belong to the old company. Between
the two, the sync and the admin API call no company for the merchant (the stored connection is not the
recorded company's: QboCompanyChanging), so no customer is linked in the old company meanwhile. A change
that fails before the connection is stored records the old company again.

Once connected, the company's name is read from QBO's CompanyInfo, once per connect (a metered read, on
the company's request budget like every QBO call) and kept beside the connection's health for the status.
The connect stands if that read fails: the name is then unknown until the next connect (Reconnect).
Self-healing: once the new connection is stored, the merchant's changes parked because the connection was
broken (or QBO refused the app's authorization) are sent to the queue again (domain.redrive), with no admin
redrive. A send that fails leaves them parked (and listed) for a redrive; the connection stands either way.
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

from customer_sync.domain.redrive import resend_all_parked
from customer_sync.domain.sync.outcomes import PARK_QBO_AUTHORIZATION_FAILED, PARK_QBO_CONNECTION_BROKEN
from customer_sync.errors import (
    AuthorizationRejected,
    Forbidden,
    InvalidGrant,
    InvalidOAuthState,
    InvalidRequest,
    MerchantNotFound,
    QboConnectionBroken,
    QboError,
    RealmChangeUnconfirmed,
)
from customer_sync.models.admin import QboCallbackResponse, QboConnectionRequest, QboConnectResponse
from customer_sync.models.settings import OAuthState
from customer_sync.observability import logger
from customer_sync.ports import (
    ChangePublisher,
    Clock,
    ConnectionAudit,
    FailuresRepository,
    LinksRepository,
    MerchantClients,
    OAuthStateRepository,
    QboConnections,
    RealmDirectory,
    SettingsRepository,
)

STATE_VERSION = "v1"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
DEFAULT_STATE_TTL = timedelta(minutes=10)
MAX_STATE_LENGTH = 1024
# Intuit's realm ids are numbers; anything else in a callback is not from Intuit.
_REALM_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")
# Parked changes a new connection heals.
_PARKED_BY_THE_CONNECTION = frozenset({PARK_QBO_CONNECTION_BROKEN, PARK_QBO_AUTHORIZATION_FAILED})


@dataclass(frozen=True)
class StateClaims:
    merchant_id: str
    nonce: str
    expires_at: datetime
    user_id: str | None = None
    confirm_realm_change: bool = False


@dataclass(frozen=True)
class ConsoleHandoff:
    """The public callback's answer to a state bound to a console user: a redirect to the console page that
    completes it with the user's token. The query rides in the fragment, which browsers never send."""

    location: str


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


def _signature(signed_part: str, key: bytes) -> str:
    return _b64encode(hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest())


def sign_state(claims: StateClaims, key: bytes) -> str:
    payload: dict[str, str | int | bool] = {
        "m": claims.merchant_id,
        "n": claims.nonce,
        "e": int(claims.expires_at.timestamp()),
    }
    if claims.user_id is not None:
        payload["u"] = claims.user_id
    if claims.confirm_realm_change:
        payload["c"] = True
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
            user_id=str(payload["u"]) if "u" in payload else None,
            confirm_realm_change=payload.get("c") is True,
        )
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError, OverflowError):
        raise InvalidOAuthState("invalid state") from None
    if claims.expires_at <= now:
        raise InvalidOAuthState("the connect link has expired; start again")
    return claims


CONSOLE_CALLBACK = "/#connection"


class QboConnect:
    def __init__(
        self,
        *,
        connections: QboConnections,
        states: OAuthStateRepository,
        settings: SettingsRepository,
        links: LinksRepository,
        audit: ConnectionAudit,
        clients: MerchantClients,
        realms: RealmDirectory,
        failures: FailuresRepository,
        publisher: ChangePublisher,
        clock: Clock,
        authorize_url: str,
        state_ttl: timedelta = DEFAULT_STATE_TTL,
        new_nonce: Callable[[], str] = lambda: secrets.token_urlsafe(32),
    ) -> None:
        self._connections = connections
        self._states = states
        self._settings = settings
        self._links = links
        self._audit = audit
        self._clients = clients
        self._realms = realms
        self._failures = failures
        self._publisher = publisher
        self._clock = clock
        self._authorize_url = authorize_url
        self._state_ttl = state_ttl
        self._new_nonce = new_nonce

    def start(
        self,
        merchant_id: str,
        *,
        started_by: str | None,
        bound_to_user: str | None,
        confirm_realm_change: bool = False,
    ) -> QboConnectResponse:
        """The authorize URL for an onboarded merchant (the caller checked that it exists). `bound_to_user`:
        the console user who alone may complete it; `started_by`: who is recorded as having connected."""
        app = self._connections.app_credentials()
        now = self._clock.now()
        stored = OAuthState(
            nonce=self._new_nonce(),
            merchant_id=merchant_id,
            created_at=now,
            expires_at=now + self._state_ttl,
            started_by=started_by,
        )
        claims = StateClaims(
            merchant_id=merchant_id,
            nonce=stored.nonce,
            expires_at=stored.expires_at,
            user_id=bound_to_user,
            confirm_realm_change=confirm_realm_change,
        )
        state = sign_state(claims, self._connections.state_signing_key())
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
        self,
        *,
        state: str | None,
        code: str | None,
        realm_id: str | None,
        error: str | None = None,
        unlink_all: Callable[[str], int],
    ) -> QboCallbackResponse | ConsoleHandoff:
        """The public OAuth redirect. A state bound to a console user is handed to the console untouched;
        any other is checked (signature, expiry, one use), then the code is exchanged and stored."""
        now = self._clock.now()
        claims = verify_state(state or "", self._connections.state_signing_key(), now=now)
        if claims.user_id is not None:
            handed = {"state": state, "code": code, "realmId": realm_id, "error": error}
            query = urlencode({name: value for name, value in handed.items() if value})
            return ConsoleHandoff(location=f"{CONSOLE_CALLBACK}?{query}")
        return self._finish(
            claims,
            code=code,
            realm_id=realm_id,
            error=error,
            confirmed=claims.confirm_realm_change,
            unlink_all=unlink_all,
        )

    def complete_for_user(
        self,
        merchant_id: str,
        *,
        user_id: str | None,
        request: QboConnectionRequest,
        unlink_all: Callable[[str], int],
    ) -> QboCallbackResponse:
        """The console's half of a connect its user started: only that user, for that merchant."""
        now = self._clock.now()
        claims = verify_state(request.state, self._connections.state_signing_key(), now=now)
        if claims.user_id is None or claims.user_id != user_id:
            raise Forbidden("this QuickBooks connection was started by someone else; start it again yourself")
        if claims.merchant_id != merchant_id:
            raise Forbidden("this QuickBooks connection was started for another merchant")
        return self._finish(
            claims,
            code=request.code,
            realm_id=request.realm_id,
            error=None,
            confirmed=request.confirm_realm_change or claims.confirm_realm_change,
            unlink_all=unlink_all,
        )

    def _finish(
        self,
        claims: StateClaims,
        *,
        code: str | None,
        realm_id: str | None,
        error: str | None,
        confirmed: bool,
        unlink_all: Callable[[str], int],
    ) -> QboCallbackResponse:
        merchant_id = claims.merchant_id
        if error:
            self._states.consume_oauth_state(claims.nonce, now=self._clock.now())
            raise AuthorizationRejected("QuickBooks access was not granted")
        if not code:
            raise InvalidRequest("query.code", ["code is required"])
        if not realm_id or not _REALM_ID.fullmatch(realm_id):
            raise InvalidRequest("query.realmId", ["realmId is required and must be a QBO company id"])
        if not self._settings.merchant_exists(merchant_id):
            raise MerchantNotFound(merchant_id)
        changes_realm = self._changes_realm(merchant_id, realm_id)
        if changes_realm and not confirmed:
            raise RealmChangeUnconfirmed(
                f"this merchant is connected to QBO company {changes_realm} and has linked customers; "
                f"connecting company {realm_id} instead unlinks them all. Confirm to go ahead"
            )
        now = self._clock.now()
        issued = self._states.consume_oauth_state(claims.nonce, now=now)
        if issued is None or issued.merchant_id != merchant_id:
            raise InvalidOAuthState("the connect link was already used or has expired; start again")
        if changes_realm:
            # The new company is recorded first: from now on the sync and the admin API call neither
            # company for this merchant (the stored connection is the old one's) until the new connection
            # is stored, so nobody links a customer of the old company while everyone is being unlinked.
            self._realms.register(merchant_id, realm_id)
        try:
            if changes_realm:
                unlink_all(merchant_id)
            connection = self._connections.connect(merchant_id, code=code, realm_id=realm_id)
        except InvalidGrant:
            self._keep_old_company(merchant_id, changes_realm)
            raise AuthorizationRejected(
                "QuickBooks refused the authorization code; start the connection again"
            ) from None
        except Exception:
            self._keep_old_company(merchant_id, changes_realm)
            raise
        if issued.started_by:
            self._audit.record_connected_by(merchant_id, issued.started_by, now)
        company_name = self._read_company_name(merchant_id, connection.realm_id)
        return QboCallbackResponse(
            merchant_id=merchant_id,
            realm_id=connection.realm_id,
            company_name=company_name,
            access_token_expires_at=connection.access_token_expires_at,
            refresh_token_expires_at=connection.refresh_token_expires_at,
            requeued_changes=self._requeue_parked(merchant_id),
        )

    def _keep_old_company(self, merchant_id: str, old_realm_id: str | None) -> None:
        """A change of company that failed before the new connection was stored: the old company is the
        merchant's again (those already unlinked stay unlinked; connecting again finishes the change)."""
        if old_realm_id is not None:
            self._realms.register(merchant_id, old_realm_id)

    def _read_company_name(self, merchant_id: str, realm_id: str) -> str | None:
        """The company's name, read once and kept; None (unknown) when QBO did not give it."""
        try:
            name = self._clients.qbo(merchant_id).company_info().name
        except QboError as error:
            # The connection is made; only its label is missing. The name itself is never logged.
            logger.warning(
                "QBO company name not read at connect",
                extra={"merchant_id": merchant_id, "realm_id": realm_id, "error_type": type(error).__name__},
            )
            return None
        if name is not None:
            self._audit.record_company_name(merchant_id, realm_id, name)
        return name

    def _requeue_parked(self, merchant_id: str) -> int:
        """The changes the broken connection parked, sent again; how many were."""
        try:
            sent = resend_all_parked(
                self._failures,
                self._publisher,
                merchant_id,
                chosen=lambda failure: failure.reason in _PARKED_BY_THE_CONNECTION,
            )
        except Exception as error:  # the connection is stored: the rest stay parked for a redrive
            logger.warning(
                "parked changes were not sent again after reconnecting",
                extra={"merchant_id": merchant_id, "error": type(error).__name__},
            )
            return 0
        if sent:
            logger.info(
                "parked changes sent again after reconnecting",
                extra={"merchant_id": merchant_id, "count": len(sent)},
            )
        return len(sent)

    def _changes_realm(self, merchant_id: str, realm_id: str) -> str | None:
        """The realm the links point into, if `realm_id` is another one and links exist."""
        try:
            current = self._connections.stored_connection(merchant_id)
        except QboConnectionBroken:
            return None  # an unreadable connection is replaced
        if current is None or current.realm_id == realm_id:
            return None
        holds_links = any(
            self._links.list_customers(merchant_id, status, limit=1).items
            for status in ("linked", "source_deleted")
        )
        return current.realm_id if holds_links else None
