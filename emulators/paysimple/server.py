"""Runs the PaySimple emulator as a real HTTP server on a daemon thread."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Self

from emulators.http_server import BackgroundHttpServer
from emulators.paysimple.app import PaySimpleApp
from emulators.paysimple.signing import SignatureEncoding
from emulators.paysimple.state import EmulatorState
from emulators.paysimple.timestamps import utcnow
from emulators.paysimple.webhooks import WebhookSender


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
        self._http = BackgroundHttpServer(self.app, name="paysimple-emulator", access_log=access_log)
        self.base_url = ""

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        self.base_url = self._http.start(host, port)
        return self

    def stop(self) -> None:
        self.webhooks.cancel_pending()
        self._http.stop()

    def __enter__(self) -> Self:
        return self if self._http.running else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
