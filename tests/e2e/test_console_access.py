"""Tenant isolation over HTTP through the gateway: merchant 1225's admin (a Cognito ID token) gets 403 on
every route of merchant 4242 and nothing of 4242 changes; a merchant admin cannot onboard, re-key or invite;
an operator can; a QBO connect started by one console user cannot be completed by anyone else, nor twice."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError

from customer_sync.domain.admin.access import ACCESS_RULES
from local.cognito_tokens import UserPool
from local.console_users import create_operator, id_token, pool_client, set_permanent_password
from tests.support.local_stack_process import HTTP_TIMEOUT_SECONDS

pytestmark = pytest.mark.e2e

PASSWORD = "E2e-Console-Pass-1"
CREDENTIALS = {"api_username": "ps-user", "api_key": "ps-key-123", "webhook_signing_key": "sign-key-123"}

# A valid request for every merchant route (a new route without one here fails the test below).
SAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/admin/merchants/{merchant_id}"): {"json": {"paysimple": CREDENTIALS}},
    ("POST", "/admin/merchants/{merchant_id}/admins"): {"json": {"email": "intruder@example.com"}},
    ("GET", "/admin/merchants/{merchant_id}/qbo/connect"): {},
    ("POST", "/admin/merchants/{merchant_id}/qbo/connection"): {
        "json": {"code": "c", "state": "v1.x.y", "realm_id": "1"}
    },
    ("DELETE", "/admin/merchants/{merchant_id}/qbo/connection"): {},
    ("GET", "/admin/merchants/{merchant_id}/status"): {},
    ("GET", "/admin/merchants/{merchant_id}/settings"): {},
    ("PUT", "/admin/merchants/{merchant_id}/settings"): {"json": {"sync_enabled": False}},
    ("GET", "/admin/merchants/{merchant_id}/mapping"): {},
    ("PUT", "/admin/merchants/{merchant_id}/mapping"): {
        "json": {
            "fields": [
                {"paysimple_field": "FirstName", "qbo_field": "GivenName", "enabled": True},
                {"paysimple_field": "LastName", "qbo_field": "FamilyName", "enabled": True},
            ]
        }
    },
    ("GET", "/admin/merchants/{merchant_id}/customers"): {"params": {"status": "unlinked"}},
    ("GET", "/admin/merchants/{merchant_id}/customers/{paysimple_customer_id}"): {},
    ("GET", "/admin/merchants/{merchant_id}/qbo/customers"): {"params": {"q": "A"}},
    ("POST", "/admin/merchants/{merchant_id}/links"): {
        "json": {"paysimple_customer_id": "1", "qbo_customer_id": "1"}
    },
    ("DELETE", "/admin/merchants/{merchant_id}/links/{paysimple_customer_id}"): {},
    ("POST", "/admin/merchants/{merchant_id}/merges"): {
        "json": {
            "primary_paysimple_customer_id": "1",
            "duplicate_paysimple_customer_ids": ["2"],
            "qbo_customer_id": "1",
        }
    },
    ("DELETE", "/admin/merchants/{merchant_id}/merges/{paysimple_customer_id}"): {},
    ("POST", "/admin/merchants/{merchant_id}/customers/{paysimple_customer_id}/qbo-customer"): {},
    ("POST", "/admin/merchants/{merchant_id}/go-live/apply"): {"json": {}},
    ("GET", "/admin/merchants/{merchant_id}/failures"): {},
    ("POST", "/admin/merchants/{merchant_id}/failures/redrive"): {"json": {}},
    ("POST", "/admin/merchants/{merchant_id}/dry-run"): {"json": {}},
}


class Users:
    def __init__(self, stack, admin) -> None:
        info = stack.info
        self.base = stack.gateway_url
        self.pool = UserPool(info["user_pool_id"], info["user_pool_client_id"], info["aws_endpoint_url"])
        self.admin = admin

    def session(self, email: str) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {id_token(self.pool, email, PASSWORD)}"
        return session

    def call(self, session: requests.Session, method: str, path: str, **kwargs: Any) -> requests.Response:
        return session.request(method, self.base + path, timeout=HTTP_TIMEOUT_SECONDS, **kwargs)

    def invite(self, merchant_id: str, email: str) -> None:
        self.admin.ok("POST", f"/admin/merchants/{merchant_id}/admins", json={"email": email})
        set_permanent_password(self.pool, email, PASSWORD)


@pytest.fixture(scope="module")
def users(running_stack, admin):
    users = Users(running_stack, admin)
    for merchant_id in ("1225", "4242"):
        admin.ok("PUT", f"/admin/merchants/{merchant_id}", json={"paysimple": CREDENTIALS})
        users.invite(merchant_id, f"e2e-admin-{merchant_id}@example.com")
    users.invite("4242", "e2e-second-admin-4242@example.com")
    create_operator(users.pool, "e2e-operator@example.com", PASSWORD)
    return users


def merchant_4242_state(admin) -> dict[str, Any]:
    paths = ["settings", "mapping", "customers?status=linked", "customers?status=unlinked", "failures"]
    return {path: admin.ok("GET", f"/admin/merchants/4242/{path}") for path in paths}


def test_every_merchant_route_has_a_sample_request() -> None:
    merchant_routes = {key for key in ACCESS_RULES if "{merchant_id}" in key[1]}
    assert merchant_routes == set(SAMPLES)


def test_merchant_1225s_admin_gets_403_on_every_4242_route_and_nothing_changes(users, admin, qbo, paysimple):
    # Given merchant 1225's admin, signed in
    intruder = users.session("e2e-admin-1225@example.com")
    before = merchant_4242_state(admin)
    refused = {}
    # When they call every route of merchant 4242
    for (method, template), options in SAMPLES.items():
        path = template.format(merchant_id="4242", paysimple_customer_id="1")
        response = users.call(intruder, method, path, **options)
        refused[(method, template)] = (response.status_code, response.json().get("message"))
    # Then every one is 403, and 4242 is as it was
    assert {key: status for key, (status, _) in refused.items()} == dict.fromkeys(SAMPLES, 403)
    assert merchant_4242_state(admin) == before


def test_a_merchant_admin_cannot_move_themselves_to_another_merchant_through_cognito(users):
    # Given merchant 1225's admin, signed in with the console's app client
    cognito = pool_client(users.pool)
    email = "e2e-admin-1225@example.com"
    signed_in = cognito.initiate_auth(
        ClientId=users.pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )
    # When they ask Cognito to set their custom:merchant_id to 4242
    with pytest.raises(ClientError) as refused:
        cognito.update_user_attributes(
            AccessToken=signed_in["AuthenticationResult"]["AccessToken"],
            UserAttributes=[{"Name": "custom:merchant_id", "Value": "4242"}],
        )
    # Then the console's client may not write it, and a fresh sign-in is still refused 4242's settings
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    fresh = users.session(email)
    assert users.call(fresh, "GET", "/admin/merchants/4242/settings").status_code == 403
    assert users.call(fresh, "GET", "/admin/merchants/1225/settings").status_code == 200


def test_a_merchant_admin_cannot_onboard_rekey_or_invite_but_an_operator_can(users, admin):
    own = users.session("e2e-admin-4242@example.com")
    new_key = {**CREDENTIALS, "webhook_signing_key": secrets.token_urlsafe(16)}
    forbidden: list[tuple[str, str, dict[str, Any]]] = [
        ("PUT", "/admin/merchants/5151", {"json": {"paysimple": CREDENTIALS}}),  # onboard
        ("PUT", "/admin/merchants/4242", {"json": {"paysimple": new_key}}),  # re-key its own merchant
        ("POST", "/admin/merchants/4242/admins", {"json": {"email": "friend@example.com"}}),  # invite
    ]
    for method, path, options in forbidden:
        assert users.call(own, method, path, **options).status_code == 403, path
    assert admin.request("GET", "/admin/merchants/5151/settings").status_code == 404

    # The operator can, with the admin token (IAM stand-in) and signed in to the console alike
    operator = users.session("e2e-operator@example.com")
    assert (
        users.call(operator, "PUT", "/admin/merchants/5151", json={"paysimple": CREDENTIALS}).status_code
        == 201
    )
    assert admin.request("PUT", "/admin/merchants/4242", json={"paysimple": new_key}).status_code == 200
    invited = users.call(
        operator, "POST", "/admin/merchants/4242/admins", json={"email": "friend@example.com"}
    )
    assert invited.status_code == 201, invited.text


def test_status_shows_deployment_queue_depths_to_operators_only(users, admin):
    own = users.call(
        users.session("e2e-admin-4242@example.com"), "GET", "/admin/merchants/4242/status"
    ).json()
    assert own["queue"] is None and own["dead_letter_queue"] is None
    operator = admin.ok("GET", "/admin/merchants/4242/status")
    assert operator["queue"] is not None and operator["dead_letter_queue"] is not None


def test_a_forged_or_missing_token_is_refused_by_the_gateway(users):
    header = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4IiwiY3VzdG9tOm1lcmNoYW50X2lkIjoiNDI0MiJ9.c2lnbmF0dXJl"
    for value in (f"Bearer {header}", "Bearer ", None):
        headers = {"Authorization": value} if value else {}
        response = requests.get(users.base + "/admin/merchants/4242/settings", headers=headers, timeout=10)
        assert response.status_code == 401


def test_a_qbo_connect_is_completed_only_by_the_user_who_started_it_and_only_once(users, admin, qbo):
    # Given 4242's admin starts a connect in the console, and QuickBooks consents
    realm_id = str(qbo.create_realm()["realm_id"])
    qbo.set_consent_realm(realm_id)
    starter = users.session("e2e-admin-4242@example.com")
    authorize_url = users.call(starter, "GET", "/admin/merchants/4242/qbo/connect").json()["authorize_url"]
    consent = requests.get(authorize_url, allow_redirects=False, timeout=HTTP_TIMEOUT_SECONDS)

    # When Intuit's redirect reaches the public callback, it connects nothing: it hands over to the console
    handoff = requests.get(consent.headers["Location"], allow_redirects=False, timeout=HTTP_TIMEOUT_SECONDS)
    assert handoff.status_code == 302 and handoff.headers["Location"].startswith("/#connection?")
    query = {
        k: v[0] for k, v in parse_qs(urlsplit(handoff.headers["Location"]).fragment.split("?", 1)[1]).items()
    }
    body = {"code": query["code"], "state": query["state"], "realm_id": query["realmId"]}
    path = "/admin/merchants/4242/qbo/connection"

    # Then another admin of the same merchant is refused, and so is 1225's admin
    other = users.call(users.session("e2e-second-admin-4242@example.com"), "POST", path, json=body)
    assert other.status_code == 403 and "someone else" in other.json()["message"]
    assert users.call(users.session("e2e-admin-1225@example.com"), "POST", path, json=body).status_code == 403
    assert admin.ok("GET", "/admin/merchants/4242/status")["connection"] == "not_connected"

    # The user who started it completes it; a replay is refused
    done = users.call(starter, "POST", path, json=body)
    assert done.status_code == 200, done.text
    assert admin.ok("GET", "/admin/merchants/4242/status")["realm_id"] == realm_id
    replay = users.call(starter, "POST", path, json=body)
    assert replay.status_code == 400 and "already used" in replay.json()["message"]
