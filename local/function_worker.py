"""One Lambda execution environment: a process that imports a handler once (init) and then runs one
invocation at a time, as the Lambda runtime does.

Started by local/invoker.py with the function's environment (and nothing else of the caller's), its stdout
and stderr going to the function's log file, and a socket for invocations:

    python -m local.function_worker --fd N --module functions.sync.app --attribute lambda_handler \
        --function-name SyncFunction --memory 512

Messages are pickled over the socket (multiprocessing.connection): in `("invoke", request_id, event,
deadline_epoch_ms)` / `("stop",)`; out `("ready", init_ms)` / `("init_error", error)` once, then
`("result", payload_json | None, error | None, duration_ms, max_memory_used_mb)` per invocation. The return
value travels as JSON, so a handler returning something Lambda could not serialise fails here too.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from local.cfn import LOCAL_ACCOUNT, LOCAL_REGION

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class LocalLambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline_epoch_ms: int
    function_version: str = "$LATEST"
    identity: None = None
    client_context: None = None

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return time.strftime("%Y/%m/%d/[$LATEST]local")

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_epoch_ms - int(time.time() * 1000))


def error_payload(error: BaseException) -> dict[str, Any]:
    """Lambda's shape for an unhandled exception."""
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }


def max_memory_used_mb() -> int:
    """This process's peak RSS. VmHWM starts afresh at exec; ru_maxrss (the fallback) would also count the
    parent's RSS at fork time on Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024  # kB
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _invoke(handler: Handler, context: LocalLambdaContext, event: dict[str, Any]) -> tuple[str | None, Any]:
    try:
        return json.dumps(handler(event, context)), None
    except Exception as error:
        # The traceback goes to the function's log, as Lambda prints it; the caller gets Lambda's error shape.
        traceback.print_exc()
        return None, error_payload(error)


def serve(connection: Connection, module: str, attribute: str, function_name: str, memory_mb: int) -> None:
    started = time.perf_counter()
    try:
        handler: Handler = getattr(importlib.import_module(module), attribute)
    except Exception as error:
        traceback.print_exc()
        connection.send(("init_error", error_payload(error)))
        return
    init_ms = (time.perf_counter() - started) * 1000
    connection.send(("ready", init_ms))
    first = True
    while True:
        try:
            message = connection.recv()
        except EOFError:  # the stack went away
            return
        if message[0] == "stop":
            return
        _, request_id, event, deadline_epoch_ms = message
        print(f"START RequestId: {request_id} Version: $LATEST", flush=True)
        began = time.perf_counter()
        context = LocalLambdaContext(function_name, memory_mb, request_id, deadline_epoch_ms)
        payload, failure = _invoke(handler, context, event)
        duration_ms = (time.perf_counter() - began) * 1000
        memory_used = max_memory_used_mb()
        sys.stdout.flush()
        sys.stderr.flush()
        init = f"\tInit Duration: {init_ms:.2f} ms" if first else ""
        print(f"END RequestId: {request_id}", flush=True)
        print(
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tMemory Size: {memory_mb} MB"
            f"\tMax Memory Used: {memory_used} MB{init}",
            flush=True,
        )
        first = False
        connection.send(("result", payload, failure, duration_ms, memory_used))


def _exit_when_orphaned(poll_seconds: float = 1.0) -> None:
    """If the stack dies without stopping us (kill -9), end even in the middle of an invocation: nobody
    is waiting for its result, and nobody would enforce its timeout."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one local Lambda execution environment")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--module", required=True)
    parser.add_argument("--attribute", required=True)
    parser.add_argument("--function-name", required=True)
    parser.add_argument("--memory", type=int, default=128)
    options = parser.parse_args(argv)
    # Ctrl-C in the terminal reaches the whole process group; the stack stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_when_orphaned()
    connection = Connection(options.fd)
    try:
        serve(connection, options.module, options.attribute, options.function_name, options.memory)
    finally:
        connection.close()


if __name__ == "__main__":
    main()
