"""A QBO emulator that notes when each customer write happened, so the benchmark can measure the latency from
webhook accepted to QBO written. Everything else is the ordinary emulator."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emulators.qbo.server import QboEmulator

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


@dataclass(frozen=True)
class CustomerWrite:
    at: float  # time.time() when QBO answered
    qbo_customer_id: str
    display_name: str
    operation: str  # "create" or "update"


class TimedQboEmulator(QboEmulator):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._lock = threading.Lock()
        self.writes: list[CustomerWrite] = []

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        is_write = environ["REQUEST_METHOD"] == "POST" and environ.get("PATH_INFO", "").endswith("/customer")
        if not is_write:
            return super().wsgi_app(environ, start_response)
        request_body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(request_body)  # the emulator reads it again
        status: list[str] = []

        def capture(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(status_line)
            return start_response(status_line, headers, exc_info)

        chunks = list(super().wsgi_app(environ, capture))
        if status and status[0].startswith("200"):
            customer = json.loads(b"".join(chunks))["Customer"]
            operation = "update" if "Id" in json.loads(request_body or b"{}") else "create"
            write = CustomerWrite(time.time(), str(customer["Id"]), str(customer["DisplayName"]), operation)
            with self._lock:
                self.writes.append(write)
        return chunks

    def take_writes(self) -> list[CustomerWrite]:
        with self._lock:
            writes, self.writes = self.writes, []
        return writes
