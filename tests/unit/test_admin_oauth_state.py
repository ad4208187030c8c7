"""The QBO connect flow's state: signed, expiring, one-time — and a callback that trusts nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from customer_sync.domain.admin.qbo_connect import (
    ConsoleHandoff,
    QboConnect,
    StateClaims,
    sign_state,
    verify_state,
)
from customer_sync.errors import (
    AuthorizationRejected,
    Conflict,
    Forbidden,
    InvalidGrant,
    InvalidOAuthState,
    InvalidRequest,
    MerchantNotFound,
    QboBudgetExhausted,
    QboConnectionBroken,
    QboTransientError,
    RealmChangeUnconfirmed,
)
from customer_sync.models.admin import QboCallbackResponse, QboConnectionRequest
from customer_sync.models.history import ParkedFailure
from customer_sync.models.links import CustomerLink
from customer_sync.models.messages import CustomerChangeMessage
from customer_sync.models.qbo import QboAppCredentials, QboConnection
from customer_sync.models.settings import OAuthState
from customer_sync.ports import ConnectionRecord
from tests.fakes.merchant_clients import FakeMerchantClients, SettableClock
from tests.fakes.qbo import FakeQboCustomers
from tests.fakes.qbo_side import InMemoryRealmDirectory, RecordingChangePublisher
from tests.fakes.repositories import (
    InMemoryFailuresRepository,
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

    def clear(self, merchant_id: str, *, realm_id: str | None, at: datetime) -> None:
        self.stored.pop(merchant_id, None)


@dataclass
class Parts:
    flow: QboConnect
    connections: FakeQboConnections
    clock: SettableClock
    links: InMemoryLinksRepository
    states: InMemoryOAuthStateRepository
    audit: FakeConnectionAudit
    qbo: FakeQboCustomers
    failures: InMemoryFailuresRepository
    publisher: RecordingChangePublisher
    realms: InMemoryRealmDirectory

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
    audit = FakeConnectionAudit()
    clients = FakeMerchantClients()
    _, qbo = clients.add_merchant("1225")
    qbo.company_name = "Doe Plumbing <Supplies>"
    failures, publisher = InMemoryFailuresRepository(), RecordingChangePublisher()
    realms = InMemoryRealmDirectory()
    flow = QboConnect(
        connections=connections,
        states=states,
        settings=settings,
        links=links,
        audit=audit,
        clients=clients,
        realms=realms,
        failures=failures,
        publisher=publisher,
        clock=clock,
        authorize_url="https://appcenter.example/connect/oauth2",
    )
    return Parts(flow, connections, clock, links, states, audit, qbo, failures, publisher, realms)


class FakeConnectionAudit:
    def __init__(self) -> None:
        self.records: dict[str, ConnectionRecord] = {}
        self.company_names: dict[str, tuple[str, str]] = {}  # merchant -> (realm id, company name)

    def record_connected_by(self, merchant_id: str, who: str, at: datetime) -> None:
        self.records[merchant_id] = ConnectionRecord(who, at)

    def connected_by(self, merchant_id: str) -> ConnectionRecord | None:
        return self.records.get(merchant_id)

    def record_company_name(self, merchant_id: str, realm_id: str, company_name: str) -> None:
        self.company_names[merchant_id] = (realm_id, company_name)


def unlink_nobody(merchant_id: str) -> int:
    raise AssertionError("nobody is unlinked without a confirmed change of QBO company")


def complete(flow: QboConnect, **callback: Any) -> QboCallbackResponse:
    """The public callback of a state no console user is bound to."""
    completed = flow.complete(unlink_all=unlink_nobody, **callback)
    assert isinstance(completed, QboCallbackResponse)
    return completed


def started_state(flow: QboConnect) -> str:
    url = flow.start("1225", started_by="ops@example.com", bound_to_user=None).authorize_url
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

    response = flow.start("1225", started_by="ops@example.com", bound_to_user=None)

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
    result = complete(flow, state=state, code="code-1", realm_id="42")

    # Then the merchant is connected to that realm
    assert (result.merchant_id, result.realm_id) == ("1225", "42")
    assert connections.stored["1225"].realm_id == "42"


def test_a_connect_reads_the_company_name_once_and_keeps_it(parts):
    # Given a started connect and a code Intuit issued for company 42
    flow, connections, _, _ = parts
    connections.codes["code-1"] = "42"

    # When the callback completes it
    connected = complete(flow, state=started_state(flow), code="code-1", realm_id="42")

    # Then QBO's CompanyInfo was read once, and the name is kept for that company and answered
    assert parts.qbo.operations() == ["company_info"]
    assert parts.audit.company_names == {"1225": ("42", "Doe Plumbing <Supplies>")}
    assert connected.company_name == "Doe Plumbing <Supplies>"


@pytest.mark.parametrize(
    "failure", [QboTransientError("QBO answered 503"), QboBudgetExhausted(retry_after=30.0)]
)
def test_a_company_name_qbo_does_not_give_leaves_the_connect_standing_and_the_name_unknown(parts, failure):
    # Given QBO fails the CompanyInfo read (an outage, or the company's request budget used up)
    flow, connections, _, _ = parts
    connections.codes["code-1"] = "42"
    parts.qbo.fail_next(failure, operation="company_info")

    # When the callback completes the connect
    connected = complete(flow, state=started_state(flow), code="code-1", realm_id="42")

    # Then the merchant is connected, who connected is recorded, and the name is unknown (nothing kept)
    assert connected.realm_id == "42"
    assert connected.company_name is None
    assert "1225" in connections.stored
    assert parts.audit.connected_by("1225") == ConnectionRecord("ops@example.com", NOW)
    assert parts.audit.company_names == {}


def parked(event_id: str, reason: str, merchant_id: str = "1225") -> ParkedFailure:
    message = CustomerChangeMessage(
        merchant_id=merchant_id,
        customer_id="42",
        event_type="customer_updated",
        event_id=event_id,
        occurred_at=NOW,
    )
    return ParkedFailure(
        merchant_id=merchant_id,
        paysimple_customer_id="42",
        event_id=event_id,
        message=message,
        reason=reason,
        parked_at=NOW,
    )


def test_reconnecting_sends_the_changes_the_broken_connection_parked_again(parts):
    # Given changes parked for the broken connection, one for a validation error, one of another merchant
    flow, connections, _, _ = parts
    for failure in (
        parked("evt_broken", "qbo_connection_broken"),
        parked("evt_refused", "qbo_authorization_failed"),
        parked("evt_invalid", "qbo_validation_error"),
        parked("evt_other", "qbo_connection_broken", merchant_id="1226"),
    ):
        parts.failures.park(failure)
    connections.codes["code-1"] = "42"

    # When the merchant reconnects
    result = complete(flow, state=started_state(flow), code="code-1", realm_id="42")

    # Then the two the connection parked are sent again, as a redrive would, and stay listed until applied
    assert result.requeued_changes == 2
    assert sorted((m.event_id, m.redrive_attempt) for m in parts.publisher.changes) == [
        ("evt_broken", 1),
        ("evt_refused", 1),
    ]
    assert sorted(
        (f.event_id, f.message.redrive_attempt) for f in parts.failures.list_failures("1225").items
    ) == [("evt_broken", 1), ("evt_invalid", 0), ("evt_refused", 1)]


def test_a_reconnect_whose_requeue_fails_still_connects_and_leaves_the_changes_parked(parts):
    # Given a parked change, and a queue that cannot be reached
    flow, connections, _, _ = parts
    parts.failures.park(parked("evt_broken", "qbo_connection_broken"))
    parts.publisher.publish = failing_publish
    connections.codes["code-1"] = "42"

    # When the merchant reconnects
    result = complete(flow, state=started_state(flow), code="code-1", realm_id="42")

    # Then it is connected, and the change is still parked as it was, for a redrive
    assert (result.realm_id, result.requeued_changes) == ("42", 0)
    [failure] = parts.failures.list_failures("1225").items
    assert (failure.event_id, failure.message.redrive_attempt) == ("evt_broken", 0)


def failing_publish(message: CustomerChangeMessage) -> None:
    raise ConnectionError("queue unreachable")


def test_a_state_is_used_once(parts):
    flow, connections, _, _ = parts
    state = started_state(flow)
    connections.codes.update({"code-1": "42", "code-2": "42"})
    complete(flow, state=state, code="code-1", realm_id="42")

    with pytest.raises(InvalidOAuthState, match="already used"):
        complete(flow, state=state, code="code-2", realm_id="42")


def test_a_state_past_its_expiry_is_refused_even_if_never_used(parts):
    flow, connections, clock, _ = parts
    state = started_state(flow)
    connections.codes["code-1"] = "42"
    clock.advance(minutes=11)

    with pytest.raises(InvalidOAuthState):
        complete(flow, state=state, code="code-1", realm_id="42")
    assert connections.stored == {}


def test_a_declined_consent_stores_nothing(parts):
    flow, connections, _, _ = parts

    with pytest.raises(AuthorizationRejected):
        complete(flow, state=started_state(flow), code=None, realm_id=None, error="access_denied")
    assert connections.stored == {}


def test_a_code_intuit_refuses_stores_nothing(parts):
    flow, connections, _, _ = parts

    with pytest.raises(AuthorizationRejected):
        complete(flow, state=started_state(flow), code="stolen", realm_id="42")
    assert connections.stored == {}


@pytest.mark.parametrize(
    ("code", "realm_id", "field"), [(None, "42", "query.code"), ("c", "4 2", "query.realmId")]
)
def test_a_callback_without_a_usable_code_or_realm_is_refused(parts, code, realm_id, field):
    flow, *_ = parts

    with pytest.raises(InvalidRequest) as refused:
        complete(flow, state=started_state(flow), code=code, realm_id=realm_id)
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
        complete(flow, state=state, code="code-1", realm_id="42")


def linked_on_realm_42(parts: Parts) -> None:
    """Merchant 1225 connected to realm 42 (recorded as its company), with a linked customer."""
    parts.connections.codes["first"] = "42"
    complete(parts.flow, state=started_state(parts.flow), code="first", realm_id="42")
    parts.realms.register("1225", "42")
    parts.links.save_linked(
        CustomerLink(
            merchant_id="1225",
            paysimple_customer_id="1",
            status="linked",
            qbo_customer_id="5",
            updated_at=NOW,
        ),
        expected_version=0,
    )


def test_connecting_another_company_is_refused_while_customers_are_linked(parts):
    # Given a merchant connected to realm 42 with a linked customer
    flow, connections, _, _ = parts
    linked_on_realm_42(parts)
    connections.codes["second"] = "43"

    # When the admin connects realm 43
    with pytest.raises(Conflict):
        complete(flow, state=started_state(flow), code="second", realm_id="43")

    # Then the merchant stays on realm 42 (and the code was never redeemed)
    assert connections.stored["1225"].realm_id == "42"
    assert "second" in connections.codes


def test_an_unreadable_stored_connection_is_replaced(parts):
    flow, connections, _, _ = parts
    connections.unreadable.add("1225")
    connections.codes["code-1"] = "42"

    assert complete(flow, state=started_state(flow), code="code-1", realm_id="42").realm_id == "42"


# -- a connect started in the console is bound to its user --------------------------------------------------

USER_A = "cognito:aaaa-1111"
USER_B = "cognito:bbbb-2222"


def user_state(flow: QboConnect, user: str = USER_A, merchant_id: str = "1225") -> str:
    url = flow.start(merchant_id, started_by="ann@example.com", bound_to_user=user).authorize_url
    return parse_qs(urlsplit(url).query)["state"][0]


def console_request(state: str, code: str = "code-1", realm_id: str = "42", confirm: bool = False):
    return QboConnectionRequest(code=code, state=state, realm_id=realm_id, confirm_realm_change=confirm)


def test_the_public_callback_hands_a_users_state_to_the_console_without_using_it(parts):
    # Given a connect started by console user A
    flow, connections, _, _ = parts
    state = user_state(flow)
    connections.codes["code-1"] = "42"

    # When Intuit redirects to the public callback
    handed = flow.complete(state=state, code="code-1", realm_id="42", unlink_all=unlink_nobody)

    # Then nothing is connected: the browser is sent to the console with the query in the fragment
    assert isinstance(handed, ConsoleHandoff)
    assert handed.location.startswith("/#connection?")
    assert parse_qs(handed.location.split("?", 1)[1])["state"] == [state]
    assert connections.stored == {}


def test_only_the_user_who_started_the_connect_completes_it(parts):
    # Given a connect started by console user A
    flow, connections, _, _ = parts
    state = user_state(flow)
    connections.codes["code-1"] = "42"

    # When user B completes it, it is refused and nothing is stored
    with pytest.raises(Forbidden):
        flow.complete_for_user(
            "1225", user_id=USER_B, request=console_request(state), unlink_all=unlink_nobody
        )
    assert connections.stored == {}

    # Then user A still can (B's attempt did not use the state up), and who connected is recorded
    connected = flow.complete_for_user(
        "1225", user_id=USER_A, request=console_request(state), unlink_all=unlink_nobody
    )
    assert connected.realm_id == "42"
    assert parts.audit.connected_by("1225") == ConnectionRecord("ann@example.com", NOW)


def test_a_users_state_is_refused_when_replayed_or_expired(parts):
    flow, connections, clock, _ = parts
    connections.codes["code-1"] = "42"
    state = user_state(flow)
    flow.complete_for_user("1225", user_id=USER_A, request=console_request(state), unlink_all=unlink_nobody)

    # A replay of a used state is refused
    connections.codes["code-2"] = "42"
    with pytest.raises(InvalidOAuthState):
        flow.complete_for_user(
            "1225", user_id=USER_A, request=console_request(state, "code-2"), unlink_all=unlink_nobody
        )

    # And so is one past its expiry
    late = user_state(flow)
    clock.advance(minutes=11)
    with pytest.raises(InvalidOAuthState):
        flow.complete_for_user(
            "1225", user_id=USER_A, request=console_request(late, "code-2"), unlink_all=unlink_nobody
        )


def test_a_state_without_a_user_or_for_another_merchant_is_refused_in_the_console(parts):
    flow, connections, _, _ = parts
    connections.codes["code-1"] = "42"
    # An operator's (unbound) state cannot be completed by a console user
    with pytest.raises(Forbidden):
        flow.complete_for_user(
            "1225", user_id=USER_A, request=console_request(started_state(flow)), unlink_all=unlink_nobody
        )
    # Nor can a state started for merchant 1225 be completed on another merchant's route
    with pytest.raises(Forbidden):
        flow.complete_for_user(
            "4242", user_id=USER_A, request=console_request(user_state(flow)), unlink_all=unlink_nobody
        )
    assert connections.stored == {}


def test_another_company_needs_a_confirmation_that_unlinks_everyone_first(parts):
    # Given a merchant on realm 42 with a linked customer
    flow, connections, _, _ = parts
    linked_on_realm_42(parts)
    connections.codes["second"] = "43"
    state = user_state(flow)
    unlinked: list[str] = []

    def unlink_all(merchant_id: str) -> int:
        unlinked.append(merchant_id)
        return 1

    # When user A completes realm 43 without confirming, it is refused (409) and the state stays usable
    with pytest.raises(RealmChangeUnconfirmed):
        flow.complete_for_user(
            "1225", user_id=USER_A, request=console_request(state, "second", "43"), unlink_all=unlink_all
        )
    assert unlinked == [] and connections.stored["1225"].realm_id == "42"

    # Then, confirmed, everyone is unlinked and realm 43 is connected
    flow.complete_for_user(
        "1225", user_id=USER_A, request=console_request(state, "second", "43", True), unlink_all=unlink_all
    )
    assert unlinked == ["1225"] and connections.stored["1225"].realm_id == "43"


def confirm_realm_43(parts: Parts, code: str) -> list[str | None]:
    """User A confirms connecting realm 43 with `code`; returns the company recorded for the merchant at
    each call of unlink_all (the error, if any, is raised after the list is filled)."""
    company_while_unlinking: list[str | None] = []

    def unlink_all(merchant_id: str) -> int:
        company_while_unlinking.append(parts.realms.realm_of(merchant_id))
        return 1

    request = console_request(user_state(parts.flow), code, "43", True)
    try:
        parts.flow.complete_for_user("1225", user_id=USER_A, request=request, unlink_all=unlink_all)
    except AuthorizationRejected:
        company_while_unlinking.append("refused")
    return company_while_unlinking


def test_a_confirmed_change_of_company_records_the_new_one_before_anybody_is_unlinked(parts):
    # Given a merchant on realm 42 with a linked customer
    linked_on_realm_42(parts)
    parts.connections.codes["second"] = "43"

    # When the admin confirms connecting realm 43
    company_while_unlinking = confirm_realm_43(parts, "second")

    # Then realm 43 was the merchant's recorded company while everyone was unlinked (the sync and the
    # admin API call no company meanwhile: the stored connection was still realm 42's), and is now stored
    assert company_while_unlinking == ["43"]
    assert parts.connections.stored["1225"].realm_id == "43"


def test_a_change_of_company_that_fails_before_the_new_connection_is_stored_records_the_old_one_again(parts):
    # Given a merchant on realm 42 with a linked customer, and an authorization code QBO refuses
    linked_on_realm_42(parts)
    parts.connections.codes["second"] = "another realm"

    # When the admin confirms connecting realm 43
    company_while_unlinking = confirm_realm_43(parts, "second")

    # Then realm 43 was recorded while everyone was unlinked, the connect was refused, and realm 42 is the
    # merchant's company again, as its stored connection says
    assert company_while_unlinking == ["43", "refused"]
    assert parts.realms.realm_of("1225") == "42"
    assert parts.connections.stored["1225"].realm_id == "42"
