"""The local API Gateway: HTTP requests in, REST proxy events to the functions template.yaml routes them to,
their proxy results back out as HTTP responses.

What API Gateway itself decides never reaches a function: an unknown route (403 "Missing Authentication
Token"), an admin call without `Authorization: Bearer <admin token>` (401, standing in for IAM auth), a body
over 10 MB (413), and a function that failed or answered garbage (502).
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

from local.api_routes import ApiRoute, find_route
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
from local.invoker import InvocationResult

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
    ) -> None:
        self._routes = routes
        self._invoke = invoke
        self._admin_token = admin_token
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
        found = find_route(self._routes, request.method, request.path)
        if found is None:
            return gateway_answer(*MISSING_AUTHENTICATION_TOKEN, request_id), None
        route, path_parameters = found
        if route.requires_iam and not self._authorized(request):
            return gateway_answer(*UNAUTHORIZED, request_id), None
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return gateway_answer(*PAYLOAD_TOO_LARGE, request_id), None
        event = rest_proxy_event(request, route, path_parameters, request_id=request_id)
        result = self._invoke(route.function_logical_id, event)
        if not result.ok:
            return gateway_answer(*INTERNAL_SERVER_ERROR, request_id), route.function_logical_id
        return proxy_result_response(result.payload, request_id), route.function_logical_id

    def _authorized(self, request: HttpRequest) -> bool:
        expected = f"Bearer {self._admin_token}".encode()
        values = [value for name, value in request.headers if name.lower() == "authorization"]
        return len(values) == 1 and hmac.compare_digest(values[0].encode(), expected)


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
