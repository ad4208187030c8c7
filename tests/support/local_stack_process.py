"""The local stack as a user runs it: `python -m local.run` in its own process group (free ports, DEMO=0
unless asked otherwise), read until "ready", driven over HTTP, and stopped so that nothing is left running.

Used by the e2e tests (tests/e2e/conftest.py holds their fixtures).
"""

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 60
# With the demo, its own waits for the sync (60 s each, local/demo.py) fail with a message of their own first.
DEMO_READY_TIMEOUT_SECONDS = 240
# Lines of each function's log shown when the stack never got ready.
_LOG_LINES_ON_FAILURE = 8
HTTP_TIMEOUT_SECONDS = 30
# Variables that would point the stack at other services or fix its ports/token.
_STACK_VARIABLES = (
    "QBO_API_BASE_URL",
    "QBO_TOKEN_URL",
    "QBO_AUTHORIZE_URL",
    "QBO_REVOKE_URL",
    "PAYSIMPLE_API_BASE_URL",
    "ADMIN_TOKEN",
    "QBO_WEBHOOK_VERIFIER_TOKEN",
    "AWS_ENDPOINT_URL",
)


@dataclass
class RunningStack:
    info: dict[str, Any]
    output: list[str]  # its stdout so far (all of it once stopped)
    process: subprocess.Popen[str]
    left_running: list[int] | None = None  # once stopped: pids of its group still alive (killed then)

    @property
    def gateway_url(self) -> str:
        return str(self.info["gateway_url"])

    @property
    def admin_token(self) -> str:
        return str(self.info["admin_token"])


def _read_lines(stream, lines: "queue.Queue[str | None]") -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


@contextlib.contextmanager
def local_stack_process(work: Path, **settings: str) -> Iterator[RunningStack]:
    """`python -m local.run` on free ports in its own process group, until "ready"; stopped on exit."""
    info_file = work / "stack.json"
    env = {name: value for name, value in os.environ.items() if name not in _STACK_VARIABLES}
    env.update(
        DEMO="0",
        GATEWAY_PORT="0",
        MOTO_PORT="0",
        QBO_EMULATOR_PORT="0",
        PAYSIMPLE_EMULATOR_PORT="0",
        # Retries (and the move to the DLQ after maxReceiveCount) within seconds.
        VISIBILITY_TIMEOUT_SECONDS="1",
        LOG_DIR=str(work / "logs"),
        STACK_INFO_FILE=str(info_file),
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    process = subprocess.Popen(
        [sys.executable, "-m", "local.run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so teardown reaches every child
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    stack = RunningStack({}, [], process)
    started = time.monotonic()
    deadline = started + (DEMO_READY_TIMEOUT_SECONDS if env["DEMO"] == "1" else READY_TIMEOUT_SECONDS)
    try:
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                line = None
            if line is None:
                waited = time.monotonic() - started
                pytest.fail(
                    f"the stack did not print 'ready' ({waited:.0f} s):\n"
                    + "\n".join(stack.output + _log_tails(work / "logs"))
                )
            stack.output.append(line)
            if line == "ready":
                break
        stack.info = json.loads(info_file.read_text())
        yield stack
    finally:
        stack.left_running = _stop(process)
        while (line := _next_line(lines)) is not None:
            stack.output.append(line)


def _log_tails(log_dir: Path) -> list[str]:
    """The last lines of each function's log, for a failure's message."""
    tails = []
    for log in sorted(log_dir.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-_LOG_LINES_ON_FAILURE:]
        if lines:
            tails += [f"--- {log.name}, last {len(lines)} lines", *(line[:400] for line in lines)]
    return tails


def _next_line(lines: "queue.Queue[str | None]") -> str | None:
    try:
        return lines.get(timeout=5)
    except queue.Empty:
        return None


def _stop(process: subprocess.Popen[str]) -> list[int]:
    """SIGTERM to the stack, which stops its own children. Anything left in its process group is then
    killed; its pids are returned (there should be none)."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    leftovers = _group_members(process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return leftovers


def _group_members(process_group: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getpgid(int(entry.name)) == process_group:
                    members.append(int(entry.name))
    return members


class Admin:
    """The admin API through the gateway, with the admin token."""

    def __init__(self, stack: RunningStack):
        self.base = stack.gateway_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {stack.admin_token}"

    def request(self, method, path, **kwargs):
        return self.session.request(method, self.base + path, timeout=HTTP_TIMEOUT_SECONDS, **kwargs)

    def ok(self, method, path, **kwargs):
        response = self.request(method, path, **kwargs)
        assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


@dataclass
class Merchant:
    merchant_id: str
    realm_id: str


def wait_for(condition, *, timeout_seconds=30.0, interval_seconds=0.2, what="the condition"):
    """Poll `condition` until it returns something truthy; that value is returned."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(interval_seconds)
