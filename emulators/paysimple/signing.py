"""How the PaySimple emulator signs a webhook: HMAC-SHA256 of the exact raw body bytes, hex by default
(reference/paysimple-api.md; the encoding is unconfirmed, so base64 can be chosen). Tests use it to build
signed events; product code verifies on its own."""

import base64
import hashlib
import hmac
from typing import Literal

SIGNATURE_HEADER = "PaySimple-Hmac-SHA256"
SignatureEncoding = Literal["hex", "base64"]


def sign_webhook(body: bytes, key: str, encoding: SignatureEncoding = "hex") -> str:
    digest = hmac.new(key.encode("utf-8"), body, hashlib.sha256)
    if encoding == "base64":
        return base64.b64encode(digest.digest()).decode("ascii")
    return digest.hexdigest()
