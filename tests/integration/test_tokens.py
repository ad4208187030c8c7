"""QboTokenProvider with real Secrets Manager and DynamoDB (moto) and the QBO emulator's token endpoint
over loopback HTTP: refresh timing, the per-merchant lease and its fencing token, staging and storing the
rotated tokens before use, and invalid_grant.

The emulator kills a replaced refresh token at once (QBO gives it some hours): the harshest case, in which
a rotation that is lost leaves only a dead refresh token behind."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.dynamodb.models import DynamoDBBackend
from pydantic import ValidationError

from customer_sync.adapters.aws_session import aws_client
from customer_sync.adapters.clock import SystemClock
from customer_sync.adapters.dynamodb_connection import DynamoDbConnectionState
from customer_sync.adapters.http import HttpSession
from customer_sync.adapters.locks import DynamoDbLock
from customer_sync.adapters.qbo_client import QboClient
from customer_sync.adapters.qbo_connection_secret import SecretsManagerQboConnection
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.adapters.tokens import OAuthTokenEndpoint, QboTokenProvider
from customer_sync.config.shared import SecretNames
from customer_sync.errors import (
    InvalidGrant,
    QboAuthorizationFailed,
    QboConnectionBroken,
    QboTransientError,
    SecretNotFound,
)
from customer_sync.models.common import Lease
from customer_sync.models.qbo import QboConnection, StoredConnection, TokenSet
from customer_sync.observability import logger
from emulators.qbo.control import QboEmulatorControl
from emulators.qbo.server import QboEmulator
from tests.fakes.merchant_clients import SettableClock
from tests.fakes.sleep import RecordingSleep
from tests.support.emulators import unthrottled_qbo_emulator

MERCHANT = "merchant-1"
NAMES = SecretNames(secret_prefix="customer-sync/")
SECRET = NAMES.qbo_connection(MERCHANT)
CLIENT_ID = "emulator-client-id"
CLIENT_SECRET = "emulator-client-secret"
REDIRECT_URI = "https://admin.example.test/oauth/qbo/callback"


CLOCK = SystemClock()


@pytest.fixture(scope="module")
def emulator() -> Iterator[QboEmulator]:
    with unthrottled_qbo_emulator(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=(REDIRECT_URI,)
    ) as running:
        yield running


@pytest.fixture
def control(emulator: QboEmulator) -> QboEmulatorControl:
    return QboEmulatorControl(emulator.base_url)


@pytest.fixture
def realm(control: QboEmulatorControl) -> dict[str, Any]:
    return control.create_realm()


@pytest.fixture
def settings_table(local_stack) -> str:
    return str(local_stack.resolver.refs["SettingsTable"])


@pytest.fixture
def endpoint(emulator: QboEmulator) -> OAuthTokenEndpoint:
    return OAuthTokenEndpoint(emulator.token_url, CLIENT_ID, CLIENT_SECRET, timeout_seconds=5)


def store_connection(
    realm: Mapping[str, Any], *, expires_in: timedelta, refresh_token: str | None = None
) -> None:
    connection = QboConnection.model_validate(
        {
            "realm_id": realm["realm_id"],
            "access_token": realm["access_token"],
            "access_token_expires_at": CLOCK.now() + expires_in,
            "refresh_token": refresh_token or realm["refresh_token"],
            "refresh_token_expires_at": CLOCK.now() + timedelta(days=100),
        }
    )
    SecretsStore().put_json(SECRET, connection.to_secret())


def stored_secret() -> dict[str, Any]:
    """Straight from Secrets Manager, bypassing every cache."""
    value = boto3.client("secretsmanager").get_secret_value(SecretId=SECRET)["SecretString"]
    return dict(json.loads(value))


def token_calls(control: QboEmulatorControl, realm: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [call for call in control.calls(realm["realm_id"]) if call["operation"] == "token"]


@pytest.fixture
def make_provider(settings_table: str, endpoint: OAuthTokenEndpoint):
    def make(**overrides: Any) -> QboTokenProvider:
        options: dict[str, Any] = {
            "secret": SecretsManagerQboConnection(SECRET),
            "lock": DynamoDbLock(settings_table, clock=CLOCK),
            "token_endpoint": endpoint,
            "clock": CLOCK,
            "connection_state": DynamoDbConnectionState(settings_table, clock=CLOCK),
            "lock_poll_seconds": 0.02,
            **overrides,
        }
        return QboTokenProvider(MERCHANT, **options)

    return make


# --- when to refresh ----------------------------------------------------------------------------------------


def test_fresh_access_token_is_served_from_the_secret_without_a_token_call(make_provider, control, realm):
    # Given a stored access token valid for another hour
    store_connection(realm, expires_in=timedelta(hours=1))

    # When a token is asked for twice
    provider = make_provider()
    first, second = provider.access_token(), provider.access_token()

    # Then it is the stored one, and the token endpoint was not called
    assert first == second == realm["access_token"]
    assert provider.realm_id() == realm["realm_id"]
    assert token_calls(control, realm) == []


def test_token_expiring_within_five_minutes_is_refreshed_and_the_rotated_tokens_stored(
    make_provider, emulator, control, realm
):
    # Given a stored access token with four minutes left
    store_connection(realm, expires_in=timedelta(minutes=4))

    # When a token is asked for
    fresh = make_provider().access_token()

    # Then a new one came from one refresh, and Secrets Manager holds the new pair
    assert fresh != realm["access_token"]
    assert len(token_calls(control, realm)) == 1
    stored = stored_secret()
    assert stored["access_token"] == fresh
    assert stored["refresh_token"] != realm["refresh_token"]
    assert datetime.fromisoformat(stored["access_token_expires_at"]) > CLOCK.now() + timedelta(minutes=55)
    # and the new access token works
    client = QboClient(emulator.base_url, realm["realm_id"], make_provider())
    assert client.query("SELECT * FROM Customer WHERE DisplayName = 'x'") == {}


def test_new_refresh_token_is_persisted_before_the_new_access_token_is_used(make_provider, emulator, realm):
    # Given an expired access token, and a record of what happens in which order
    store_connection(realm, expires_in=timedelta(seconds=-1))
    events: list[tuple[str, str]] = []

    class RecordingSecret(SecretsManagerQboConnection):
        def stage(self, connection: QboConnection, **options: Any) -> str:
            version = super().stage(connection, **options)
            events.append(("staged", connection.access_token.get_secret_value()))
            return version

        def make_current(self, connection: QboConnection, **options: Any) -> StoredConnection:
            stored = super().make_current(connection, **options)
            events.append(("made current", connection.access_token.get_secret_value()))
            return stored

    class RecordingSession(HttpSession):
        def request(self, method, url, **kwargs):
            events.append(("used", kwargs["headers"]["Authorization"].removeprefix("Bearer ")))
            return super().request(method, url, **kwargs)

    provider = make_provider(secret=RecordingSecret(SECRET))
    client = QboClient(emulator.base_url, realm["realm_id"], provider, session=RecordingSession())

    # When the client makes a call
    client.query("SELECT * FROM Customer WHERE DisplayName = 'x'")

    # Then the new tokens were staged, then made current, and only then was the new access token sent
    new_token = stored_secret()["access_token"]
    assert events == [("staged", new_token), ("made current", new_token), ("used", new_token)]


def test_when_the_new_tokens_cannot_be_stored_the_new_access_token_is_not_handed_out(make_provider, realm):
    # Given Secrets Manager refusing writes
    store_connection(realm, expires_in=timedelta(seconds=-1))

    class ReadOnlySecret(SecretsManagerQboConnection):
        def stage(self, connection: QboConnection, **options: Any) -> str:
            raise RuntimeError("AccessDeniedException")

    sleep = RecordingSleep()
    provider = make_provider(secret=ReadOnlySecret(SECRET), sleep=sleep, persist_attempts=3)

    # When a refresh is needed
    with pytest.raises(QboTransientError, match="could not be stored"):
        provider.access_token()

    # Then the write was tried three times and the stored tokens are the old ones
    assert len(sleep.waits) == 2
    assert stored_secret()["refresh_token"] == realm["refresh_token"]


def test_a_rotation_that_could_not_be_stored_is_stored_at_the_next_chance_not_lost(
    make_provider, settings_table, control, realm
):
    # Given Secrets Manager refusing every write of one refresh (even the staging), and QBO killing a
    # replaced refresh token
    store_connection(realm, expires_in=timedelta(seconds=-1))

    class FlakySecret(SecretsManagerQboConnection):
        refused = 3

        def stage(self, connection: QboConnection, **options: Any) -> str:
            if FlakySecret.refused:
                FlakySecret.refused -= 1
                raise RuntimeError("ServiceUnavailable")
            return super().stage(connection, **options)

    provider = make_provider(secret=FlakySecret(SECRET), sleep=RecordingSleep())
    with pytest.raises(QboTransientError, match="could not be stored"):
        provider.access_token()

    # When the same worker needs a token again, with Secrets Manager back
    token = provider.access_token()

    # Then the rotated tokens from the first refresh are stored and used: no second refresh with the dead
    # token, and the connection is not marked broken
    assert len(token_calls(control, realm)) == 1
    stored = stored_secret()
    assert stored["access_token"] == token
    assert stored["refresh_token"] != realm["refresh_token"]
    assert DynamoDbConnectionState(settings_table, clock=CLOCK).current(MERCHANT) is None


# --- 401 mid-run --------------------------------------------------------------------------------------------


def test_401_mid_run_triggers_exactly_one_refresh_and_the_call_succeeds(
    make_provider, emulator, control, realm
):
    # Given a client working with a token QBO then invalidates
    store_connection(realm, expires_in=timedelta(hours=1))
    seeded = control.seed_customer(realm["realm_id"], DisplayName="Mid Run")
    client = QboClient(emulator.base_url, realm["realm_id"], make_provider())
    client.read_customer(seeded["Id"])
    control.expire_access_tokens(realm["realm_id"])

    # When the next call is made
    read = client.read_customer(seeded["Id"])

    # Then it succeeded after one 401, one refresh and one retry
    assert read.Id == seeded["Id"]
    assert len(token_calls(control, realm)) == 1
    reads = [call["status"] for call in control.calls(realm["realm_id"]) if call["operation"] == "read"]
    assert reads == [200, 401, 200]
    assert client.calls_made == 3


def test_refresh_after_unauthorized_uses_a_token_another_worker_already_stored(make_provider, control, realm):
    # Given worker A holding a token that worker B has since replaced by refreshing
    store_connection(realm, expires_in=timedelta(hours=1))
    worker_a, worker_b = make_provider(), make_provider()
    stale = worker_a.access_token()
    replaced = worker_b.refresh_after_unauthorized(stale)

    # When QBO rejects A's token
    recovered = worker_a.refresh_after_unauthorized(stale)

    # Then A takes B's token without refreshing again
    assert recovered == replaced != stale
    assert len(token_calls(control, realm)) == 1


# --- concurrency --------------------------------------------------------------------------------------------


@pytest.fixture
def atomic_conditional_writes(monkeypatch):
    """DynamoDB applies each conditional write atomically; moto's in-process backend takes no lock, so two
    threads can both pass one condition (both "take" a free lease). Serialise its updates as DynamoDB does."""
    serialised = threading.Lock()
    update_item = DynamoDBBackend.update_item

    def atomic_update_item(self, *args, **kwargs):
        with serialised:
            return update_item(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", atomic_update_item)


def test_workers_refreshing_at_once_call_the_token_endpoint_once(
    make_provider, settings_table, control, realm, atomic_conditional_writes
):
    # Given four workers (separate caches and clients) that have all loaded the now expired access token
    store_connection(realm, expires_in=timedelta(seconds=-1))
    ready = threading.Barrier(4)
    results: list[str] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            lock = DynamoDbLock(settings_table, clock=CLOCK, client=aws_client("dynamodb"))
            provider = make_provider(lock=lock)
            provider.realm_id()  # warm: secret read and clients made before the race starts
            ready.wait()
            results.append(provider.access_token())
        except BaseException as error:
            failures.append(error)

    # When they all ask for a token at the same moment
    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then one of them refreshed, the others waited for the lock and read the stored result
    assert failures == []
    assert len(token_calls(control, realm)) == 1
    assert len(set(results)) == 1 and len(results) == 4
    assert results[0] == stored_secret()["access_token"]


def test_a_lock_held_elsewhere_for_too_long_is_a_transient_error(
    make_provider, settings_table, control, realm
):
    # Given another worker holding the refresh lock and never finishing
    store_connection(realm, expires_in=timedelta(seconds=-1))
    assert DynamoDbLock(settings_table, clock=CLOCK).try_acquire(MERCHANT) is not None
    provider = make_provider(lock_max_polls=3, sleep=RecordingSleep())

    # When a refresh is needed
    with pytest.raises(QboTransientError, match="lease is held"):
        provider.access_token()

    # Then nothing was refreshed (SQS will retry the message later)
    assert token_calls(control, realm) == []


# --- invalid_grant ------------------------------------------------------------------------------------------


def test_a_revoked_refresh_token_marks_the_connection_broken(make_provider, settings_table, control, realm):
    # Given an expired access token and a refresh token QBO has revoked
    store_connection(realm, expires_in=timedelta(seconds=-1))
    control.revoke_refresh_tokens(realm["realm_id"])

    # When a token is asked for
    with pytest.raises(QboConnectionBroken) as raised:
        make_provider().access_token()

    # Then the connection is recorded as broken, after one refused refresh, and nothing secret is said
    assert raised.value.code == "invalid_grant"
    assert raised.value.permanent
    assert realm["refresh_token"] not in str(raised.value)
    assert len(token_calls(control, realm)) == 1
    item = boto3.client("dynamodb").get_item(
        TableName=settings_table, Key={"pk": {"S": f"MERCHANT#{MERCHANT}"}, "sk": {"S": "CONNECTION"}}
    )["Item"]
    assert item["status"] == {"S": "broken"}
    assert "invalid_grant" in item["reason"]["S"]
    assert datetime.fromisoformat(item["at"]["S"]) <= CLOCK.now()


class RivalRotatesFirst:
    """A token endpoint in front of the real one: just before our refresh, a rival worker (whose lease had
    lapsed) refreshes with the same token and stores the result, so our refresh meets invalid_grant."""

    def __init__(
        self, inner: OAuthTokenEndpoint, realm_id: str, *, rival_access_expires_in: timedelta
    ) -> None:
        self._inner = inner
        self._realm_id = realm_id
        self._rival_access_expires_in = rival_access_expires_in
        self.rival: QboConnection | None = None

    def refresh(self, refresh_token: str) -> TokenSet:
        if self.rival is None:
            tokens = self._inner.refresh(refresh_token)
            rotated = QboConnection.from_token_set(self._realm_id, tokens, CLOCK.now())
            self.rival = rotated.model_copy(
                update={"access_token_expires_at": CLOCK.now() + self._rival_access_expires_in}
            )
            SecretsStore().put_json(SECRET, self.rival.to_secret())
        return self._inner.refresh(refresh_token)

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        return self._inner.exchange_code(code, redirect_uri)


def test_invalid_grant_after_another_worker_rotated_uses_the_rotated_tokens(
    make_provider, settings_table, endpoint, control, realm
):
    # Given a rival worker that rotates the tokens just before our refresh
    store_connection(realm, expires_in=timedelta(seconds=-1))
    rival_endpoint = RivalRotatesFirst(
        endpoint, realm["realm_id"], rival_access_expires_in=timedelta(hours=1)
    )

    # When we refresh and QBO says invalid_grant
    token = make_provider(token_endpoint=rival_endpoint).access_token()

    # Then we re-read the stored tokens and use the rival's fresh access token; nothing is marked broken
    assert rival_endpoint.rival is not None
    assert token == rival_endpoint.rival.access_token.get_secret_value()
    assert [call["status"] for call in token_calls(control, realm)] == [200, 400]
    assert DynamoDbConnectionState(settings_table, clock=CLOCK).current(MERCHANT) is None


def test_invalid_grant_after_a_rotation_retries_with_the_stored_refresh_token(
    make_provider, endpoint, control, realm
):
    # Given a rival rotation whose access token is itself about to expire
    store_connection(realm, expires_in=timedelta(seconds=-1))
    rival_endpoint = RivalRotatesFirst(
        endpoint, realm["realm_id"], rival_access_expires_in=timedelta(seconds=10)
    )

    # When we refresh and QBO says invalid_grant
    token = make_provider(token_endpoint=rival_endpoint).access_token()

    # Then we refreshed again with the rival's refresh token and stored the newest pair
    assert rival_endpoint.rival is not None
    assert [call["status"] for call in token_calls(control, realm)] == [200, 400, 200]
    stored = stored_secret()
    assert stored["access_token"] == token
    assert stored["refresh_token"] != rival_endpoint.rival.refresh_token.get_secret_value()


def test_refreshes_401s_and_a_broken_connection_never_log_a_token_or_the_client_secret(
    make_provider, emulator, control, realm, caplog, capsys
):
    # Given debug logging and an expired access token
    store_connection(realm, expires_in=timedelta(seconds=-1))
    seeded = control.seed_customer(realm["realm_id"], DisplayName="Quiet Tokens")
    provider = make_provider()
    client = QboClient(emulator.base_url, realm["realm_id"], provider)
    previous = logger.log_level
    logger.setLevel("DEBUG")
    try:
        # When the client refreshes, meets a 401 mid-run and refreshes again, then the grant is revoked
        client.read_customer(seeded["Id"])
        control.expire_access_tokens(realm["realm_id"])
        client.read_customer(seeded["Id"])
        control.revoke_refresh_tokens(realm["realm_id"])
        control.expire_access_tokens(realm["realm_id"])
        with pytest.raises(QboConnectionBroken) as raised:
            client.read_customer(seeded["Id"])
    finally:
        logger.setLevel(previous)

    # Then no log line, printed output or error shows any token or the client secret
    stored = stored_secret()
    secrets_seen = {
        realm["access_token"],
        realm["refresh_token"],
        stored["access_token"],
        stored["refresh_token"],
        CLIENT_SECRET,
    }
    output = [repr(vars(record)) for record in caplog.records]
    output += list(capsys.readouterr())
    output += [str(raised.value), repr(raised.value)]
    assert len(token_calls(control, realm)) == 3
    assert caplog.records, "the flow logs something, so the check below is not vacuous"
    assert not [secret for secret in secrets_seen for text in output if secret in text]


@pytest.mark.parametrize("model", [QboConnection, TokenSet])
def test_a_malformed_connection_or_grant_never_quotes_its_tokens_in_the_validation_error(model):
    # Given a (short, so pydantic would not abbreviate it) document holding a token but missing fields
    document = {"access_token": "at-SECRET"}

    # When it is validated
    with pytest.raises(ValidationError) as raised:
        model.model_validate(document)

    # Then the error names the missing fields but never quotes the token
    assert "at-SECRET" not in str(raised.value)
    assert ("refresh_token",) in [error["loc"] for error in raised.value.errors()]


def test_a_refresh_token_expires_at_its_hard_limit_when_that_comes_before_the_rolling_one():
    # Given a grant whose refresh token rolls for 100 days but whose connection hits its 5-year limit in 2
    tokens = TokenSet.model_validate(
        {
            "access_token": "a",
            "refresh_token": "r",
            "expires_in": 3600,
            "x_refresh_token_expires_in": 8_640_000,
            "x_refresh_token_hard_expires_in": 172_800,
            "token_type": "bearer",
        }
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)

    # When it becomes the stored connection
    connection = QboConnection.from_token_set("123", tokens, now)

    # Then the refresh token's expiry is the hard one
    assert connection.refresh_token_expires_at == now + timedelta(days=2)


def test_missing_connection_is_a_broken_connection_without_a_token_call(make_provider, control, realm):
    with pytest.raises(QboConnectionBroken) as raised:
        make_provider().access_token()

    assert raised.value.code == "not_connected"
    assert token_calls(control, realm) == []


# --- connecting (authorization code) and the token endpoint itself ------------------------------------------


def test_authorization_code_exchange_stores_the_connection_and_marks_it_connected(
    make_provider, settings_table, emulator, control, realm
):
    # Given a merchant whose connection was broken, and a fresh authorization code from the consent screen
    state = DynamoDbConnectionState(settings_table, clock=CLOCK)
    state.mark_broken(MERCHANT, "invalid_grant")
    code = control.issue_authorization_code(realm["realm_id"], REDIRECT_URI)

    # When the callback exchanges it
    provider = make_provider()
    connection = provider.store_authorization(code, REDIRECT_URI, realm["realm_id"])

    # Then the tokens are stored, the connection is healthy again, and the access token works
    assert stored_secret()["refresh_token"] == connection.refresh_token.get_secret_value()
    current = state.current(MERCHANT)
    assert current is not None and (current.status, current.reason, current.realm_id) == (
        "connected",
        None,
        realm["realm_id"],
    )
    client = QboClient(emulator.base_url, realm["realm_id"], provider)
    assert client.query("SELECT * FROM Customer WHERE DisplayName = 'x'") == {}


def test_a_used_authorization_code_is_invalid_grant(endpoint, control, realm):
    code = control.issue_authorization_code(realm["realm_id"], REDIRECT_URI)
    endpoint.exchange_code(code, REDIRECT_URI)

    with pytest.raises(InvalidGrant):
        endpoint.exchange_code(code, REDIRECT_URI)


def test_wrong_client_secret_is_an_authorization_failure_that_never_shows_the_secret(emulator, realm):
    # Given the wrong app credentials
    endpoint = OAuthTokenEndpoint(emulator.token_url, CLIENT_ID, "wrong-client-secret")

    # When a refresh is attempted
    with pytest.raises(QboAuthorizationFailed) as raised:
        endpoint.refresh(realm["refresh_token"])

    # Then it is invalid_client, and neither the secret nor the refresh token appears anywhere
    assert raised.value.code == "invalid_client"
    for text in (str(raised.value), repr(raised.value), repr(endpoint)):
        assert "wrong-client-secret" not in text
        assert realm["refresh_token"] not in text


def test_token_endpoint_server_errors_are_transient(endpoint, control, realm):
    control.inject_fault(realm_id=realm["realm_id"], operation="token", status=503)

    with pytest.raises(QboTransientError):
        endpoint.refresh(realm["refresh_token"])


# --- the DynamoDB lock --------------------------------------------------------------------------------------


def test_lock_is_exclusive_until_released(settings_table):
    lock = DynamoDbLock(settings_table, clock=CLOCK)

    lease = lock.try_acquire(MERCHANT)
    assert lease is not None
    assert lock.try_acquire(MERCHANT) is None
    assert lock.try_acquire("another-merchant") is not None

    lock.release(MERCHANT, lease)
    assert lock.try_acquire(MERCHANT) is not None


def test_every_holder_of_the_lease_gets_a_larger_fencing_token(settings_table):
    # Given a lease taken and released, then taken again, then lapsed and taken over
    clock = SettableClock(datetime(2026, 1, 1, tzinfo=UTC))
    lock = DynamoDbLock(settings_table, clock=clock, lease_seconds=30)
    first = lock.try_acquire(MERCHANT)
    assert first is not None
    lock.release(MERCHANT, first)
    second = lock.try_acquire(MERCHANT)
    assert second is not None
    clock.advance(seconds=31)
    third = lock.try_acquire(MERCHANT)
    assert third is not None

    # Then each holder's fencing token is larger than every earlier one's
    assert first.fence < second.fence < third.fence


def test_expired_lease_is_taken_over_and_the_old_holder_can_neither_confirm_nor_release_it(settings_table):
    # Given a lease taken by a worker that then stalled past its lease
    clock = SettableClock(datetime(2026, 1, 1, tzinfo=UTC))
    lock = DynamoDbLock(settings_table, clock=clock, lease_seconds=30)
    stalled = lock.try_acquire(MERCHANT)
    assert stalled is not None
    clock.advance(seconds=31)

    # When another worker takes it over, and the stalled one wakes, confirms before a write, and releases
    taken_over = lock.try_acquire(MERCHANT)
    assert taken_over is not None
    stalled_may_write = lock.confirm(MERCHANT, stalled, hold_seconds=30)
    lock.release(MERCHANT, stalled)

    # Then the stalled worker learns it may not write, and the new holder's lease is intact and its own
    assert stalled_may_write is False
    assert lock.try_acquire(MERCHANT) is None
    assert lock.confirm(MERCHANT, taken_over, hold_seconds=30) is True
    item = boto3.client("dynamodb").get_item(
        TableName=settings_table,
        Key={"pk": {"S": f"MERCHANT#{MERCHANT}"}, "sk": {"S": "LOCK#qbo-token-refresh"}},
    )["Item"]
    assert item["owner"] == {"S": taken_over.owner}
    assert item["fence"] == {"N": str(taken_over.fence)}


def test_confirming_a_held_lease_extends_it_past_the_write_it_guards(settings_table):
    # Given a 30-second lease, 25 seconds in, confirmed for another 30 seconds before a write
    clock = SettableClock(datetime(2026, 1, 1, tzinfo=UTC))
    lock = DynamoDbLock(settings_table, clock=clock, lease_seconds=30)
    lease = lock.try_acquire(MERCHANT)
    assert lease is not None
    clock.advance(seconds=25)
    assert lock.confirm(MERCHANT, lease, hold_seconds=30) is True

    # When another worker tries 10 seconds later (past the first 30 seconds) / Then the lease still holds
    clock.advance(seconds=10)
    assert lock.try_acquire(MERCHANT) is None


# --- the holder's worst case: a lease taken over mid-refresh ------------------------------------------------


class StallsPastTheLease:
    """A token endpoint that answers only after the refresh lease has lapsed and a rival worker took it over
    (the rival holds it, but has not refreshed yet)."""

    def __init__(self, inner: OAuthTokenEndpoint, lock_clock: SettableClock, rival_lock: DynamoDbLock):
        self._inner = inner
        self._lock_clock = lock_clock
        self._rival_lock = rival_lock
        self.rival_lease: Lease | None = None

    def refresh(self, refresh_token: str) -> TokenSet:
        tokens = self._inner.refresh(refresh_token)
        self._lock_clock.advance(seconds=61)
        self.rival_lease = self._rival_lock.try_acquire(MERCHANT)
        return tokens

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        return self._inner.exchange_code(code, redirect_uri)


def test_a_holder_that_outlasts_its_lease_never_makes_its_tokens_current_and_the_next_holder_does(
    make_provider, settings_table, endpoint, control, realm
):
    # Given an expired access token, and a refresh whose token call returns after a rival took the lease over
    store_connection(realm, expires_in=timedelta(seconds=-1))
    before = stored_secret()
    lock_clock = SettableClock(CLOCK.now())
    lock = DynamoDbLock(settings_table, clock=lock_clock)
    stalling = StallsPastTheLease(endpoint, lock_clock, DynamoDbLock(settings_table, clock=lock_clock))

    # When the stalled worker gets its answer
    with pytest.raises(QboTransientError, match="taken over"):
        make_provider(lock=lock, token_endpoint=stalling).access_token()

    # Then it noticed before writing: the current tokens are untouched, its rotation is only staged
    assert stalling.rival_lease is not None
    assert stored_secret() == before
    staged = boto3.client("secretsmanager").get_secret_value(SecretId=SECRET, VersionStage="AWSPENDING")
    rotation = json.loads(staged["SecretString"])
    assert rotation["refresh_token"] != realm["refresh_token"]

    # When the rival, holding the lease, releases it and a worker needs a token
    lock.release(MERCHANT, stalling.rival_lease)
    token = make_provider(lock=lock).access_token()

    # Then the staged rotation is made current and used: no second refresh with the dead token, no broken
    # connection
    assert token == rotation["access_token"]
    assert stored_secret()["refresh_token"] == rotation["refresh_token"]
    assert len(token_calls(control, realm)) == 1
    assert DynamoDbConnectionState(settings_table, clock=CLOCK).current(MERCHANT) is None


def test_a_rotation_staged_but_not_made_current_is_made_current_by_another_process(
    make_provider, settings_table, control, realm
):
    # Given a worker whose rotation was staged, but Secrets Manager refused to make it current, and which then
    # died (its memory is gone)
    store_connection(realm, expires_in=timedelta(seconds=-1))

    class CannotMakeCurrent(SecretsManagerQboConnection):
        def make_current(self, connection: QboConnection, **options: Any) -> StoredConnection:
            raise RuntimeError("ServiceUnavailable")

    with pytest.raises(QboTransientError, match="could not be stored"):
        make_provider(secret=CannotMakeCurrent(SECRET), sleep=RecordingSleep()).access_token()
    assert stored_secret()["refresh_token"] == realm["refresh_token"]

    # When another worker, in another process, needs a token
    token = make_provider().access_token()

    # Then the durable staged rotation became current and is used, without a second refresh
    stored = stored_secret()
    assert stored["access_token"] == token
    assert stored["refresh_token"] != realm["refresh_token"]
    assert len(token_calls(control, realm)) == 1
    assert DynamoDbConnectionState(settings_table, clock=CLOCK).current(MERCHANT) is None


def test_a_staged_rotation_of_an_older_version_is_never_made_current(make_provider, control, realm):
    # Given a rotation staged long ago, from a version that is no longer current
    store_connection(realm, expires_in=timedelta(hours=1))
    old_version = boto3.client("secretsmanager").get_secret_value(SecretId=SECRET)["VersionId"]
    stale = QboConnection.model_validate({**stored_secret(), "access_token": "stale-access-token"})
    SecretsManagerQboConnection(SECRET).stage(
        stale, replaces_version_id=old_version, request_token="0" * 32 + "-stale"
    )
    store_connection(realm, expires_in=timedelta(seconds=-1))

    # When a worker refreshes
    token = make_provider().access_token()

    # Then it refreshed normally, and the stale rotation was left alone
    assert token not in {"stale-access-token", realm["access_token"]}
    assert stored_secret()["access_token"] == token
    assert len(token_calls(control, realm)) == 1


# --- the secrets store --------------------------------------------------------------------------------------


def test_secrets_store_creates_then_updates_and_reads_its_own_writes(local_stack):
    store = SecretsStore(default_max_age_seconds=300)

    with pytest.raises(SecretNotFound):
        store.get_json("customer-sync/merchants/nobody/qbo")

    store.put_json("customer-sync/test-secret", {"version": 1})
    assert store.get_json("customer-sync/test-secret") == {"version": 1}
    store.put_json("customer-sync/test-secret", {"version": 2})
    assert store.get_json("customer-sync/test-secret") == {"version": 2}


def test_secrets_store_caches_reads_until_forced(local_stack):
    # Given a cached read, then a write by someone else
    store = SecretsStore(default_max_age_seconds=300)
    SecretsStore().put_json("customer-sync/cached", {"version": 1})
    assert store.get_json("customer-sync/cached") == {"version": 1}
    SecretsStore().put_json("customer-sync/cached", {"version": 2})

    # Then the cache answers until a forced fetch
    assert store.get_json("customer-sync/cached") == {"version": 1}
    assert store.get_json("customer-sync/cached", force_fetch=True) == {"version": 2}
    assert store.get_json("customer-sync/cached", max_age_seconds=0) == {"version": 2}
