"""API Gateway REST (v1) Lambda proxy integration, both directions: an HTTP request as the event Lambda gets,
and the function's answer as the HTTP response API Gateway sends."""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.api_routes import ApiRoute
from local.cfn import LOCAL_ACCOUNT

# What API Gateway answers itself, never reaching a function.
MISSING_AUTHENTICATION_TOKEN = (403, {"message": "Missing Authentication Token"})
UNAUTHORIZED = (401, {"message": "Unauthorized"})
INTERNAL_SERVER_ERROR = (502, {"message": "Internal server error"})
PAYLOAD_TOO_LARGE = (413, {"message": "Request Too Long"})
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
_LOCAL_ADMIN: dict[str, str | None] = {
    "accountId": LOCAL_ACCOUNT,
    "caller": "AIDALOCALADMINUSER",
    "user": "AIDALOCALADMINUSER",
    "userArn": f"arn:aws:iam::{LOCAL_ACCOUNT}:user/local-admin",
    "accessKey": "ASIALOCALADMINKEY",
}


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: list[tuple[str, str]]  # as sent: original case, repeated names kept, in order
    query: list[tuple[str, str]]  # decoded, in order
    body: bytes
    source_ip: str
    host: str


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def _single_and_multi(
    pairs: list[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway gives both forms: the last value of each name, and every value. None when there is none."""
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _body_field(body: bytes) -> str | None:
    # The template declares no BinaryMediaTypes, so API Gateway passes every body as text (isBase64Encoded
    # false); bytes that are not UTF-8 do not survive that, as in AWS.
    return body.decode("utf-8", errors="replace") if body else None


def rest_proxy_event(
    request: HttpRequest,
    route: ApiRoute,
    path_parameters: dict[str, str],
    *,
    request_id: str,
    authorizer_claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`authorizer_claims`: the verified ID token's claims, on a route behind a Cognito authorizer."""
    headers, multi_value_headers = _single_and_multi(request.headers)
    query, multi_value_query = _single_and_multi(request.query)
    now = time.time()
    user_agent = next((value for name, value in request.headers if name.lower() == "user-agent"), None)
    api_id = route.api_logical_id.lower()
    # With IAM auth API Gateway names the signed-in caller; the admin token stands for one local admin user.
    caller = _LOCAL_ADMIN if route.requires_iam else dict.fromkeys(_LOCAL_ADMIN)
    authorizer = {"authorizer": {"claims": authorizer_claims}} if authorizer_claims is not None else {}
    return {
        "resource": route.resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_value_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_value_query,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": api_id[:6],
            "resourcePath": route.resource_path,
            "httpMethod": request.method,
            "extendedRequestId": request_id,
            "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{route.stage}{request.path}",
            "accountId": LOCAL_ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": route.stage,
            "domainPrefix": api_id,
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "cognitoIdentityId": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userAgent": user_agent,
                **caller,
            },
            "domainName": request.host,
            "apiId": api_id,
            **authorizer,
        },
        "body": _body_field(request.body),
        "isBase64Encoded": False,
    }


def gateway_answer(status: int, body: dict[str, str], request_id: str) -> HttpResponse:
    """A response API Gateway makes itself (auth failure, unknown route, function error)."""
    return HttpResponse(
        status=status,
        headers=[("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)],
        body=json.dumps(body).encode(),
    )


def proxy_result_response(result: Any, request_id: str) -> HttpResponse:
    """The function's return value as the HTTP response; a malformed one is API Gateway's 502."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        return gateway_answer(*INTERNAL_SERVER_ERROR, request_id)
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        return gateway_answer(*INTERNAL_SERVER_ERROR, request_id)
    raw = (body or "").encode("utf-8")
    if result.get("isBase64Encoded") and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except (ValueError, binascii.Error):
            return gateway_answer(*INTERNAL_SERVER_ERROR, request_id)
    # API Gateway merges `headers` into `multiValueHeaders`; a name in both keeps only the multi values.
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        return gateway_answer(*INTERNAL_SERVER_ERROR, request_id)
    if not all(isinstance(values, list) for values in multi.values()):
        return gateway_answer(*INTERNAL_SERVER_ERROR, request_id)
    headers = [(str(name), str(value)) for name, values in multi.items() for value in values]
    headers += [(str(name), str(value)) for name, value in single.items() if name not in multi]
    headers.append(("x-amzn-RequestId", request_id))
    return HttpResponse(status=int(result["statusCode"]), headers=headers, body=raw)
