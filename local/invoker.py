"""Invokes a function as Lambda would: in its own process (local/function_worker.py) with only the
environment Lambda would give it, one invocation per process at a time, more processes up to the function's
concurrency, and the process killed when an invocation outlives the function's timeout."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

from local.cfn import PROJECT_ROOT, FunctionSpec

# Lambda gives a function this long to import its handler before the first invocation.
INIT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class InvocationResult:
    request_id: str
    payload: Any  # the handler's return value (decoded JSON); None on error
    error: dict[str, Any] | None  # Lambda's {"errorType", "errorMessage"} when the invocation failed
    duration_ms: float
    max_memory_used_mb: int

    @property
    def ok(self) -> bool:
        return self.error is None


def _failure(request_id: str, error_type: str, message: str, duration_ms: float = 0.0) -> InvocationResult:
    return InvocationResult(
        request_id, None, {"errorType": error_type, "errorMessage": message}, duration_ms, 0
    )


class FunctionWorker:
    """One execution environment (a child process)."""

    def __init__(self, spec: FunctionSpec, env: Mapping[str, str], log: IO[bytes], memory_mb: int) -> None:
        ours, theirs = socket.socketpair()
        self._connection = Connection(ours.detach())
        command = [
            sys.executable,
            "-m",
            "local.function_worker",
            f"--fd={theirs.fileno()}",
            f"--module={spec.module}",
            f"--attribute={spec.attribute}",
            f"--function-name={spec.logical_id}",
            f"--memory={memory_mb}",
        ]
        self.process = subprocess.Popen(  # noqa: S603 - our own module, no shell
            command,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(theirs.fileno(),),
            cwd=PROJECT_ROOT,
        )
        theirs.close()
        self._ready = False
        self._broken = False  # init failed or an invocation was cut off: never reuse
        self.max_memory_used_mb = 0

    def _wait_ready(self) -> dict[str, Any] | None:
        if self._ready:
            return None
        self._broken = True  # until init succeeds
        if not self._connection.poll(INIT_TIMEOUT_SECONDS):
            return {"errorType": "Runtime.InitTimeout", "errorMessage": "init did not finish in time"}
        try:
            message = self._connection.recv()
        except EOFError:
            return {"errorType": "Runtime.ExitError", "errorMessage": "the runtime exited during init"}
        if message[0] == "init_error":
            error: dict[str, Any] = message[1]
            return {"errorType": "Runtime.ImportModuleError", "errorMessage": error["errorMessage"]}
        self._ready = True
        self._broken = False
        return None

    def warm(self) -> bool:
        """Run the init phase now (a provisioned instance); False if it failed."""
        return self._wait_ready() is None

    def invoke(
        self,
        event: dict[str, Any],
        request_id: str,
        timeout_seconds: float,
    ) -> InvocationResult:
        init_error = self._wait_ready()
        if init_error is not None:
            return InvocationResult(request_id, None, init_error, 0.0, 0)
        deadline = time.time() + timeout_seconds
        self._connection.send(("invoke", request_id, event, int(deadline * 1000)))
        began = time.perf_counter()
        while True:
            remaining = deadline - time.time()
            if remaining <= 0:
                self.kill()
                elapsed = (time.perf_counter() - began) * 1000
                message = f"Task timed out after {timeout_seconds:.2f} seconds"
                return _failure(request_id, "Sandbox.Timedout", message, elapsed)
            if self._connection.poll(remaining):
                break
        try:
            _, payload_json, error, duration_ms, memory_used = self._connection.recv()
        except EOFError:
            self.kill()
            elapsed = (time.perf_counter() - began) * 1000
            return _failure(request_id, "Runtime.ExitError", "the runtime exited", elapsed)
        self.max_memory_used_mb = max(self.max_memory_used_mb, int(memory_used))
        payload = None if payload_json is None else json.loads(payload_json)
        return InvocationResult(request_id, payload, error, float(duration_ms), int(memory_used))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def reusable(self) -> bool:
        return self.alive and not self._broken

    def kill(self) -> None:
        self._broken = True
        if self.alive:
            self.process.kill()
        self.process.wait()
        self._connection.close()

    def kill_process(self) -> None:
        """Kill the process only; safe while another thread waits on this worker (it sees the exit)."""
        if self.alive:
            self.process.kill()

    def stop(self, timeout_seconds: float = 5.0) -> None:
        if self.alive:
            try:
                self._connection.send(("stop",))
                self.process.wait(timeout=timeout_seconds)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


class FunctionPool:
    """Up to `max_concurrency` execution environments of one function, created on demand and reused."""

    def __init__(
        self,
        spec: FunctionSpec,
        env: Mapping[str, str],
        *,
        max_concurrency: int,
        log_path: Path,
        memory_mb: int,
    ) -> None:
        self.spec = spec
        self._env = dict(env)
        self.environment: Mapping[str, str] = MappingProxyType(self._env)  # what its processes get
        self._memory_mb = memory_mb
        self.max_concurrency = max_concurrency
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._lock = threading.Lock()
        self._idle: list[FunctionWorker] = []
        self._all: list[FunctionWorker] = []
        self._stopped = False
        self._peak_memory_mb = 0
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab", buffering=0)
        self.log_path = log_path

    def _take_worker(self) -> FunctionWorker:
        with self._lock:
            if self._stopped:
                raise RuntimeError(f"{self.spec.logical_id} is stopped")
            while self._idle:
                worker = self._idle.pop()
                if worker.reusable:
                    return worker
                worker.kill()
                self._all.remove(worker)
            worker = FunctionWorker(self.spec, self._env, self._log, self._memory_mb)
            self._all.append(worker)
            return worker

    def _return_worker(self, worker: FunctionWorker) -> None:
        with self._lock:
            self._peak_memory_mb = max(self._peak_memory_mb, worker.max_memory_used_mb)
            if worker.reusable and not self._stopped:
                self._idle.append(worker)
            else:
                worker.kill()
                self._all.remove(worker)

    def warm(self, environments: int = 1) -> bool:
        """Start `environments` environments (at most `max_concurrency`) and finish their init, so that as
        many requests at once meet no cold start, as with provisioned concurrency. False if one failed."""
        workers: list[FunctionWorker] = []
        try:
            for _ in range(min(environments, self.max_concurrency)):
                self._slots.acquire()
                try:
                    workers.append(self._take_worker())
                except BaseException:
                    self._slots.release()
                    raise
            # They run their inits side by side; each is waited for in turn.
            return all([worker.warm() for worker in workers])
        finally:
            for worker in workers:
                self._return_worker(worker)
                self._slots.release()

    def invoke(self, event: dict[str, Any]) -> InvocationResult:
        """Run one invocation; waits while every environment is busy."""
        request_id = str(uuid.uuid4())
        with self._slots:
            try:
                worker = self._take_worker()
            except RuntimeError as error:
                return _failure(request_id, "ServiceException", str(error))
            try:
                return worker.invoke(event, request_id, float(self.spec.timeout_seconds))
            finally:
                self._return_worker(worker)

    def pids(self) -> list[int]:
        """The processes of this function's execution environments."""
        with self._lock:
            return [worker.process.pid for worker in self._all if worker.alive]

    def crash(self, pid: int) -> bool:
        """Kill the environment running as process `pid`, mid-invocation if it is in one: a Lambda dying
        halfway. Its invocation fails (Runtime.ExitError) and the environment is not reused. False if no
        environment of this function runs as `pid`."""
        with self._lock:
            worker = next((worker for worker in self._all if worker.process.pid == pid), None)
        if worker is None:
            return False
        worker.kill_process()
        return True

    @property
    def peak_memory_mb(self) -> int:
        """The highest `Max Memory Used` (RSS high-water mark) any environment of this function reported."""
        with self._lock:
            return max([self._peak_memory_mb, *(worker.max_memory_used_mb for worker in self._all)])

    def stop(self) -> None:
        """Idle environments exit cleanly. Busy ones are killed: their invocation fails (as when Lambda tears
        an environment down) and the thread waiting on it cleans up. Stopping never waits for a handler."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            idle = list(self._idle)
            busy = [worker for worker in self._all if worker not in idle]
            self._idle = []
        for worker in busy:
            worker.kill_process()
        for worker in idle:
            worker.stop()
        self._log.close()


def lambda_environment(
    spec: FunctionSpec, function_env: Mapping[str, str], *, aws_endpoint_url: str, memory_mb: int
) -> dict[str, str]:
    """What a Lambda process sees: the runtime's reserved variables, credentials, and the function's own
    variables. Nothing else of the caller's environment leaks in (only PATH/HOME/LANG for the interpreter)."""
    inherited = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TZ") if name in os.environ}
    return {
        **inherited,
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "layers" / "shared")]),
        "PYTHONUNBUFFERED": "1",
        "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.logical_id}",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "_HANDLER": f"{spec.module}.{spec.attribute}",
        # What `sam local` sets; Powertools Tracer then stays off instead of looking for an X-Ray daemon.
        "AWS_SAM_LOCAL": "true",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_ENDPOINT_URL": aws_endpoint_url,
        **function_env,
    }
