"""The console's static files (console/), served by the local gateway at `/` as CloudFront serves them from
S3 in AWS, plus the `config.json` that tells the page where to sign in (`make deploy-console` uploads one
made from the stack's outputs). Only files that exist under console/ are served; anything else is not."""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from local.cfn import LOCAL_REGION, PROJECT_ROOT
from local.cognito_tokens import UserPool

CONSOLE_DIR = PROJECT_ROOT / "console"
# What CloudFront's ConsoleSecurityHeaders sets in AWS, with the local Cognito endpoint.
_CSP = (
    "default-src 'self'; connect-src 'self' {cognito}; img-src 'self' data:; script-src 'self'; "
    "style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
}


@dataclass(frozen=True)
class ConsoleFile:
    body: bytes
    content_type: str
    headers: list[tuple[str, str]]


def console_config(pool: UserPool) -> dict[str, str]:
    """What the page needs to sign in; no secret (the app client is public)."""
    return {
        "region": LOCAL_REGION,
        "cognito_endpoint": pool.endpoint_url.rstrip("/") + "/",
        "user_pool_id": pool.pool_id,
        "client_id": pool.client_id,
    }


class ConsoleFiles:
    def __init__(self, pool: UserPool, root: Path = CONSOLE_DIR) -> None:
        self._root = root.resolve()
        self._config = json.dumps(console_config(pool), indent=2).encode()
        origin = pool.endpoint_url.rstrip("/")
        self._headers = [
            ("Content-Security-Policy", _CSP.format(cognito=origin)),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-cache"),
        ]

    def get(self, path: str) -> ConsoleFile | None:
        if path == "/config.json":
            return ConsoleFile(self._config, "application/json", self._headers)
        relative = "index.html" if path in ("", "/") else path.lstrip("/")
        candidate = (self._root / relative).resolve()
        if not candidate.is_relative_to(self._root) or not candidate.is_file():
            return None
        content_type = _TYPES.get(candidate.suffix) or mimetypes.guess_type(candidate.name)[0] or "text/plain"
        if content_type.startswith("text/") or content_type == "application/json":
            content_type += "; charset=utf-8"
        return ConsoleFile(candidate.read_bytes(), content_type, self._headers)
