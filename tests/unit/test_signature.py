"""The PaySimple-Hmac-SHA256 check: HMAC-SHA256 over the raw body bytes, compared in constant time."""

import base64
import json

import pytest

from customer_sync.domain.webhook_signature import sign_body, signature_matches

# RFC 4231, test case 2: an HMAC-SHA256 vector computed by someone else.
RFC4231_KEY = "Jefe"
RFC4231_DATA = b"what do ya want for nothing?"
RFC4231_HEX = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"

KEY = "merchant-signing-key"
BODY = b'{"event_type":"customer_updated","merchant_id":1225,"data":{"customer_id":8053900}}'


def test_hex_signature_is_the_hmac_sha256_of_the_body():
    # Given the RFC 4231 key and message / When signed / Then the published digest comes out, in hex
    assert sign_body(RFC4231_DATA, RFC4231_KEY) == RFC4231_HEX


def test_base64_signature_encodes_the_same_digest():
    # Given the RFC 4231 key and message / When signed in base64 / Then it is the same 32 bytes
    assert base64.b64decode(sign_body(RFC4231_DATA, RFC4231_KEY, "base64")) == bytes.fromhex(RFC4231_HEX)


@pytest.mark.parametrize(
    "received",
    [
        RFC4231_HEX,
        RFC4231_HEX.upper(),
        f"  {RFC4231_HEX}\n",
    ],
    ids=["lower-hex", "upper-hex", "surrounding-whitespace"],
)
def test_a_correct_hex_signature_matches_whatever_its_case(received):
    # Given a header carrying the right digest / When checked / Then it matches
    assert signature_matches(RFC4231_DATA, received, RFC4231_KEY)


def test_a_correct_base64_signature_matches_when_base64_is_configured():
    # Given the digest in base64 / When checked with the base64 encoding / Then it matches
    received = base64.b64encode(bytes.fromhex(RFC4231_HEX)).decode()
    assert signature_matches(RFC4231_DATA, received, RFC4231_KEY, "base64")


@pytest.mark.parametrize(
    ("body", "received", "key"),
    [
        (BODY, None, KEY),
        (BODY, "", KEY),
        (BODY, sign_body(BODY, "another-merchants-key"), KEY),
        (BODY.replace(b"8053900", b"8053901"), sign_body(BODY, KEY), KEY),
        (json.dumps(json.loads(BODY)).encode(), sign_body(BODY, KEY), KEY),
        (BODY, sign_body(BODY, KEY)[:-2], KEY),
        (BODY, "not-a-hex-signature", KEY),
        (BODY, "é" * 64, KEY),
        (BODY, sign_body(BODY, KEY, "base64"), KEY),
    ],
    ids=[
        "missing",
        "empty",
        "other-key",
        "body-changed",
        "body-re-serialised",
        "truncated",
        "not-hex",
        "non-ascii",
        "base64-where-hex-is-expected",
    ],
)
def test_anything_but_the_digest_of_these_exact_bytes_under_this_key_is_refused(body, received, key):
    # Given a body and a header that is not its HMAC under the key / When checked / Then it does not match
    assert not signature_matches(body, received, key)


def test_a_hex_signature_is_refused_when_base64_is_configured():
    # Given a correct digest in hex / When checked with the base64 encoding / Then it does not match
    assert not signature_matches(BODY, sign_body(BODY, KEY, "hex"), KEY, "base64")
