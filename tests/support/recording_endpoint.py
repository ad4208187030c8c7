"""An HTTP endpoint on 127.0.0.1 that records what is POSTed to it and answers what the test says: where
the QBO emulator's webhooks go when a test looks at the deliveries themselves."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from werkzeug.wrappers import Request, Response

from emulators.http_server import BackgroundHttpServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


@dataclass(frozen=True)
class Received:
    body: bytes
    headers: dict[str, str]
    status: int  # what the endpoint answered


class RecordingEndpoint:
    """`answer(500, 500, 200)` queues the next statuses (200 once they run out); `delay_seconds` holds each
    answer back (to miss a sender's timeout)."""

    def __init__(self) -> None:
        self._http = BackgroundHttpServer(self._app, name="recording-endpoint")
        self._lock = threading.Lock()
        self._statuses: deque[int] = deque()
        self.delay_seconds = 0.0
        self.received: list[Received] = []
        self.url = ""

    def __enter__(self) -> Self:
        self.url = self._http.start("127.0.0.1", 0) + "/webhooks/qbo"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.stop()

    def answer(self, *statuses: int) -> None:
        with self._lock:
            self._statuses.extend(statuses)

    def wait_for(self, count: int, timeout_seconds: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        body = request.get_data()
        with self._lock:
            status = self._statuses.popleft() if self._statuses else 200
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        with self._lock:
            self.received.append(Received(body, {k.lower(): v for k, v in request.headers.items()}, status))
        response: Any = Response(b"{}", status=status, content_type="application/json")
        return response(environ, start_response)  # type: ignore[no-any-return]
