"""Run the QBO emulator standalone: `python -m emulators.qbo --host 127.0.0.1 --port 8001`."""

from __future__ import annotations

import argparse

from emulators.http_server import serve_until_interrupted
from emulators.qbo.server import QboEmulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="QuickBooks Online API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--client-id", default="emulator-client-id")
    parser.add_argument("--client-secret", default="emulator-client-secret")
    parser.add_argument("--rate-limit-per-minute", type=int, default=500)
    parser.add_argument("--rate-limit-per-second", type=int, default=10, help="0 turns the limit off")
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="a redirect URI registered for the app (repeatable); consent refuses any other",
    )
    options = parser.parse_args(argv)
    emulator = QboEmulator(
        client_id=options.client_id,
        client_secret=options.client_secret,
        rate_limit_per_minute=options.rate_limit_per_minute,
        rate_limit_per_second=options.rate_limit_per_second or None,
        redirect_uris=tuple(options.redirect_uri),
    ).start(options.host, options.port)
    print(f"QBO emulator API base:  {emulator.base_url}  (paths /v3/company/{{realmId}}/...)", flush=True)
    print(f"QBO emulator token URL: {emulator.token_url}", flush=True)
    print(f"QBO emulator authorize: {emulator.authorize_url}", flush=True)
    print(f"QBO emulator revoke:    {emulator.revoke_url}", flush=True)
    print(f"QBO emulator control:   {emulator.base_url}/_emulator/", flush=True)
    serve_until_interrupted(emulator.stop)


if __name__ == "__main__":
    main()
