"""The local API Gateway over real HTTP: the REST proxy events it builds, the responses it sends back, and
what it answers itself. The functions are stand-ins that record their events."""

import base64
import http.client
import json

import pytest
import requests

from local.api_routes import api_routes
from local.cfn import load_template
from local.gateway import Gateway
from local.invoker import InvocationResult

ADMIN_TOKEN = "local-admin-token-for-tests"


class RecordingFunctions:
    def __init__(self):
        self.calls = []
        self.answer = {
            "statusCode": 200,
            "body": "{}",
            "multiValueHeaders": {"Content-Type": ["application/json"]},
        }
        self.error = None

    def invoke(self, logical_id, event):
        self.calls.append((logical_id, event))
        return InvocationResult("request-1", None if self.error else self.answer, self.error, 1.0, 64)


@pytest.fixture
def functions():
    return RecordingFunctions()


@pytest.fixture
def gateway(functions):
    gateway = Gateway(api_routes(load_template()), functions.invoke, admin_token=ADMIN_TOKEN)
    gateway.bind("127.0.0.1", 0).start()
    yield gateway
    gateway.stop()


def test_a_webhook_becomes_a_rest_proxy_event_with_the_raw_body_and_both_header_forms(gateway, functions):
    # Given a webhook body with non-ASCII text, and a header sent twice
    body = '{"event_type":"customer_updated","data":{"first_name":"Zoë"}}'.encode()

    # When PaySimple posts it (http.client: requests cannot send a header twice)
    connection = http.client.HTTPConnection(gateway.url.removeprefix("http://"), timeout=5)
    connection.putrequest("POST", "/webhooks/paysimple?source=ps&tag=a&tag=b")
    for name, value in [("PaySimple-Hmac-SHA256", "abc123"), ("X-Repeated", "one"), ("X-Repeated", "two")]:
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    connection.close()

    # Then IngestFunction got API Gateway's REST proxy event
    assert response.status == 200
    [(function, event)] = functions.calls
    assert function == "IngestFunction"
    assert event["resource"] == "/webhooks/paysimple"
    assert event["path"] == "/webhooks/paysimple"
    assert event["httpMethod"] == "POST"
    assert event["body"].encode("utf-8") == body
    assert event["isBase64Encoded"] is False
    assert event["headers"]["PaySimple-Hmac-SHA256"] == "abc123"
    assert event["headers"]["X-Repeated"] == "two"
    assert event["multiValueHeaders"]["X-Repeated"] == ["one", "two"]
    assert event["queryStringParameters"] == {"source": "ps", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"source": ["ps"], "tag": ["a", "b"]}
    assert event["pathParameters"] is None
    context = event["requestContext"]
    assert context["stage"] == "v1"
    assert context["path"] == "/v1/webhooks/paysimple"
    assert context["resourcePath"] == "/webhooks/paysimple"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userArn"] is None  # the public API has no IAM caller
    assert context["requestId"] == response.getheader("x-amzn-RequestId")


def test_an_admin_call_with_the_token_reaches_the_admin_function_with_its_path_parameters(gateway, functions):
    response = requests.get(
        f"{gateway.url}/admin/merchants/1225/customers?status=unlinked",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=5,
    )

    assert response.status_code == 200
    [(function, event)] = functions.calls
    assert function == "AdminFunction"
    assert event["resource"] == "/admin/{proxy+}"
    assert event["pathParameters"] == {"proxy": "merchants/1225/customers"}
    assert event["queryStringParameters"] == {"status": "unlinked"}
    assert event["body"] is None
    assert event["requestContext"]["identity"]["userArn"] == "arn:aws:iam::123456789012:user/local-admin"


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {ADMIN_TOKEN}", f"bearer {ADMIN_TOKEN}x"]
)
def test_an_admin_call_without_the_right_token_is_refused_before_any_function_runs(
    gateway, functions, authorization
):
    headers = {"Authorization": authorization} if authorization else {}

    response = requests.put(
        f"{gateway.url}/admin/merchants/1225/settings", json={}, headers=headers, timeout=5
    )

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert functions.calls == []


def test_the_oauth_callback_is_public(gateway, functions):
    response = requests.get(f"{gateway.url}/oauth/qbo/callback?code=c&state=s&realmId=1", timeout=5)

    assert response.status_code == 200
    assert functions.calls[0][0] == "AdminFunction"


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/webhooks/paysimple"), ("GET", "/"), ("POST", "/admin")]
)
def test_an_unknown_route_gets_api_gateways_missing_authentication_token(gateway, functions, method, path):
    response = requests.request(method, gateway.url + path, timeout=5)

    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}
    assert functions.calls == []


def test_the_functions_status_headers_and_base64_body_make_the_response(gateway, functions):
    # Given a function answering 202 with headers in both forms and a base64 body
    functions.answer = {
        "statusCode": 202,
        "headers": {"X-Single": "s", "X-Both": "from-headers"},
        "multiValueHeaders": {"X-Both": ["m1", "m2"]},
        "body": base64.b64encode(b"\x00binary").decode(),
        "isBase64Encoded": True,
    }

    response = requests.post(f"{gateway.url}/webhooks/paysimple", data=b"{}", timeout=5)

    # Then the client gets exactly that (a name in both header forms keeps the multi values only)
    assert response.status_code == 202
    assert response.content == b"\x00binary"
    assert response.headers["X-Single"] == "s"
    assert response.headers["X-Both"] == "m1, m2"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (None, {"errorType": "ValueError", "errorMessage": "boom"}),
        ({"body": "no status"}, None),
        ({"statusCode": "200"}, None),
        ({"statusCode": 200, "body": {"not": "a string"}}, None),
        ("just a string", None),
    ],
)
def test_a_failed_or_malformed_function_answer_is_a_502(gateway, functions, answer, error):
    functions.answer = answer
    functions.error = error

    response = requests.post(f"{gateway.url}/webhooks/paysimple", data=b"{}", timeout=5)

    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_the_access_log_names_the_function_and_status(gateway, functions):
    lines: list[str] = []
    gateway.access_log = lines.append

    requests.post(f"{gateway.url}/webhooks/paysimple", data=b"{}", timeout=5)
    requests.get(f"{gateway.url}/admin/field-catalog", timeout=5)

    assert lines[0].startswith("POST /webhooks/paysimple 200 -> IngestFunction")
    assert lines[1].startswith("GET /admin/field-catalog 401 (")
    assert json.dumps(lines).count(ADMIN_TOKEN) == 0
