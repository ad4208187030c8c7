"""Intuit OAuth 2.0: the token endpoint (authorization_code and rotating refresh_token grants) and an
authorize endpoint that consents at once, as if the user had clicked "Connect"."""

from __future__ import annotations

import base64
import binascii
import time
from urllib.parse import urlencode

from werkzeug.wrappers import Request

from emulators.qbo import faults
from emulators.qbo.replies import HTML_TYPE, TEXT_TYPE, Reply, json_reply, raw_reply
from emulators.qbo.store import CallRecord, EmulatorState, FaultRule

TOKEN_PATH = "/oauth2/v1/tokens/bearer"
AUTHORIZE_PATH = "/connect/oauth2"
# Intuit revokes on another host (developer.api.intuit.com); the emulator serves it on its one host.
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def serve_token_request(state: EmulatorState, request: Request) -> Reply:
    if state.latency_ms > 0:
        time.sleep(state.latency_ms / 1000)
    form = request.form
    realm_id = _grant_realm(state, form.get("grant_type"), form.get("code"), form.get("refresh_token"))
    rule = state.take_fault(realm_id, "token")
    reply = _injected_token_fault(rule) if rule is not None else _grant(state, request)
    _record(state, request, realm_id, "token", reply)
    return reply


def _record(
    state: EmulatorState, request: Request, realm_id: str | None, operation: str, reply: Reply
) -> None:
    """The OAuth endpoints' calls go in the call log under their realm, as API calls do."""
    state.record_call(
        CallRecord(
            realm_id=realm_id or "",
            method=request.method,
            path=request.path,
            query=request.args.to_dict(),
            operation=operation,
            status=reply.status,
            requestid=None,
            replayed=False,
        )
    )


def _grant(state: EmulatorState, request: Request) -> Reply:
    if request.method != "POST":
        return _oauth_error(405, "invalid_request")
    if not _client_authenticated(state, request.headers.get("Authorization", "")):
        return _oauth_error(401, "invalid_client")
    if request.mimetype != "application/x-www-form-urlencoded":
        return _oauth_error(400, "invalid_request")
    form = request.form
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        grant = state.redeem_authorization_code(form.get("code", ""), form.get("redirect_uri", ""))
    elif grant_type == "refresh_token":
        grant = state.redeem_refresh_token(form.get("refresh_token", ""))
    else:
        return _oauth_error(400, "unsupported_grant_type")
    if grant is None:
        return _oauth_error(400, "invalid_grant")
    return json_reply(200, grant, _NO_STORE)


def _grant_realm(
    state: EmulatorState, grant_type: str | None, code: str | None, refresh_token: str | None
) -> str | None:
    if grant_type == "authorization_code" and code:
        return state.authorization_code_realm(code)
    if grant_type == "refresh_token" and refresh_token:
        return state.refresh_token_realm(refresh_token)
    return None


def _client_authenticated(state: EmulatorState, authorization: str) -> bool:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    client_id, _, client_secret = decoded.partition(":")
    return client_id == state.settings.client_id and client_secret == state.settings.client_secret


def _oauth_error(status: int, error: str) -> Reply:
    return json_reply(status, {"error": error}, _NO_STORE)


def _injected_token_fault(rule: FaultRule) -> Reply:
    if rule.latency_ms > 0:
        time.sleep(rule.latency_ms / 1000)
    if rule.body is not None:
        return raw_reply(rule.status, rule.body)
    if rule.status == 401:
        return _oauth_error(401, rule.code or "invalid_client")
    if 400 <= rule.status < 500 and rule.status != 429:
        return _oauth_error(rule.status, rule.code or "invalid_grant")
    if rule.status == 429:
        return faults.throttled_reply()
    if rule.status in (502, 503, 504):
        return faults.gateway_reply(rule.status)
    return _oauth_error(rule.status, rule.code or "server_error")


def serve_revoke_request(state: EmulatorState, request: Request) -> Reply:
    """Disconnect: `{"token": <refresh or access token>}` as JSON, with the app's Basic credentials. Every
    token of that connection dies (refresh → invalid_grant, access → 401). An unknown or already revoked
    token is answered 200 as well (RFC 7009): there is nothing left to revoke."""
    realm_id: str | None = None
    reply: Reply
    if request.method != "POST":
        reply = _oauth_error(405, "invalid_request")
    elif not _client_authenticated(state, request.headers.get("Authorization", "")):
        reply = _oauth_error(401, "invalid_client")
    else:
        body = request.get_json(silent=True) if request.mimetype == "application/json" else None
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            reply = _oauth_error(400, "invalid_request")
        else:
            realm_id = state.revoke_token(token)
            reply = Reply(200, b"", TEXT_TYPE)
    _record(state, request, realm_id, "revoke", reply)
    return reply


def serve_authorize_request(state: EmulatorState, request: Request) -> Reply:
    """Consent at once for the consent realm (or `realm_id` if given) and redirect back with a code."""
    args = request.args
    redirect_uri = args.get("redirect_uri", "")
    problems = [
        args.get("client_id") != state.settings.client_id and "unknown client_id",
        args.get("response_type") != "code" and "response_type must be code",
        ACCOUNTING_SCOPE not in args.get("scope", "").split() and f"scope must include {ACCOUNTING_SCOPE}",
        not redirect_uri.startswith(("http://", "https://")) and "redirect_uri is required",
        redirect_uri.startswith(("http://", "https://"))
        and not state.redirect_uri_registered(redirect_uri)
        and (
            "The redirect_uri query parameter value is invalid: it must be listed in the Redirect URIs of "
            "the app's Keys & OAuth page and match it exactly"
        ),
        not args.get("state") and "state is required",
    ]
    errors = [problem for problem in problems if problem]
    if errors:
        page = "<html><body><h1>Invalid request</h1><p>" + "; ".join(errors) + "</p></body></html>"
        return Reply(400, page.encode(), HTML_TYPE)
    realm_id = args.get("realm_id") or state.consent_realm_id
    code = state.issue_authorization_code(realm_id, redirect_uri)
    separator = "&" if "?" in redirect_uri else "?"
    location = (
        redirect_uri + separator + urlencode({"code": code, "state": args["state"], "realmId": realm_id})
    )
    return Reply(302, b"", TEXT_TYPE, {"Location": location})
