"""The `PaySimple-Hmac-SHA256` webhook signature: HMAC-SHA256 of the raw request body bytes, keyed by the
merchant's webhook signing key (reference/paysimple-api.md).

The digest is computed over the bytes as received: re-serialised JSON would not match. The encoding of the
header value (hex by default) is unconfirmed by PaySimple, hence configurable.
"""

import base64
import binascii
import hashlib
import hmac
from typing import Literal

SIGNATURE_HEADER = "PaySimple-Hmac-SHA256"

SignatureEncoding = Literal["hex", "base64"]


def sign_body(raw_body: bytes, signing_key: str, encoding: SignatureEncoding = "hex") -> str:
    """The header value PaySimple sends for `raw_body`."""
    digest = hmac.new(signing_key.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode("ascii")


def _decode(signature: str, encoding: SignatureEncoding) -> bytes | None:
    try:
        if encoding == "hex":
            return bytes.fromhex(signature.strip())
        return base64.b64decode(signature.strip(), validate=True)
    except (ValueError, binascii.Error):
        return None


def signature_matches(
    raw_body: bytes, signature: str | None, signing_key: str, encoding: SignatureEncoding = "hex"
) -> bool:
    """Constant-time check of a received header value. Comparing digests (not strings) makes hex case
    irrelevant and keeps a non-ASCII header from raising inside `compare_digest`."""
    if signature is None:
        return False
    received = _decode(signature, encoding)
    if received is None:
        return False
    expected = hmac.new(signing_key.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, received)
