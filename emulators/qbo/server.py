"""QboEmulator: the QBO API, Intuit OAuth and the control API on one real HTTP server in a thread."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Self

from werkzeug.wrappers import Request

from emulators.http_server import BackgroundHttpServer
from emulators.qbo.api import serve_api_request
from emulators.qbo.control_api import serve_control_request
from emulators.qbo.entities import PHONE_LIMIT
from emulators.qbo.oauth import (
    AUTHORIZE_PATH,
    REVOKE_PATH,
    TOKEN_PATH,
    serve_authorize_request,
    serve_revoke_request,
    serve_token_request,
)
from emulators.qbo.query import MAX_RESULTS_LIMIT
from emulators.qbo.replies import json_reply
from emulators.qbo.store import EmulatorSettings, EmulatorState
from emulators.qbo.timestamps import new_intuit_tid

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class QboEmulator:
    """A faithful QBO stand-in. `start()` serves it on a daemon thread; `state` gives direct access."""

    def __init__(
        self,
        *,
        client_id: str = "emulator-client-id",
        client_secret: str = "emulator-client-secret",  # noqa: S107 - the emulator's well-known demo secret
        access_token_ttl_seconds: int = 3600,
        refresh_token_ttl_seconds: int = 8_640_000,
        old_refresh_token_grace_seconds: int = 0,
        rate_limit_per_minute: int = 500,
        clock: Callable[[], float] = time.time,
        rate_limit_per_second: int | None = 10,
        batch_rate_limit_per_minute: int = 40,
        case_sensitive_queries: bool = False,
        case_sensitive_display_names: bool = False,
        accept_email_address_subfield: bool = False,
        replay_failed_requests: bool = True,
        shuffle_batch_responses: bool = True,
        require_json_accept: bool = True,
        phone_number_limit: int = PHONE_LIMIT,
        max_results_limit: int = MAX_RESULTS_LIMIT,
        cap_max_results: bool = False,
        cdc_max_objects: int = 1000,
        redirect_uris: tuple[str, ...] = (),
    ) -> None:
        settings = EmulatorSettings(
            client_id=client_id,
            client_secret=client_secret,
            access_token_ttl_seconds=access_token_ttl_seconds,
            refresh_token_ttl_seconds=refresh_token_ttl_seconds,
            old_refresh_token_grace_seconds=old_refresh_token_grace_seconds,
            rate_limit_per_minute=rate_limit_per_minute,
            rate_limit_per_second=rate_limit_per_second,
            batch_rate_limit_per_minute=batch_rate_limit_per_minute,
            case_sensitive_queries=case_sensitive_queries,
            case_sensitive_display_names=case_sensitive_display_names,
            accept_email_address_subfield=accept_email_address_subfield,
            replay_failed_requests=replay_failed_requests,
            shuffle_batch_responses=shuffle_batch_responses,
            require_json_accept=require_json_accept,
            phone_number_limit=phone_number_limit,
            max_results_limit=max_results_limit,
            cap_max_results=cap_max_results,
            cdc_max_objects=cdc_max_objects,
            redirect_uris=redirect_uris,
        )
        self.state = EmulatorState(settings, clock)
        self._http = BackgroundHttpServer(self.wsgi_app, name="qbo-emulator")
        self.base_url = ""

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def authorize_url(self) -> str:
        return self.base_url + AUTHORIZE_PATH

    @property
    def revoke_url(self) -> str:
        return self.base_url + REVOKE_PATH

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        self.base_url = self._http.start(host, port)
        self.state.webhooks.start()
        return self

    def stop(self) -> None:
        self.state.webhooks.stop()
        self._http.stop()

    def __enter__(self) -> Self:
        return self if self._http.running else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        if path.startswith("/_emulator/"):
            reply = serve_control_request(self.state, request)
        elif path == TOKEN_PATH:
            reply = serve_token_request(self.state, request)
        elif path == AUTHORIZE_PATH:
            reply = serve_authorize_request(self.state, request)
        elif path == REVOKE_PATH:
            reply = serve_revoke_request(self.state, request)
        elif path.startswith("/v3/company/"):
            reply = serve_api_request(self.state, request)
        else:
            reply = json_reply(404, {"error": "Not Found", "path": path})
        return reply.to_response(new_intuit_tid())(environ, start_response)
