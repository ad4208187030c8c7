"""How the PaySimple emulator signs a webhook: hex HMAC-SHA256 of the exact raw body bytes
(reference/paysimple-api.md). Tests use it to build signed events; product code verifies on its own."""

import hashlib
import hmac

SIGNATURE_HEADER = "PaySimple-Hmac-SHA256"


def sign_webhook(body: bytes, key: str) -> str:
    return hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest()
