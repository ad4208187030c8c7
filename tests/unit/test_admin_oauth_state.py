"""The QBO connect flow's state: signed, expiring, one-time — and a callback that trusts nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from customer_sync.domain.admin.qbo_connect import QboConnect, StateClaims, sign_state, verify_state
from customer_sync.errors import (
    AuthorizationRejected,
    Conflict,
    InvalidGrant,
    InvalidOAuthState,
    InvalidRequest,
    MerchantNotFound,
    QboConnectionBroken,
)
from customer_sync.models.links import CustomerLink
from customer_sync.models.qbo import QboAppCredentials, QboConnection
from customer_sync.models.settings import OAuthState
from tests.fakes.merchant_clients import SettableClock
from tests.fakes.repositories import (
    InMemoryLinksRepository,
    InMemoryOAuthStateRepository,
    InMemorySettingsRepository,
)

KEY = b"k" * 64
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CLAIMS = StateClaims(merchant_id="1225", nonce="n" * 32, expires_at=NOW + timedelta(minutes=10))


class FakeQboConnections:
    def __init__(self) -> None:
        self.stored: dict[str, QboConnection] = {}
        self.codes: dict[str, str] = {}  # code -> realm it was issued for
        self.unreadable: set[str] = set()

    def app_credentials(self) -> QboAppCredentials:
        return QboAppCredentials(
            client_id="app-client",
            client_secret=SecretStr("s"),
            redirect_uri="https://x.test/oauth/qbo/callback",
        )

    def state_signing_key(self) -> bytes:
        return KEY

    def stored_connection(self, merchant_id: str) -> QboConnection | None:
        if merchant_id in self.unreadable:
            raise QboConnectionBroken("malformed", code="malformed")
        return self.stored.get(merchant_id)

    def connect(self, merchant_id: str, *, code: str, realm_id: str) -> QboConnection:
        if self.codes.pop(code, None) != realm_id:
            raise InvalidGrant("token endpoint refused the authorization_code grant", code="invalid_grant")
        connection = QboConnection(
            realm_id=realm_id,
            access_token=SecretStr("at"),
            access_token_expires_at=NOW + timedelta(hours=1),
            refresh_token=SecretStr("rt"),
            refresh_token_expires_at=NOW + timedelta(days=100),
        )
        self.stored[merchant_id] = connection
        return connection


@dataclass
class Parts:
    flow: QboConnect
    connections: FakeQboConnections
    clock: SettableClock
    links: InMemoryLinksRepository
    states: InMemoryOAuthStateRepository

    def __iter__(self):
        return iter((self.flow, self.connections, self.clock, self.links))


@pytest.fixture
def parts() -> Parts:
    clock = SettableClock(NOW)
    settings = InMemorySettingsRepository()
    settings.ensure_merchant("1225", now=NOW)
    connections = FakeQboConnections()
    links = InMemoryLinksRepository()
    states = InMemoryOAuthStateRepository()
    flow = QboConnect(
        connections=connections,
        states=states,
        settings=settings,
        links=links,
        clock=clock,
        authorize_url="https://appcenter.example/connect/oauth2",
    )
    return Parts(flow, connections, clock, links, states)


def started_state(flow: QboConnect) -> str:
    url = flow.start("1225").authorize_url
    return parse_qs(urlsplit(url).query)["state"][0]


# -- the signed state ------------------------------------------------------------------------------------


def test_a_signed_state_verifies_to_its_claims():
    assert verify_state(sign_state(CLAIMS, KEY), KEY, now=NOW) == StateClaims(
        CLAIMS.merchant_id, CLAIMS.nonce, CLAIMS.expires_at.replace(microsecond=0)
    )


@pytest.mark.parametrize(
    "state",
    [
        "",
        "v1",
        "v1..",
        "v2." + sign_state(CLAIMS, KEY).split(".", 1)[1],
        sign_state(CLAIMS, KEY)[:-2] + "AA",
        sign_state(CLAIMS, b"another key of the same length............................"),
        sign_state(CLAIMS, KEY) + ".extra",
        "v1.bm90IGpzb24.c2ln",
        "v1.\u00e9\u00e9.x",
        "x" * 5000,
    ],
)
def test_a_state_not_signed_by_us_is_refused(state):
    with pytest.raises(InvalidOAuthState):
        verify_state(state, KEY, now=NOW)


def test_a_state_with_changed_claims_is_refused():
    version, _, signature = sign_state(CLAIMS, KEY).split(".")
    other_claims = sign_state(StateClaims("9999", CLAIMS.nonce, CLAIMS.expires_at), KEY).split(".")[1]

    with pytest.raises(InvalidOAuthState):
        verify_state(f"{version}.{other_claims}.{signature}", KEY, now=NOW)


def test_an_expired_state_is_refused():
    with pytest.raises(InvalidOAuthState, match="expired"):
        verify_state(sign_state(CLAIMS, KEY), KEY, now=CLAIMS.expires_at + timedelta(seconds=1))


# -- the flow ------------------------------------------------------------------------------------------------


def test_start_builds_the_authorize_url_of_the_app(parts):
    flow, *_ = parts

    response = flow.start("1225")

    query = parse_qs(urlsplit(response.authorize_url).query)
    assert query["client_id"] == ["app-client"]
    assert query["redirect_uri"] == ["https://x.test/oauth/qbo/callback"]
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert response.expires_at == NOW + timedelta(minutes=10)


def test_the_callback_connects_the_merchant_the_state_names(parts):
    # Given a started flow and a code Intuit issued for realm 42
    flow, connections, _, _ = parts
    state = started_state(flow)
    connections.codes["code-1"] = "42"

    # When the callback arrives
    result = flow.complete(state=state, code="code-1", realm_id="42")

    # Then the merchant is connected to that realm
    assert (result.merchant_id, result.realm_id) == ("1225", "42")
    assert connections.stored["1225"].realm_id == "42"


def test_a_state_is_used_once(parts):
    flow, connections, _, _ = parts
    state = started_state(flow)
    connections.codes.update({"code-1": "42", "code-2": "42"})
    flow.complete(state=state, code="code-1", realm_id="42")

    with pytest.raises(InvalidOAuthState, match="already used"):
        flow.complete(state=state, code="code-2", realm_id="42")


def test_a_state_past_its_expiry_is_refused_even_if_never_used(parts):
    flow, connections, clock, _ = parts
    state = started_state(flow)
    connections.codes["code-1"] = "42"
    clock.advance(minutes=11)

    with pytest.raises(InvalidOAuthState):
        flow.complete(state=state, code="code-1", realm_id="42")
    assert connections.stored == {}


def test_a_declined_consent_stores_nothing(parts):
    flow, connections, _, _ = parts

    with pytest.raises(AuthorizationRejected):
        flow.complete(state=started_state(flow), code=None, realm_id=None, error="access_denied")
    assert connections.stored == {}


def test_a_code_intuit_refuses_stores_nothing(parts):
    flow, connections, _, _ = parts

    with pytest.raises(AuthorizationRejected):
        flow.complete(state=started_state(flow), code="stolen", realm_id="42")
    assert connections.stored == {}


@pytest.mark.parametrize(
    ("code", "realm_id", "field"), [(None, "42", "query.code"), ("c", "4 2", "query.realmId")]
)
def test_a_callback_without_a_usable_code_or_realm_is_refused(parts, code, realm_id, field):
    flow, *_ = parts

    with pytest.raises(InvalidRequest) as refused:
        flow.complete(state=started_state(flow), code=code, realm_id=realm_id)
    assert refused.value.field == field


def test_a_merchant_removed_since_the_start_is_not_found(parts):
    # Given a flow started for a merchant that is no longer onboarded
    flow, connections, _, _ = parts
    expires_at = NOW + timedelta(minutes=5)
    parts.states.save_oauth_state(
        OAuthState(nonce="m" * 32, merchant_id="7777", created_at=NOW, expires_at=expires_at)
    )
    state = sign_state(StateClaims("7777", "m" * 32, expires_at), KEY)
    connections.codes["code-1"] = "42"

    # Then its callback finds no merchant

    with pytest.raises(MerchantNotFound):
        flow.complete(state=state, code="code-1", realm_id="42")


def test_connecting_another_company_is_refused_while_customers_are_linked(parts):
    # Given a merchant connected to realm 42 with a linked customer
    flow, connections, _, links = parts
    connections.codes["first"] = "42"
    flow.complete(state=started_state(flow), code="first", realm_id="42")
    links.save_linked(
        CustomerLink(
            merchant_id="1225",
            paysimple_customer_id="1",
            status="linked",
            qbo_customer_id="5",
            updated_at=NOW,
        ),
        expected_version=0,
    )
    connections.codes["second"] = "43"

    # When the admin connects realm 43
    with pytest.raises(Conflict):
        flow.complete(state=started_state(flow), code="second", realm_id="43")

    # Then the merchant stays on realm 42 (and the code was never redeemed)
    assert connections.stored["1225"].realm_id == "42"
    assert "second" in connections.codes


def test_an_unreadable_stored_connection_is_replaced(parts):
    flow, connections, _, _ = parts
    connections.unreadable.add("1225")
    connections.codes["code-1"] = "42"

    assert flow.complete(state=started_state(flow), code="code-1", realm_id="42").realm_id == "42"
