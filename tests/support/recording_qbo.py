"""A QBO emulator that also keeps every request as it arrived on the wire: method, path, query string and
body. The emulator's own call log says which operations ran; this says what was sent, so a test can prove
a value never travelled to QBO, in a query string or in a body."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from emulators.qbo.server import QboEmulator
from tests.support.onboarding import QBO_EMULATOR_CLIENT_ID, QBO_EMULATOR_CLIENT_SECRET, QBO_REDIRECT_URI

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_UNLIMITED_PER_MINUTE = 1_000_000


@dataclass(frozen=True)
class WireRequest:
    method: str
    path: str
    query_string: str
    body: str

    def text(self) -> str:
        return f"{self.method} {self.path}?{self.query_string}\n{self.body}"


class RecordingQboEmulator(QboEmulator):
    """Serves exactly as QboEmulator does (rate limits off: these tests are not about throttling)."""

    def __init__(self) -> None:
        super().__init__(
            client_id=QBO_EMULATOR_CLIENT_ID,
            client_secret=QBO_EMULATOR_CLIENT_SECRET,
            redirect_uris=(QBO_REDIRECT_URI,),
            rate_limit_per_second=None,
            rate_limit_per_minute=_UNLIMITED_PER_MINUTE,
        )
        self._requests: list[WireRequest] = []
        self._requests_lock = threading.Lock()

    @property
    def requests(self) -> list[WireRequest]:
        with self._requests_lock:
            return list(self._requests)

    def wire_text(self) -> str:
        """Every request the application sent (API and token endpoint; not the tests' control calls)."""
        return "\n".join(request.text() for request in self.requests if not request.path.startswith("/_"))

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        # The emulator reads the body again: hand it the same bytes.
        environ["wsgi.input"] = io.BytesIO(body)
        request = WireRequest(
            method=str(environ.get("REQUEST_METHOD", "")),
            path=str(environ.get("PATH_INFO", "")),
            # Decoded: a value travels percent-encoded ("4111%201111...") in a query string.
            query_string=unquote_plus(str(environ.get("QUERY_STRING", ""))),
            body=body.decode("utf-8", errors="replace"),
        )
        with self._requests_lock:
            self._requests.append(request)
        return super().wsgi_app(environ, start_response)
