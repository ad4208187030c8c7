"""The local stack as a user runs it: `python -m local.run` in its own process group (DEMO=0, free ports),
driven only over HTTP. One stack serves the whole session; every test onboards its own merchant."""

import contextlib
import itertools
import json
import os
import queue
import secrets
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

from emulators.paysimple import PaySimpleEmulatorControl
from emulators.qbo.control import QboEmulatorControl

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 30
# Variables that would point the stack at other services or fix its ports/token.
_STACK_VARIABLES = (
    "QBO_API_BASE_URL",
    "QBO_TOKEN_URL",
    "QBO_AUTHORIZE_URL",
    "PAYSIMPLE_API_BASE_URL",
    "ADMIN_TOKEN",
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
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    try:
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                line = None
            if line is None:
                pytest.fail("the stack did not print 'ready':\n" + "\n".join(stack.output))
            stack.output.append(line)
            if line == "ready":
                break
        stack.info = json.loads(info_file.read_text())
        yield stack
    finally:
        stack.left_running = _stop(process)
        while (line := _next_line(lines)) is not None:
            stack.output.append(line)


def _next_line(lines: "queue.Queue[str | None]") -> str | None:
    try:
        return lines.get(timeout=5)
    except queue.Empty:
        return None


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory):
    with local_stack_process(tmp_path_factory.mktemp("local-stack")) as stack:
        yield stack


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


@pytest.fixture(scope="session")
def admin(running_stack):
    return Admin(running_stack)


@pytest.fixture(scope="session")
def qbo(running_stack):
    return QboEmulatorControl(running_stack.info["qbo_emulator_url"])


@pytest.fixture(scope="session")
def paysimple(running_stack):
    return PaySimpleEmulatorControl(running_stack.info["paysimple_emulator_url"])


# PaySimple merchant ids are numbers; each test gets its own merchant (and QBO company) in the one stack.
_merchant_ids = itertools.count(7001)


@dataclass
class Merchant:
    merchant_id: str
    realm_id: str


@pytest.fixture
def onboard(running_stack, admin, qbo, paysimple):
    """Onboard a merchant as production does: PaySimple credentials through the admin API, the QBO connect
    flow (the emulator consents at once and redirects to the gateway's callback), sync switched on. The
    QBO company is created (and can be seeded) first."""

    def onboard_merchant(seed_qbo=lambda realm_id: None) -> Merchant:
        merchant_id = str(next(_merchant_ids))
        realm_id = f"91303500000{merchant_id}"
        qbo.create_realm(realm_id)
        seed_qbo(realm_id)
        signing_key = secrets.token_urlsafe(24)
        credentials = {"api_username": f"user-{merchant_id}", "api_key": secrets.token_urlsafe(16)}
        paysimple.add_merchant(
            merchant_id,
            credentials["api_username"],
            credentials["api_key"],
            signing_key,
            webhook_url=running_stack.gateway_url + "/webhooks/paysimple",
        )
        admin.ok(
            "PUT",
            f"/admin/merchants/{merchant_id}",
            json={"paysimple": {**credentials, "webhook_signing_key": signing_key}},
        )
        authorize_url = admin.ok("GET", f"/admin/merchants/{merchant_id}/qbo/connect")["authorize_url"]
        qbo.set_consent_realm(realm_id)
        consent = requests.get(authorize_url, allow_redirects=False, timeout=HTTP_TIMEOUT_SECONDS)
        assert consent.status_code == 302
        callback = requests.get(consent.headers["Location"], timeout=HTTP_TIMEOUT_SECONDS)
        assert callback.status_code == 200, callback.text
        admin.ok("PUT", f"/admin/merchants/{merchant_id}/settings", json={"sync_enabled": True})
        return Merchant(merchant_id, realm_id)

    return onboard_merchant


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
