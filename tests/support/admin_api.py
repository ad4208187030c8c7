"""Helpers of the AdminFunction tests: API Gateway REST proxy events for the admin API, the handler called
as Lambda calls it, a merchant onboarded and connected through the API itself (the OAuth flow runs over
HTTP against the QBO emulator), and a snapshot of everything stored, to prove a refusal wrote nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import boto3
import requests

from emulators.paysimple.control import PaySimpleEmulatorControl
from emulators.qbo.control import QboEmulatorControl
from events.generate import rest_proxy_event
from functions.admin.app import lambda_handler
from tests.support.lambda_context import LambdaContextStub
from tests.support.onboarding import QBO_REDIRECT_URI

ADMIN_API_ID = "adm1n4p1xx"
ADMIN_ROLE_ARN = "arn:aws:sts::123456789012:assumed-role/CustomerSyncAdmin/ops@example.com"


@dataclass(frozen=True)
class AdminResponse:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def admin_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A REST proxy event as API Gateway sends it from AdminApi (/admin/* after IAM auth, naming the caller;
    the OAuth callback is public)."""
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    is_admin = path.startswith("/admin/")
    return rest_proxy_event(
        text,
        method=method,
        path=quote(path),
        resource="/admin/{proxy+}" if is_admin else path,
        query=query,
        path_parameters={"proxy": path.removeprefix("/admin/")} if is_admin else None,
        headers=headers,
        api_id=ADMIN_API_ID,
        user_agent=None,
        user_arn=ADMIN_ROLE_ARN if is_admin else None,
        request_id="5e0f7a44-0b1c-4d2e-9f30-000000000005",
    )


def invoke(event: dict[str, Any]) -> AdminResponse:
    result = lambda_handler(event, LambdaContextStub("AdminFunction", remaining_millis=29_000))
    headers = {name: values[-1] for name, values in (result.get("multiValueHeaders") or {}).items()}
    headers.update(result.get("headers") or {})
    return AdminResponse(status=int(result["statusCode"]), headers=headers, text=result.get("body") or "")


def call(method: str, path: str, **options: Any) -> AdminResponse:
    return invoke(admin_event(method, path, **options))


def stored_state() -> dict[str, Any]:
    """Every item of every table, every secret's value and every queue's messages count. Not the QBO request
    budget: it meters the QBO calls a refusal may still make (a lookup of the customer it names), it holds
    no merchant data."""
    dynamodb = boto3.client("dynamodb")
    tables = {
        name: sorted(
            json.dumps(item, sort_keys=True)
            for item in dynamodb.scan(TableName=name, ConsistentRead=True)["Items"]
        )
        for name in dynamodb.list_tables()["TableNames"]
        if "QboBudgetTable" not in name
    }
    secretsmanager = boto3.client("secretsmanager")
    secrets = {
        entry["Name"]: secretsmanager.get_secret_value(SecretId=entry["Name"])["SecretString"]
        for entry in secretsmanager.list_secrets()["SecretList"]
    }
    sqs = boto3.client("sqs")
    queues = {
        url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]
        for url in sqs.list_queues().get("QueueUrls", [])
    }
    return {"tables": tables, "secrets": secrets, "queues": queues}


def secret_json(name: str) -> dict[str, Any]:
    """A secret's current value, straight from Secrets Manager (no cache)."""
    value: dict[str, Any] = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    )
    return value


def paysimple_credentials(merchant_id: str) -> dict[str, str]:
    return {
        "api_username": f"apiuser-{merchant_id}",
        "api_key": f"ps-api-key-{merchant_id}-0f3c9a",
        "webhook_signing_key": f"ps-signing-key-{merchant_id}-77d1e2",
    }


class Merchants:
    """Onboards and connects merchants only through the admin API, as an operator would."""

    def __init__(self, qbo: QboEmulatorControl, paysimple: PaySimpleEmulatorControl) -> None:
        self.qbo = qbo
        self.paysimple = paysimple

    def onboard(self, merchant_id: str) -> dict[str, str]:
        credentials = paysimple_credentials(merchant_id)
        self.paysimple.add_merchant(merchant_id, **credentials)
        response = call("PUT", f"/admin/merchants/{merchant_id}", body={"paysimple": credentials})
        assert response.status in (200, 201), response.text
        return credentials

    def connect(self, merchant_id: str, realm_id: str | None = None) -> str:
        """The connect flow: authorize URL from the API, consent at the emulator, callback to the API."""
        realm = realm_id or str(self.qbo.create_realm()["realm_id"])
        self.qbo.set_consent_realm(realm)
        callback = self.authorize(merchant_id)
        response = call("GET", "/oauth/qbo/callback", query=callback)
        assert response.status == 200, response.text
        return realm

    def authorize(self, merchant_id: str) -> dict[str, str]:
        """Follow the authorize URL to the emulator; return the query it redirects to the callback with."""
        started = call("GET", f"/admin/merchants/{merchant_id}/qbo/connect")
        assert started.status == 200, started.text
        consent = requests.get(started.json["authorize_url"], allow_redirects=False, timeout=10)
        assert consent.status_code == 302, consent.text
        location = urlsplit(consent.headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == QBO_REDIRECT_URI
        return {name: values[0] for name, values in parse_qs(location.query).items()}

    def ready(self, merchant_id: str) -> str:
        self.onboard(merchant_id)
        return self.connect(merchant_id)
