"""Fuzzing the PaySimple webhook endpoint through the real handler (functions/ingest/app.py, moto for Secrets
Manager and SQS): hypothesis builds API Gateway REST proxy events, signed and unsigned, with bodies from
well-formed envelopes with wrong fields, through mutated and non-JSON bytes, to bodies that API Gateway
itself could not have produced (bad base64, lone surrogates).

For every one of at least MIN_CASES requests:
- the handler returns (no exception escapes) a 202 or a 4xx, never a 5xx;
- a refusal, or an ignored event, enqueues nothing; an accepted event enqueues at most one message;
- a request without a signature header gets exactly 401, and one whose signature is wrong learns nothing
  beyond 401 (except the transport's 400 / 413, which reveal neither schema nor merchants).

The merchants: 1225 with its signing key, 1226 whose signing-key secret is malformed, 1227 onboarded
before signing keys had their own secret (not migrated), and 4242 unknown. The run is seeded
(derandomized), so it is the same every time.
"""

from __future__ import annotations

import io
import json
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from moto.sqs.models import sqs_backends

from customer_sync.config.shared import SecretNames
from customer_sync.models.merchant_secrets import PaySimpleCredentials
from customer_sync.observability import logger as powertools_logger
from events.generate import SIGNATURE_HEADER, TEST_SIGNING_KEY, rest_proxy_event, sign
from functions.ingest.app import lambda_handler
from tests.support.lambda_context import ACCOUNT_ID, REGION, LambdaContextStub
from tests.support.onboarding import write_merchant_secrets, write_paysimple_secret

MIN_CASES = 10_000
SIGNED_MERCHANT = 1225
MALFORMED_SECRET_MERCHANT = 1226
NOT_MIGRATED_MERCHANT = 1227
UNKNOWN_MERCHANT = 4242
REFUSALS = {400, 401, 413, 422}
LIMIT = 64 * 1024

# -- bodies --------------------------------------------------------------------------------------------------

# Most fields are drawn from a pool (one cheap draw each), valid values weighted up so that many signed
# requests get through to the queue; FREE in a pool hands the field to a free-form strategy instead.
FREE = object()
SHORT_TEXT = st.text(max_size=12)
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), SHORT_TEXT)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(SHORT_TEXT, inner, max_size=3),
    max_leaves=4,
)


def pooled(pool: list[Any], free: st.SearchStrategy[Any] = JSON_SCALARS) -> st.SearchStrategy[Any]:
    choices = st.sampled_from([*pool, FREE])

    @st.composite
    def one(draw: st.DrawFn) -> Any:
        choice = draw(choices)
        return draw(free) if choice is FREE else choice

    return one()


CUSTOMER_EVENT_TYPES = ["customer_created", "customer_updated", "customer_deleted"]
MERCHANT_IDS = pooled(
    [SIGNED_MERCHANT] * 40
    + [MALFORMED_SECRET_MERCHANT, NOT_MIGRATED_MERCHANT, UNKNOWN_MERCHANT] * 2
    + [0, -1, 2**63, 2**63 - 1, "1225", True, 1225.0, [1225], {"id": 1225}, None]
)
EVENT_TYPES = pooled(CUSTOMER_EVENT_TYPES * 5 + ["payment_created"] * 4 + ["", "x" * 101, 7])
EVENT_IDS = st.one_of(
    st.integers(min_value=0, max_value=10**9).map(lambda n: f"evt_{n:x}"),
    st.integers(min_value=0, max_value=10**9).map(lambda n: f"evt_{n:x}"),
    pooled(["", " ", "evt 1", "x" * 129, "évt", None, 42]),
)
TIMESTAMPS = pooled(
    ["2018-06-20T21:42:31.5412011Z", "2026-11-25T11:40:01Z", "2026-11-25T11:40:01.1+05:30"] * 8
    + ["2026-11-25T11:40:01", "2026-11-25 11:40:01Z", "2026-02-30T00:00:00Z", "2026-11-25T11:40:01+24:00"]
    + ["9999-12-31T23:59:59.9999999-23:59", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59Z"],
    free=st.datetimes().map(lambda moment: moment.isoformat()) | JSON_SCALARS,
)
CUSTOMER_IDS = pooled(
    [8053900, 1, 2**63 - 1] * 8 + [0, -1, 2**63, "8053900", 8053900.0, True, None],
    free=st.integers(),
)
# The names and email a customer event carries are dropped at validation; one optional field stands for them.
CUSTOMER_DATA = st.fixed_dictionaries({"customer_id": CUSTOMER_IDS}, optional={"first_name": SHORT_TEXT})
ENVELOPES = st.fixed_dictionaries(
    {},
    optional={
        "event_type": EVENT_TYPES,
        "event_id": EVENT_IDS,
        "merchant_id": MERCHANT_IDS,
        "created_at": TIMESTAMPS,
        "data": CUSTOMER_DATA | JSON_VALUES,
        "client_id": JSON_SCALARS,
    },
)
COMPLETE_ENVELOPES = st.fixed_dictionaries(
    {
        "event_type": EVENT_TYPES,
        "event_id": EVENT_IDS,
        "merchant_id": MERCHANT_IDS,
        "created_at": TIMESTAMPS,
        "data": CUSTOMER_DATA,
    }
)


@st.composite
def serialised(draw: st.DrawFn, documents: st.SearchStrategy[Any]) -> bytes:
    text = json.dumps(draw(documents), ensure_ascii=draw(st.booleans()), allow_nan=True)
    return text.encode("utf-8", errors="surrogatepass")


@st.composite
def mutated(draw: st.DrawFn, bodies: st.SearchStrategy[bytes]) -> bytes:
    """A body with one edit of the kind a broken sender or a tamperer makes."""
    body = draw(bodies)
    at = draw(st.integers(min_value=0, max_value=len(body)))
    edit = draw(
        st.sampled_from(["truncate", "insert", "replace", "nan", "lone-surrogate", "encoded-surrogate"])
    )
    if edit == "truncate":
        return body[:at]
    if edit == "insert":
        return body[:at] + draw(st.binary(min_size=1, max_size=8)) + body[at:]
    if edit == "replace":
        return body[:at] + draw(st.binary(max_size=8)) + body[at + draw(st.integers(0, 8)) :]
    if edit == "nan":
        return (
            body.replace(b"1225", b"NaN", 1) if draw(st.booleans()) else body.replace(b"}", b',"x":NaN}', 1)
        )
    if edit == "lone-surrogate":
        return body.replace(b'"', b'"\\ud800', draw(st.integers(1, 3)))
    return body[:at] + b"\xed\xa0\x80" + body[at:]


@st.composite
def padded(draw: st.DrawFn, bodies: st.SearchStrategy[bytes]) -> bytes:
    """A body padded with JSON whitespace to the size limit, one byte past it, or far past it."""
    body = draw(bodies)
    return body + b" " * max(0, draw(st.sampled_from([LIMIT - len(body), LIMIT - len(body) + 1, LIMIT])))


BODIES = st.one_of(
    serialised(COMPLETE_ENVELOPES),
    serialised(COMPLETE_ENVELOPES),
    serialised(COMPLETE_ENVELOPES),
    serialised(ENVELOPES),
    mutated(serialised(COMPLETE_ENVELOPES)),
    padded(serialised(COMPLETE_ENVELOPES)),
    serialised(JSON_VALUES),
    st.binary(max_size=300),
)

# -- requests ------------------------------------------------------------------------------------------------

SIGNATURES = st.sampled_from(
    ["valid"] * 7 + ["valid-uppercase", "absent", "empty", "other-key", "garbage", "conflicting"]
)
TRANSPORTS = st.sampled_from(["text"] * 5 + ["base64"] * 2 + ["bad-base64", "text-with-lone-surrogate"])
HEADER_NAMES = st.sampled_from([SIGNATURE_HEADER, SIGNATURE_HEADER.lower(), SIGNATURE_HEADER.upper()])


@st.composite
def requests(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """(API Gateway event, signature mode)."""
    body = draw(BODIES)
    transport = draw(TRANSPORTS)
    if transport.startswith("text"):
        # API Gateway hands a non-binary body over as text; what the handler verifies is that text's UTF-8.
        text = body.decode("utf-8", errors="replace")
        if transport == "text-with-lone-surrogate":
            at = draw(st.integers(min_value=0, max_value=len(text)))
            text = text[:at] + "\udc80" + text[at:]
        signed_bytes = text.encode("utf-8", errors="surrogatepass")
        event = rest_proxy_event(text)
    else:
        signed_bytes = body
        event = rest_proxy_event(body, base64_encoded=True)
        if transport == "bad-base64":
            event["body"] = draw(st.sampled_from(["!", "====", "abc"])) + event["body"]
    mode = draw(SIGNATURES)
    key = TEST_SIGNING_KEY if mode != "other-key" else "not-the-merchants-key"
    header_value = {
        "absent": None,
        "empty": "",
        "garbage": draw(st.text(max_size=70)),
        "valid-uppercase": sign(signed_bytes, key).upper(),
    }.get(mode, sign(signed_bytes, key))
    if header_value is not None:
        name = draw(HEADER_NAMES)
        event["headers"][name] = header_value
        event["multiValueHeaders"][name] = [header_value]
        if mode == "conflicting":
            event["multiValueHeaders"][name].append(sign(signed_bytes, "another-key"))
    return event, mode


# -- the run -------------------------------------------------------------------------------------------------


@pytest.fixture
def ingest_stack(use_function_env) -> Iterator[str]:
    """The ingest function's environment and its merchants in moto; yields the queue's URL."""
    env = use_function_env("IngestFunction")
    names = SecretNames(secret_prefix=env["SECRET_PREFIX"])
    write_merchant_secrets(
        names,
        str(SIGNED_MERCHANT),
        PaySimpleCredentials(api_username="u", api_key="k", webhook_signing_key=TEST_SIGNING_KEY),
    )
    boto3.client("secretsmanager").create_secret(
        Name=names.webhook_signing_key(str(MALFORMED_SECRET_MERCHANT)), SecretString='["not", "an", "object"]'
    )
    write_paysimple_secret(
        names,
        str(NOT_MIGRATED_MERCHANT),
        {"api_username": "u", "api_key": "k", "webhook_signing_key": TEST_SIGNING_KEY},
    )
    # Ten thousand log lines are formatted (the redacting formatter runs) but neither kept nor captured.
    handler = powertools_logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(io.StringIO())
    application_logger = logging.getLogger(powertools_logger.name)
    application_logger.propagate = False
    try:
        yield env["CHANGES_QUEUE_URL"]
    finally:
        application_logger.propagate = True
        handler.setStream(previous)


def test_no_webhook_gets_a_5xx_and_no_refusal_enqueues_anything(ingest_stack, capsys, monkeypatch):
    # moto's model of the queue, read directly: GetQueueAttributes through boto3 costs ~8 ms a call. It is
    # emptied after each accepted event, so each check is cheap and each accepted event must add exactly one
    # (moto otherwise refuses a second purge within 60 s, as SQS does).
    monkeypatch.setenv("MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR", "false")
    sqs = sqs_backends[ACCOUNT_ID][REGION]
    queue_name = ingest_stack.rsplit("/", 1)[-1]
    outcomes: Counter[str] = Counter()
    context = LambdaContextStub("IngestFunction", remaining_millis=8_000)

    @given(request=requests())
    @settings(
        max_examples=MIN_CASES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def deliver(request: tuple[dict[str, Any], str]) -> None:
        event, mode = request

        response = lambda_handler(event, context)  # an exception here fails the run

        status = int(response["statusCode"])
        body = json.loads(response["body"])
        enqueued = sqs.get_queue(queue_name).approximate_number_of_messages
        outcome = f"{status} {body.get('status', '')}".strip()
        outcomes[outcome] += 1
        assert status == 202 or status in REFUSALS, outcome
        if outcome == "202 accepted":
            assert enqueued == 1
            sqs.purge_queue(queue_name)
        else:
            assert enqueued == 0, f"{outcome} enqueued {enqueued}"
        if mode in {"absent", "empty", "conflicting"}:
            assert status == 401, outcome
        if mode in {"other-key", "garbage"}:
            assert status in {400, 401, 413}, outcome
        if status == 401:
            assert body == {"message": "missing or invalid signature"}
        capsys.readouterr()  # the metrics lines, discarded as they come

    deliver()

    # Then the run was as large as promised and reached every outcome, the queue included
    assert sum(outcomes.values()) >= MIN_CASES
    for outcome in ["202 accepted", "202 ignored", "400", "401", "413", "422"]:
        assert outcomes[outcome] > 20, outcomes
