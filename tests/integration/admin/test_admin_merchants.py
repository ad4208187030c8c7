"""AdminFunction: onboarding a merchant, connecting QuickBooks (OAuth over HTTP against the QBO emulator) and
the merchant's status — with moto for AWS. Secrets and tokens are stored, never answered or logged."""

from __future__ import annotations

import base64
import io
import json
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from customer_sync.adapters.clock import SystemClock
from customer_sync.adapters.dynamodb_connection import DynamoDbConnectionState
from customer_sync.adapters.dynamodb_links import DynamoDbLinksRepository
from customer_sync.adapters.dynamodb_settings import DynamoDbSettingsRepository
from customer_sync.adapters.merchant_clients import MerchantClientFactory
from customer_sync.adapters.secrets import SecretsStore
from customer_sync.config import load_settings
from customer_sync.config.shared import SecretNames
from customer_sync.config.sync import SyncSettings
from customer_sync.domain.admin.qbo_connect import StateClaims, sign_state
from customer_sync.models.links import CustomerLink
from customer_sync.models.qbo import QboConnection
from customer_sync.observability import logger as powertools_logger
from tests.support.admin_api import call, paysimple_credentials, secret_json, stored_state
from tests.support.onboarding import QBO_EMULATOR_CLIENT_ID, QBO_REDIRECT_URI

MERCHANT = "1225"


def names(env) -> SecretNames:
    return SecretNames(secret_prefix=env["SECRET_PREFIX"])


@pytest.fixture
def log_text():
    """Everything Powertools logs during the test (its handler's stream is bound at import, so swap it)."""
    stream = io.StringIO()
    handler = powertools_logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(stream)
    yield stream.getvalue
    handler.setStream(previous)


# -- onboarding --------------------------------------------------------------------------------------------


def test_onboarding_stores_the_paysimple_secret_and_never_echoes_it(admin_env, log_text):
    # Given PaySimple credentials for a new merchant
    credentials = paysimple_credentials(MERCHANT)

    # When the merchant is onboarded
    response = call("PUT", f"/admin/merchants/{MERCHANT}", body={"paysimple": credentials})

    # Then it is created, the secret holds the credentials, the ingest function's own secret holds the
    # signing key alone, and no value is answered or logged
    assert response.status == 201
    assert response.json == {"merchant_id": MERCHANT, "created": True, "paysimple_credentials": "stored"}
    assert secret_json(names(admin_env).paysimple(MERCHANT)) == credentials
    assert secret_json(names(admin_env).webhook_signing_key(MERCHANT)) == {
        "webhook_signing_key": credentials["webhook_signing_key"]
    }
    for value in (credentials["api_key"], credentials["webhook_signing_key"]):
        assert value not in response.text
        assert value not in log_text()
    # and the merchant now exists for every merchant route
    assert call("GET", f"/admin/merchants/{MERCHANT}/settings").status == 200


def test_onboarding_again_replaces_the_credentials(admin_env):
    # Given an onboarded merchant
    call("PUT", f"/admin/merchants/{MERCHANT}", body={"paysimple": paysimple_credentials(MERCHANT)})
    rotated = {**paysimple_credentials(MERCHANT), "api_key": "rotated-api-key-0001"}

    # When it is onboarded again with a new API key
    response = call("PUT", f"/admin/merchants/{MERCHANT}", body={"paysimple": rotated})

    # Then it is an update (200) and the secret holds the new key
    assert response.status == 200
    assert response.json["created"] is False
    assert secret_json(names(admin_env).paysimple(MERCHANT))["api_key"] == "rotated-api-key-0001"


def test_onboarding_again_with_a_new_signing_key_replaces_the_ingest_functions_copy(admin_env):
    # Given an onboarded merchant
    call("PUT", f"/admin/merchants/{MERCHANT}", body={"paysimple": paysimple_credentials(MERCHANT)})
    rotated = {**paysimple_credentials(MERCHANT), "webhook_signing_key": "rotated-signing-key-0001"}

    # When it is onboarded again with a new webhook signing key
    call("PUT", f"/admin/merchants/{MERCHANT}", body={"paysimple": rotated})

    # Then both secrets hold the new key
    assert (
        secret_json(names(admin_env).paysimple(MERCHANT))["webhook_signing_key"] == "rotated-signing-key-0001"
    )
    assert secret_json(names(admin_env).webhook_signing_key(MERCHANT)) == {
        "webhook_signing_key": "rotated-signing-key-0001"
    }


@pytest.mark.parametrize(
    ("merchant_id", "body", "status", "field"),
    [
        ("1225", {"paysimple": {"api_username": "u", "api_key": "k"}}, 422, "webhook_signing_key"),
        ("1225", {"paysimple": {**paysimple_credentials("1225"), "api_key": ""}}, 422, "api_key"),
        ("1225", {"paysimple": paysimple_credentials("1225"), "extra": 1}, 422, "extra"),
        ("1225", [], 422, "body"),
        ("bad#id", {"paysimple": paysimple_credentials("1225")}, 422, "merchant_id"),
    ],
)
def test_a_refused_onboarding_writes_nothing(admin_env, merchant_id, body, status, field):
    # Given the stored state before
    before = stored_state()

    # When an onboarding request is refused
    response = call("PUT", f"/admin/merchants/{merchant_id}", body=body)

    # Then it names the field, and no table, secret or queue changed
    assert response.status == status
    assert field in json.dumps(response.json["detail"])
    assert stored_state() == before


def test_malformed_json_is_400_and_writes_nothing(admin_env):
    # Given the stored state before
    before = stored_state()

    # When the body is not JSON
    response = call("PUT", f"/admin/merchants/{MERCHANT}", raw_body='{"paysimple": {')

    # Then 400, nothing written
    assert response.status == 400
    assert response.json["message"] == "request body is not valid JSON"
    assert stored_state() == before


def test_a_body_over_64_kib_is_413_and_writes_nothing(admin_env):
    # Given a body just over the limit
    padded = json.dumps({"paysimple": {**paysimple_credentials(MERCHANT), "api_username": "u" * (64 * 1024)}})
    before = stored_state()

    # When it is sent
    response = call("PUT", f"/admin/merchants/{MERCHANT}", raw_body=padded)

    # Then 413, nothing written
    assert response.status == 413
    assert stored_state() == before


# -- QBO connection ------------------------------------------------------------------------------------------


def test_connect_returns_an_authorize_url_with_a_signed_state(merchants):
    # Given an onboarded merchant
    merchants.onboard(MERCHANT)

    # When the connect URL is asked for
    response = call("GET", f"/admin/merchants/{MERCHANT}/qbo/connect")

    # Then it is Intuit's authorize URL for the app, with a signed state that expires
    assert response.status == 200
    query = parse_qs(urlsplit(response.json["authorize_url"]).query)
    assert query["client_id"] == [QBO_EMULATOR_CLIENT_ID]
    assert query["redirect_uri"] == [QBO_REDIRECT_URI]
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["state"][0].startswith("v1.")
    expires_at = datetime.fromisoformat(response.json["expires_at"])
    assert datetime.now(UTC) < expires_at <= datetime.now(UTC) + timedelta(minutes=10)


def test_the_callback_stores_the_connection_in_the_token_providers_format(
    merchants, admin_env, qbo, log_text
):
    # Given an onboarded merchant who consented at QuickBooks
    merchants.onboard(MERCHANT)
    realm = str(qbo.create_realm()["realm_id"])
    qbo.set_consent_realm(realm)
    callback = merchants.authorize(MERCHANT)

    # When Intuit redirects to the callback
    response = call("GET", "/oauth/qbo/callback", query=callback)

    # Then the connection is stored as the token provider reads it, and the answer holds no token
    assert response.status == 200
    assert response.json["realm_id"] == realm
    assert response.json["status"] == "connected"
    stored = secret_json(names(admin_env).qbo_connection(MERCHANT))
    assert set(stored) == {
        "realm_id",
        "access_token",
        "access_token_expires_at",
        "refresh_token",
        "refresh_token_expires_at",
        "refresh_token_hard_expires_at",
    }
    connection = QboConnection.model_validate(stored)
    for token in (stored["access_token"], stored["refresh_token"]):
        assert token not in response.text
        assert token not in log_text()
    # and the sync's client factory, reading that secret, reaches the realm with it
    clients = MerchantClientFactory.for_settings(
        load_settings(SyncSettings), secrets=SecretsStore(), clock=SystemClock()
    )
    assert clients.qbo(MERCHANT).realm_id == connection.realm_id == realm
    assert clients.qbo(MERCHANT).query("SELECT * FROM Customer") == {}
    # and the connection is healthy
    status = call("GET", f"/admin/merchants/{MERCHANT}/status").json
    assert status["connection"] == "healthy"
    assert status["realm_id"] == realm


def company_info_reads(qbo, realm: str) -> int:
    return sum(1 for call in qbo.calls(realm) if "/companyinfo/" in call["path"])


def test_a_connect_reads_the_company_name_once_and_the_status_shows_it(merchants, qbo, log_text):
    # Given a QBO company a person named in QBO, to which the merchant's admin consents
    merchants.onboard(MERCHANT)
    realm = str(qbo.create_realm()["realm_id"])
    qbo.rename_company(realm, "Doe Plumbing & Sons")
    qbo.set_consent_realm(realm)

    # When Intuit redirects to the callback, and the status is read twice
    connected = call("GET", "/oauth/qbo/callback", query=merchants.authorize(MERCHANT)).json
    statuses = [call("GET", f"/admin/merchants/{MERCHANT}/status").json for _ in range(2)]

    # Then the name was read from QBO once, at the connect, and every status shows it; it is never logged
    assert connected["company_name"] == "Doe Plumbing & Sons"
    assert [status["company_name"] for status in statuses] == ["Doe Plumbing & Sons"] * 2
    assert company_info_reads(qbo, realm) == 1
    assert "Doe Plumbing" not in log_text()


def test_a_company_name_qbo_fails_to_give_leaves_the_connection_up_until_the_next_connect_reads_it(
    merchants, qbo
):
    # Given QBO's CompanyInfo read fails (503, twice: the admin API's two attempts) at the first connect
    merchants.onboard(MERCHANT)
    realm = str(qbo.create_realm()["realm_id"])
    qbo.set_consent_realm(realm)
    qbo.inject_fault(realm_id=realm, operation="read", status=503, count=2)

    # When the merchant connects
    first = call("GET", "/oauth/qbo/callback", query=merchants.authorize(MERCHANT))

    # Then the connection is made and healthy, with the name unknown
    assert (first.status, first.json["company_name"]) == (200, None)
    status = call("GET", f"/admin/merchants/{MERCHANT}/status").json
    assert (status["connection"], status["realm_id"], status["company_name"]) == ("healthy", realm, None)

    # And when the merchant reconnects the same company, its name is read and shown
    call("GET", "/oauth/qbo/callback", query=merchants.authorize(MERCHANT))
    status = call("GET", f"/admin/merchants/{MERCHANT}/status").json
    assert status["company_name"] == f"Sandbox Company {realm}"


def test_connecting_another_company_shows_only_the_new_companys_name(merchants, qbo):
    # Given a merchant connected to a named company, without linked customers
    merchants.onboard(MERCHANT)
    first, second = (str(qbo.create_realm()["realm_id"]) for _ in range(2))
    qbo.rename_company(first, "First Books")
    qbo.set_consent_realm(first)
    call("GET", "/oauth/qbo/callback", query=merchants.authorize(MERCHANT))

    # When it connects another company whose name QBO fails to give
    qbo.set_consent_realm(second)
    qbo.inject_fault(realm_id=second, operation="read", status=503, count=2)
    call("GET", "/oauth/qbo/callback", query=merchants.authorize(MERCHANT))

    # Then the status names no company rather than the old one
    status = call("GET", f"/admin/merchants/{MERCHANT}/status").json
    assert (status["realm_id"], status["company_name"]) == (second, None)


def test_a_reused_state_is_refused_and_stores_nothing(merchants, admin_env, qbo):
    # Given a callback that already connected the merchant
    merchants.onboard(MERCHANT)
    qbo.set_consent_realm(str(qbo.create_realm()["realm_id"]))
    callback = merchants.authorize(MERCHANT)
    assert call("GET", "/oauth/qbo/callback", query=callback).status == 200
    before = stored_state()

    # When the same state comes back again (with a fresh code for another company)
    other_realm = str(qbo.create_realm()["realm_id"])
    replay = {
        **callback,
        "code": qbo.issue_authorization_code(other_realm, QBO_REDIRECT_URI),
        "realmId": other_realm,
    }
    response = call("GET", "/oauth/qbo/callback", query=replay)

    # Then 400 and nothing changed
    assert response.status == 400
    assert stored_state() == before


def test_a_tampered_state_is_refused_and_stores_nothing(merchants, qbo):
    # Given a genuine callback whose state names another merchant
    merchants.onboard(MERCHANT)
    merchants.onboard("1226")
    qbo.set_consent_realm(str(qbo.create_realm()["realm_id"]))
    callback = merchants.authorize(MERCHANT)
    version, claims, signature = callback["state"].split(".")
    payload = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    payload["m"] = "1226"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    before = stored_state()

    # When the forged state is used
    response = call(
        "GET", "/oauth/qbo/callback", query={**callback, "state": f"{version}.{forged}.{signature}"}
    )

    # Then 400 and nothing changed
    assert response.status == 400
    assert stored_state() == before


def test_an_expired_state_is_refused_and_stores_nothing(merchants, admin_env, qbo):
    # Given a state signed with the deployment's key that expired a minute ago
    merchants.onboard(MERCHANT)
    realm = str(qbo.create_realm()["realm_id"])
    key = secret_json(f"{admin_env['SECRET_PREFIX']}oauth-state-key")["key"].encode()
    expired = StateClaims(MERCHANT, "n" * 32, datetime.now(UTC) - timedelta(minutes=1))
    callback = {
        "code": qbo.issue_authorization_code(realm, QBO_REDIRECT_URI),
        "state": sign_state(expired, key),
        "realmId": realm,
    }
    before = stored_state()

    # When Intuit's redirect arrives
    response = call("GET", "/oauth/qbo/callback", query=callback)

    # Then 400 and nothing changed
    assert response.status == 400
    assert "expired" in response.json["message"]
    assert stored_state() == before


def test_a_declined_consent_is_refused_and_stores_nothing(merchants):
    # Given the admin declined at QuickBooks (Intuit redirects with error=access_denied)
    merchants.onboard(MERCHANT)
    started = call("GET", f"/admin/merchants/{MERCHANT}/qbo/connect").json
    state = parse_qs(urlsplit(started["authorize_url"]).query)["state"][0]
    before = stored_state()

    # When the callback arrives
    response = call("GET", "/oauth/qbo/callback", query={"error": "access_denied", "state": state})

    # Then 400; only the one-time state was used up
    assert response.status == 400
    after = stored_state()
    assert after["secrets"] == before["secrets"]
    assert call("GET", f"/admin/merchants/{MERCHANT}/status").json["connection"] == "not_connected"


def test_reconnecting_to_another_company_is_refused_while_customers_are_linked(merchants, admin_env, qbo):
    # Given a connected merchant with a linked customer
    first_realm = merchants.ready(MERCHANT)
    DynamoDbLinksRepository(admin_env["LINKS_TABLE_NAME"]).save_linked(
        CustomerLink(
            merchant_id=MERCHANT,
            paysimple_customer_id="8053900",
            status="linked",
            qbo_customer_id="1",
            first_name="Ann",
            last_name="Lee",
            updated_at=datetime.now(UTC),
        ),
        expected_version=0,
    )
    qbo.set_consent_realm(str(qbo.create_realm()["realm_id"]))
    callback = merchants.authorize(MERCHANT)
    before = stored_state()

    # When the admin consents for another QBO company
    response = call("GET", "/oauth/qbo/callback", query=callback)

    # Then 409: the links would point at another company's customers; nothing changed
    assert response.status == 409
    assert first_realm in response.json["message"]
    assert stored_state()["secrets"] == before["secrets"]


def test_connect_for_an_unknown_merchant_is_404(admin_env):
    assert call("GET", "/admin/merchants/9999/qbo/connect").status == 404


# -- status ------------------------------------------------------------------------------------------------


def test_status_of_a_merchant_without_qbo_is_not_connected(merchants):
    # Given an onboarded merchant that never connected QuickBooks
    merchants.onboard(MERCHANT)

    # When its status is read
    status = call("GET", f"/admin/merchants/{MERCHANT}/status").json

    # Then
    assert status["connection"] == "not_connected"
    assert status["realm_id"] is None
    assert status["sync_enabled"] is False


def test_status_shows_expiries_health_last_sync_and_queue_depths_but_no_token(merchants, admin_env):
    # Given a connected merchant whose refresh was refused, a sync done, and changes queued and dead-lettered
    realm = merchants.ready(MERCHANT)
    stored = secret_json(names(admin_env).qbo_connection(MERCHANT))
    DynamoDbConnectionState(admin_env["SETTINGS_TABLE_NAME"], clock=SystemClock()).mark_broken(
        MERCHANT, "QBO rejected the stored refresh token (invalid_grant); reconnect QuickBooks"
    )
    synced_at = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    DynamoDbSettingsRepository(admin_env["SETTINGS_TABLE_NAME"]).record_successful_sync(MERCHANT, synced_at)
    sqs = boto3.client("sqs")
    for url, count in ((admin_env["CHANGES_QUEUE_URL"], 2), (admin_env["CHANGES_DLQ_URL"], 1)):
        for number in range(count):
            sqs.send_message(
                QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId=f"d{number}"
            )

    # When the status is read
    response = call("GET", f"/admin/merchants/{MERCHANT}/status")

    # Then it reports all of it, and neither token
    status = response.json
    assert status["connection"] == "broken"
    assert "invalid_grant" in status["connection_reason"]
    assert status["realm_id"] == realm
    assert datetime.fromisoformat(status["access_token_expires_at"]) == datetime.fromisoformat(
        stored["access_token_expires_at"]
    )
    assert status["refresh_token_expires_at"] is not None
    assert datetime.fromisoformat(status["last_successful_sync"]) == synced_at
    assert status["queue"]["visible"] == 2
    assert status["dead_letter_queue"]["visible"] == 1
    assert stored["access_token"] not in response.text
    assert stored["refresh_token"] not in response.text


def test_status_of_an_unknown_merchant_is_404(admin_env):
    assert call("GET", "/admin/merchants/unknown/status").status == 404
