"""`make run`: start the local stack, print its URLs and the admin token, play the demo (unless DEMO=0),
print "ready" and serve until Ctrl-C or SIGTERM; then stop everything it started.

Environment (all optional): GATEWAY_PORT (3000), DEMO (1), ADMIN_TOKEN, QBO_API_BASE_URL, QBO_TOKEN_URL,
QBO_AUTHORIZE_URL, QBO_REVOKE_URL, PAYSIMPLE_API_BASE_URL, QBO_CLIENT_ID, QBO_CLIENT_SECRET,
QBO_WEBHOOK_VERIFIER_TOKEN, SCHEDULE_INTERVAL_SECONDS, MOTO_PORT, QBO_EMULATOR_PORT,
PAYSIMPLE_EMULATOR_PORT, VISIBILITY_TIMEOUT_SECONDS, API_MAX_CONCURRENCY, LOG_DIR, STACK_INFO_FILE
(local/settings.py).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from types import FrameType

from pydantic import ValidationError

from local.demo import DemoError, run_demo
from local.settings import LocalStackSettings
from local.stack import Stack, StackStartError

READY_LINE = "ready"


def say(line: str = "") -> None:
    print(line, flush=True)


def print_urls(stack: Stack) -> None:
    info = stack.info()
    rows = [
        ("Gateway (API Gateway)", info["gateway_url"]),
        ("  PaySimple webhooks", f"POST {info['webhook_url']}"),
        ("  QBO webhooks", f"POST {info['qbo_webhook_url']}"),
        ("  Daily jobs, now", f"POST {info['schedules_url']}<Function>   (admin token)"),
        ("  QBO OAuth callback", f"GET  {info['oauth_callback_url']}"),
        ("  Admin API", f"{info['admin_url']}/...   (Authorization: Bearer <admin token>)"),
        ("Admin token", info["admin_token"]),
        ("QBO webhook verifier token", info["qbo_webhook_verifier_token"]),
        ("Merchant console", f"{info['console_url']}   (Cognito sign-in; demo users below)"),
        ("QBO", _service(info["qbo_emulator_url"], info["qbo_api_base_url"])),
        ("PaySimple", _service(info["paysimple_emulator_url"], info["paysimple_api_base_url"])),
        ("AWS (moto server)", info["aws_endpoint_url"]),
        ("Function logs", info["log_dir"]),
    ]
    width = max(len(label) for label, _ in rows) + 2
    for label, value in rows:
        say(f"  {label.ljust(width)}{value}")


def _service(emulator_url: str | None, api_url: str) -> str:
    if emulator_url:
        return f"{emulator_url}  (emulator; control API under /_emulator/)"
    return f"{api_url}  (external; no emulator started)"


def _wait_for_stop_signal() -> None:
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not stop.wait(0.5):
        pass


def main() -> int:
    try:
        settings = LocalStackSettings.from_environment()
    except ValidationError as error:
        say(f"invalid local stack configuration:\n{error}")
        return 2
    began = time.monotonic()
    say("Starting the customer-sync local stack ...")
    stack = Stack(settings, out=say)
    # SIGTERM before the stop-signal wait is installed must still clean up: make it a KeyboardInterrupt.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        stack.start()
        say(f"Started in {time.monotonic() - began:.1f} s:")
        print_urls(stack)
        if settings.demo:
            run_demo(stack, say)
        else:
            say("DEMO=0: a clean stack; onboard with PUT /admin/merchants/{id} and the QBO connect flow.")
        if settings.stack_info_file is not None:
            settings.stack_info_file.write_text(json.dumps(stack.info(), indent=2))
        assert stack.gateway is not None
        stack.gateway.access_log = lambda line: say(f"  {line}")
        say(READY_LINE)
        _wait_for_stop_signal()
        say("Stopping ...")
    except StackStartError as error:
        say(f"cannot start: {error}")
        return 1
    except DemoError as error:
        say(f"the demo failed: {error}")
        return 1
    except KeyboardInterrupt:
        say("Stopping ...")
    finally:
        stack.stop()
    say("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
