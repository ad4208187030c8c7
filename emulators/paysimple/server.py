"""Runs the PaySimple emulator as a real HTTP server on a daemon thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from emulators.paysimple.app import PaySimpleApp
from emulators.paysimple.signing import SignatureEncoding
from emulators.paysimple.state import EmulatorState
from emulators.paysimple.timestamps import utcnow
from emulators.paysimple.webhooks import WebhookSender


class _QuietRequestHandler(WSGIRequestHandler):
    """Tests start many servers; one access-log line per request would bury their output."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class PaySimpleEmulator:
    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = utcnow,
        webhook_timeout_seconds: float = 10.0,
        access_log: bool = False,
        signature_encoding: SignatureEncoding = "hex",
        include_deprecated_client_id: bool = True,
    ) -> None:
        """`webhook_timeout_seconds`: how long a receiver has for its whole 2xx answer (PaySimple: 10 s).
        `signature_encoding`: hex (the documented form) or base64. `include_deprecated_client_id`: whether
        envelopes carry the deprecated `client_id` as well."""
        self.state = EmulatorState(clock=clock)
        self.webhooks = WebhookSender(
            self.state,
            clock=clock,
            timeout_seconds=webhook_timeout_seconds,
            signature_encoding=signature_encoding,
            include_deprecated_client_id=include_deprecated_client_id,
        )
        self.app = PaySimpleApp(self.state, self.webhooks)
        self._access_log = access_log
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def start(self, host: str = "127.0.0.1", port: int = 0) -> PaySimpleEmulator:
        handler = WSGIRequestHandler if self._access_log else _QuietRequestHandler
        self._server = make_server(host, port, self.app, threaded=True, request_handler=handler)
        self.base_url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits up to one poll interval
            name=f"paysimple-emulator-{self._server.server_port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.webhooks.cancel_pending()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> PaySimpleEmulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
