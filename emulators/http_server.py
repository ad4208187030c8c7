"""How both emulators serve their WSGI app: real HTTP on a daemon thread, started and stopped quickly."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


class _QuietRequestHandler(WSGIRequestHandler):
    """No access-log line per request on stderr (tests make thousands of calls)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class BackgroundHttpServer:
    def __init__(self, app: WSGIApplication, *, name: str, access_log: bool = False) -> None:
        self._app = app
        self._name = name
        self._access_log = access_log
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self, host: str, port: int) -> str:
        """Serve on `host:port` (port 0: any free one); returns the base URL."""
        if self._server is not None:
            raise RuntimeError(f"the {self._name} is already running")
        handler = WSGIRequestHandler if self._access_log else _QuietRequestHandler
        server = make_server(host, port, self._app, threaded=True, request_handler=handler)
        self._server = server
        # A short poll interval keeps stop() fast (tests start and stop emulators often).
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05),
            name=f"{self._name}-{server.server_port}",
            daemon=True,
        )
        self._thread.start()
        return f"http://{host}:{server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None


def serve_until_interrupted(stop: Callable[[], None]) -> None:
    """Block until Ctrl-C, then `stop` (a standalone emulator's main loop)."""
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop()
