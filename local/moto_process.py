"""The AWS stand-in: moto's server in its own process (its own interpreter and GIL, so the functions' AWS
calls do not compete with the gateway and the emulators).

`MotoServerProcess().start(host, port)` runs `python -m local.moto_process`, which serves moto on the port
(0 = a free one), prints `moto listening on <port>` and serves until its stdin closes. Tying its life to
that pipe means it also ends when the stack dies without cleaning up (kill -9). local/moto_patches.py takes
it off moto's slowest paths (whole-table copies per DynamoDB transaction, among others).
"""

from __future__ import annotations

import argparse
import gc
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local.cfn import PROJECT_ROOT
from local.moto_fidelity import moto_as_strict_as_aws
from local.moto_patches import local_moto_patches

_READY_PREFIX = "moto listening on "
START_TIMEOUT_SECONDS = 30.0


class MotoServerProcess:
    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, host: str, port: int, *, log_path: Path | None = None) -> MotoServerProcess:
        log = log_path.open("ab") if log_path else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(  # noqa: S603 - our own module, no shell
                [sys.executable, "-m", "local.moto_process", f"--host={host}", f"--port={port}"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                cwd=PROJECT_ROOT,
            )
        finally:
            if log_path and not isinstance(log, int):
                log.close()
        assert self._process.stdout is not None
        started = time.monotonic()
        readable, _, _ = select.select([self._process.stdout], [], [], START_TIMEOUT_SECONDS)
        line = self._process.stdout.readline() if readable else ""  # "" too if the process exited
        if not line.startswith(_READY_PREFIX):
            self.stop()
            waited = time.monotonic() - started
            raise RuntimeError(
                f"moto server did not start on {host}:{port} within {waited:.0f} s (see its log)"
            )
        self.url = f"http://{host}:{int(line[len(_READY_PREFIX) :])}"
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.stdin is not None:
            self._process.stdin.close()  # the server's cue to stop
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None


@contextmanager
def frozen_after_full_collections() -> Iterator[None]:
    """While active, what survives a full garbage collection is frozen out of the next ones.

    moto keeps every table item and every queued message as Python objects, and a full collection walked
    them all: 0.1 s at start, half a second after a few thousand synced changes, every 20 to 60 s. Meanwhile
    no AWS call of any function was answered, so the QBO budget's draws in flight came back together, late.
    Frozen, they are walked once; the next full collection walks only what came since. Cycles among frozen
    objects are never collected: memory they hold stays until the process ends, with the stack (not
    measured over a long `make run`).
    """

    def freeze(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            gc.freeze()

    gc.callbacks.append(freeze)
    try:
        yield
    finally:
        gc.callbacks.remove(freeze)


def _serve(host: str, port: int) -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class QuietRequestHandler(MotoRequestHandler):
        """No access-log line per AWS call (a benchmark makes hundreds of thousands)."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return None

    # Built here rather than with moto's ThreadedMotoServer, whose start() waits forever when the port is
    # taken (the bind fails on its thread).
    try:
        server = make_server(
            host,
            port,
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            request_handler=QuietRequestHandler,
        )
    except OSError as error:
        print(f"cannot listen on {host}:{port}: {error}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    with moto_as_strict_as_aws(), local_moto_patches(), frozen_after_full_collections():
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        thread.start()
        print(f"{_READY_PREFIX}{server.server_port}", flush=True)
        sys.stdin.read()
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="moto server until stdin closes")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args(argv)
    # Ctrl-C reaches the whole process group; the stack stops this process by closing stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _serve(options.host, options.port)


if __name__ == "__main__":
    main()
