"""The local API Gateway: HTTP requests in, REST proxy events to the functions template.yaml routes them to,
their proxy results back out as HTTP responses.

What API Gateway itself decides never reaches a function: an unknown route (403 "Missing Authentication
Token"), an admin call without a valid `Authorization: Bearer ...` (401), a body over 10 MB (413), and a
function that failed or answered garbage (502).

The admin routes are served by two APIs in AWS, and so here: the IAM-authorised AdminApi, for which the
bearer `ADMIN_TOKEN` stands in (an operator), and the console's API, whose Cognito authorizer is stood in for
by local/cognito_tokens.py (the ID token's claims reach the function as `requestContext.authorizer.claims`).

CloudFront's part is played too: a GET that no API route serves is answered from the console's static files
(local/console_files.py), with the page's `config.json`.
"""

from __future__ import annotations

import hmac
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local.api_routes import ApiRoute, find_routes
from local.apigw_events import (
    INTERNAL_SERVER_ERROR,
    MAX_PAYLOAD_BYTES,
    MISSING_AUTHENTICATION_TOKEN,
    PAYLOAD_TOO_LARGE,
    UNAUTHORIZED,
    HttpRequest,
    HttpResponse,
    gateway_answer,
    proxy_result_response,
    rest_proxy_event,
)
from local.cognito_tokens import CognitoIdTokens
from local.console_files import ConsoleFiles
from local.invoker import InvocationResult
from local.schedules import CONTROL_PREFIX, Scheduler

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# (function logical id, event) -> the invocation's result
Invoke = Callable[[str, dict[str, Any]], InvocationResult]
AccessLog = Callable[[str], None]

_RAW_HEADERS = "local.raw_headers"


class _RawHeadersRequestHandler(WSGIRequestHandler):
    """WSGI folds repeated headers into one and loses the client's spelling; API Gateway keeps both
    (multiValueHeaders), so the raw list rides along in the environ. No stderr access log either."""

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        environ[_RAW_HEADERS] = list(self.headers.items())
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class Gateway:
    def __init__(
        self,
        routes: list[ApiRoute],
        invoke: Invoke,
        *,
        admin_token: str,
        access_log: AccessLog | None = None,
        id_tokens: CognitoIdTokens | None = None,
        console: ConsoleFiles | None = None,
        schedules: Scheduler | None = None,
    ) -> None:
        self._routes = routes
        self._invoke = invoke
        self._admin_token = admin_token
        self.id_tokens = id_tokens
        self.console = console
        self.schedules = schedules
        self.access_log = access_log
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def bind(self, host: str, port: int) -> Gateway:
        """Take the port now (0 = a free one) so `url` is known before anything else starts."""
        self._server = make_server(
            host, port, self.wsgi_app, threaded=True, request_handler=_RawHeadersRequestHandler
        )
        self.url = f"http://{host}:{self._server.server_port}"
        return self

    def start(self) -> Gateway:
        if self._server is None:
            raise RuntimeError("bind() the gateway first")
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.1), name="gateway", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
        self._server = None
        self._thread = None

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        began = time.perf_counter()
        request = Request(environ)
        request_id = str(uuid.uuid4())
        answer, function_name = self.handle(_http_request(request, environ), request_id)
        if self.access_log is not None:
            elapsed = (time.perf_counter() - began) * 1000
            target = f" -> {function_name}" if function_name else ""
            self.access_log(f"{request.method} {request.path} {answer.status}{target} ({elapsed:.0f} ms)")
        response = Response(answer.body, status=answer.status)
        response.headers.clear()
        for name, value in answer.headers:
            response.headers.add(name, value)
        return response(environ, start_response)

    def handle(self, request: HttpRequest, request_id: str) -> tuple[HttpResponse, str | None]:
        """The response, and the function that produced it (None when API Gateway answered itself)."""
        if request.path.startswith(CONTROL_PREFIX) and self.schedules is not None:
            return self._run_schedule(request, request_id), None
        candidates = find_routes(self._routes, request.method, request.path)
        if not candidates:
            return self._console_file(request, request_id), None
        authorized = self._authorized(candidates, request)
        if authorized is None:
            return gateway_answer(*UNAUTHORIZED, request_id), None
        route, path_parameters, claims = authorized
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return gateway_answer(*PAYLOAD_TOO_LARGE, request_id), None
        event = rest_proxy_event(
            request, route, path_parameters, request_id=request_id, authorizer_claims=claims
        )
        result = self._invoke(route.function_logical_id, event)
        if not result.ok:
            return gateway_answer(*INTERNAL_SERVER_ERROR, request_id), route.function_logical_id
        return proxy_result_response(result.payload, request_id), route.function_logical_id

    def _run_schedule(self, request: HttpRequest, request_id: str) -> HttpResponse:
        """Not API Gateway's: the stand-in for EventBridge Scheduler (local/schedules.py), admin only."""
        values = [value for name, value in request.headers if name.lower() == "authorization"]
        expected = f"Bearer {self._admin_token}".encode()
        if len(values) != 1 or not hmac.compare_digest(values[0].encode(), expected):
            return gateway_answer(*UNAUTHORIZED, request_id)
        assert self.schedules is not None
        return self.schedules.control(request, request_id)

    def _authorized(
        self, candidates: list[tuple[ApiRoute, dict[str, str]]], request: HttpRequest
    ) -> tuple[ApiRoute, dict[str, str], dict[str, str] | None] | None:
        """The route the request's credentials open, with the ID token's claims when it is the console's:
        a public route; the IAM route for the admin token; the Cognito route for a valid ID token."""
        for route, parameters in candidates:
            if not route.requires_iam and not route.requires_cognito:
                return route, parameters, None
        values = [value for name, value in request.headers if name.lower() == "authorization"]
        if len(values) != 1 or not values[0].startswith("Bearer "):
            return None
        token = values[0].removeprefix("Bearer ")
        for route, parameters in candidates:
            if route.requires_iam and hmac.compare_digest(token.encode(), self._admin_token.encode()):
                return route, parameters, None
        for route, parameters in candidates:
            if route.requires_cognito and self.id_tokens is not None:
                claims = self.id_tokens.claims(token)
                if claims is not None:
                    return route, parameters, claims
        return None

    def _console_file(self, request: HttpRequest, request_id: str) -> HttpResponse:
        found = self.console.get(request.path) if self.console and request.method in ("GET", "HEAD") else None
        if found is None:
            return gateway_answer(*MISSING_AUTHENTICATION_TOKEN, request_id)
        headers = [("Content-Type", found.content_type), *found.headers]
        return HttpResponse(status=200, headers=headers, body=found.body if request.method == "GET" else b"")


def _http_request(request: Request, environ: WSGIEnvironment) -> HttpRequest:
    raw_headers: list[tuple[str, str]] = environ.get(_RAW_HEADERS) or list(request.headers.items())
    query_string = environ.get("QUERY_STRING", "")
    return HttpRequest(
        method=request.method,
        path=request.path,
        headers=raw_headers,
        query=parse_qsl(query_string, keep_blank_values=True),
        body=request.get_data(cache=False),
        source_ip=request.remote_addr or "127.0.0.1",
        host=request.host,
    )
