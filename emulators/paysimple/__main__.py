"""`python -m emulators.paysimple --host 127.0.0.1 --port 8002`: the emulator on its own, until Ctrl-C."""

from __future__ import annotations

import argparse

from emulators.http_server import serve_until_interrupted
from emulators.paysimple.server import PaySimpleEmulator


def main() -> None:
    parser = argparse.ArgumentParser(description="PaySimple API v4 + webhooks emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--webhook-timeout-seconds", type=float, default=10.0)
    parser.add_argument("--signature-encoding", choices=("hex", "base64"), default="hex")
    args = parser.parse_args()
    emulator = PaySimpleEmulator(
        access_log=True,
        webhook_timeout_seconds=args.webhook_timeout_seconds,
        signature_encoding=args.signature_encoding,
    ).start(args.host, args.port)
    print(f"PaySimple emulator on {emulator.base_url} (control API under /_emulator)", flush=True)
    serve_until_interrupted(emulator.stop)


if __name__ == "__main__":
    main()
