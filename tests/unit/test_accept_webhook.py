"""accept_webhook with in-memory signing keys and publisher: the order of checks and what gets queued."""

import json
from datetime import UTC, datetime

import pytest

from customer_sync.config.ingest import IngestSettings
from customer_sync.domain.ingest import accept_webhook
from customer_sync.domain.webhook_signature import sign_body
from customer_sync.errors import (
    UNAUTHORIZED_MESSAGE,
    MerchantSecretInvalid,
    WebhookInvalid,
    WebhookNotJson,
    WebhookTooLarge,
    WebhookUnauthorized,
)
from customer_sync.models.messages import CustomerChangeMessage
from tests.support.webhooks import webhook_document

KEY = "merchant-1225-key"
CARD = "4111 1111 1111 1111"


class InMemorySigningKeys:
    def __init__(self, keys):
        self.keys = keys
        self.lookups = []

    def signing_key(self, merchant_id):
        self.lookups.append(merchant_id)
        return self.keys.get(merchant_id)


class RecordingPublisher:
    def __init__(self):
        self.published = []

    def publish(self, message):
        self.published.append(message)


@pytest.fixture
def settings():
    return IngestSettings(secret_prefix="test/", changes_queue_url="https://sqs.invalid/changes.fifo")


@pytest.fixture
def keys():
    return InMemorySigningKeys({"1225": KEY})


@pytest.fixture
def publisher():
    return RecordingPublisher()


def body_of(**overrides):
    return json.dumps(webhook_document(**overrides)).encode()


@pytest.fixture
def accept(keys, publisher, settings):
    def call(raw_body, signature="sign", *, key=KEY, settings=settings):
        if signature == "sign":
            signature = sign_body(raw_body, key)
        return accept_webhook(signature, lambda: raw_body, keys=keys, publisher=publisher, settings=settings)

    return call


def test_a_signed_customer_event_is_published_as_ids_only(accept, publisher):
    # Given a signed customer_updated event carrying a name and an email
    # When accepted
    outcome = accept(body_of())

    # Then one message with only ids and the event's time is published
    assert publisher.published == [
        CustomerChangeMessage(
            merchant_id="1225",
            customer_id="8053900",
            event_type="customer_updated",
            event_id="evt_5b2aca473b6325b3b4d22ed1",
            occurred_at=datetime(2018, 6, 20, 21, 42, 31, 541201, tzinfo=UTC),
        )
    ]
    assert (outcome.status, outcome.event_id, outcome.customer_id) == (
        "accepted",
        "evt_5b2aca473b6325b3b4d22ed1",
        "8053900",
    )


def test_a_signed_event_of_another_type_is_ignored(accept, publisher):
    # Given a signed payment event / When accepted / Then it is ignored and nothing is published
    outcome = accept(body_of(event_type="payment_created", data={"payment_id": 7391842}))

    assert (outcome.status, outcome.event_type) == ("ignored", "payment_created")
    assert publisher.published == []


def test_an_oversized_body_is_refused_before_anything_parses_it(accept, keys, publisher, settings):
    # Given a signed request whose body is one byte over the limit
    raw_body = b" " * settings.max_body_bytes + b"x"

    # When offered / Then it is too large, and no key was looked up
    with pytest.raises(WebhookTooLarge, match=r"^body exceeds 65536 bytes$"):
        accept(raw_body)
    assert keys.lookups == []
    assert publisher.published == []


def test_a_body_of_exactly_the_limit_is_not_too_large(accept, publisher, settings):
    # Given a valid event padded with whitespace to exactly the limit
    raw_body = body_of()
    raw_body += b" " * (settings.max_body_bytes - len(raw_body))

    # When offered / Then it is accepted
    assert accept(raw_body).status == "accepted"
    assert len(publisher.published) == 1


# -- the order of checks: an unverified request learns nothing but 401 --------------------------------------


class BodyNeverRead:
    def __call__(self):
        raise AssertionError("the body of an unsigned request was read")


@pytest.mark.parametrize("signature", [None, ""], ids=["absent", "empty"])
def test_a_request_without_a_signature_is_refused_before_its_body_is_read(
    keys, publisher, settings, signature
):
    # Given a request with no signature header / When offered
    with pytest.raises(WebhookUnauthorized) as refused:
        accept_webhook(signature, BodyNeverRead(), keys=keys, publisher=publisher, settings=settings)

    # Then it is unauthorized without its body being read or a key looked up
    assert refused.value.message == UNAUTHORIZED_MESSAGE
    assert refused.value.reason == "no signature header"
    assert keys.lookups == []
    assert publisher.published == []


UNSIGNED_BODIES = {
    "valid": body_of(),
    "no-merchant-id": json.dumps(
        {k: v for k, v in webhook_document().items() if k != "merchant_id"}
    ).encode(),
    "every-field-wrong": body_of(event_id=None, created_at="yesterday", data={}),
    "not-json": b"event_type=customer_created",
    "json-array": b"[1225]",
    "too-large": b" " * 70_000,
    "unknown-merchant": body_of(merchant_id=9999),
}


@pytest.mark.parametrize("raw_body", list(UNSIGNED_BODIES.values()), ids=list(UNSIGNED_BODIES))
def test_an_unsigned_request_learns_nothing_beyond_401(accept, keys, publisher, raw_body):
    # Given a request without a signature header, whatever its body / When offered
    with pytest.raises(WebhookUnauthorized) as refused:
        accept(raw_body, signature=None)

    # Then it gets the one 401 message, and no key was looked up
    assert refused.value.message == UNAUTHORIZED_MESSAGE
    assert keys.lookups == []
    assert publisher.published == []


@pytest.mark.parametrize(
    "raw_body",
    [
        b"",
        b"not json",
        b'{"merchant_id": 1225',
        b"[1225]",
        b'{"merchant_id": "1225"}',
        b'{"merchant_id": 0}',
        b'{"merchant_id": true}',
        b'{"event_type": "customer_created"}',
        b"[" * 30_000 + b"]" * 30_000,
    ],
    ids=["empty", "text", "truncated", "array", "id-as-text", "id-zero", "id-bool", "no-id", "too-deep"],
)
def test_a_body_that_names_no_merchant_cannot_be_verified(accept, keys, raw_body):
    # Given a request with a signature header whose body names no merchant / When offered
    with pytest.raises(WebhookUnauthorized) as refused:
        accept(raw_body, signature="00" * 32)

    # Then it gets the same 401 as an unknown merchant (nobody could have signed it), with no key lookup
    assert refused.value.message == UNAUTHORIZED_MESSAGE
    assert refused.value.reason == "no merchant_id in the body"
    assert keys.lookups == []


def test_a_wrongly_signed_request_learns_nothing_about_the_rest_of_the_envelope(accept):
    # Given a body with a good merchant_id but every other field wrong, and a wrong signature
    raw_body = body_of(event_id=None, created_at="yesterday", data={})

    # When offered / Then it is unauthorized rather than told which fields are wrong
    with pytest.raises(WebhookUnauthorized) as refused:
        accept(raw_body, signature="00" * 32)
    assert refused.value.reason == "signature mismatch"


def test_unknown_merchant_and_wrong_signature_get_the_same_answer(accept, publisher):
    # Given one event for a merchant we do not know, and one signed with the wrong key
    # When offered
    with pytest.raises(WebhookUnauthorized) as unknown_merchant:
        accept(body_of(merchant_id=9999))
    with pytest.raises(WebhookUnauthorized) as wrong_signature:
        accept(body_of(), key="some-other-key")

    # Then both get one and the same message; only the operators' reason differs
    assert unknown_merchant.value.message == wrong_signature.value.message == UNAUTHORIZED_MESSAGE
    assert (unknown_merchant.value.reason, wrong_signature.value.reason) == (
        "no signing key stored for the merchant",
        "signature mismatch",
    )
    assert publisher.published == []


class MalformedKeys:
    def signing_key(self, merchant_id):
        raise MerchantSecretInvalid(f"secret 'test/merchants/{merchant_id}/webhook-signing-key' is invalid")


def test_a_malformed_stored_key_is_raised_for_the_handler_and_nothing_is_published(publisher, settings):
    # Given a merchant whose stored signing key is malformed / When a signed request for it is offered
    raw_body = body_of()
    with pytest.raises(MerchantSecretInvalid):
        accept_webhook(
            sign_body(raw_body, KEY),
            lambda: raw_body,
            keys=MalformedKeys(),
            publisher=publisher,
            settings=settings,
        )

    # Then nothing is published (the handler answers 401 and counts it for operators)
    assert publisher.published == []


# -- verified: the sender is told what is wrong --------------------------------------------------------------


@pytest.mark.parametrize(
    "raw_body",
    [
        b'{"merchant_id": 1225, "event_id": NaN}',
        b'{"merchant_id": 1225, "data": {"first_name": "Zo\xff"}}',
        b'{"merchant_id": 1225, "data": {"first_name": "\xed\xa0\x80"}}',
        b'{"merchant_id": 1225, "data": {"first_name": "\\ud800"}}',
        b'{"merchant_id": 1225, "\\udfff": 1}',
    ],
    ids=["nan", "not-utf8", "utf8-encoded-surrogate", "lone-surrogate-escape", "surrogate-key"],
)
def test_a_verified_body_that_is_not_strict_json_is_malformed(accept, publisher, raw_body):
    # Given a correctly signed body that names its merchant but is not strict JSON / When offered
    with pytest.raises(WebhookNotJson, match=r"^body is not valid JSON"):
        accept(raw_body)

    # Then it is told so, and nothing is published
    assert publisher.published == []


def test_a_surrogate_pair_is_text_not_a_lone_surrogate(accept):
    # Given a signed event whose type holds an emoji, which json.dumps writes as a surrogate pair escape
    raw_body = body_of(event_type="payment_\N{GRINNING FACE}")
    assert b"\\ud83d\\ude00" in raw_body

    # When offered / Then it is valid JSON (an ignored event type)
    assert accept(raw_body).status == "ignored"


def test_a_verified_json_array_is_the_wrong_shape(accept, keys):
    # Given a signed body that names its merchant inside an array: it names none at the top level
    with pytest.raises(WebhookUnauthorized):
        accept(b'[{"merchant_id": 1225}]')
    assert keys.lookups == []


@pytest.mark.parametrize(
    "created_at",
    ["9999-12-31T23:59:59.9999999-23:59", "0001-01-01T00:00:00+23:59"],
    ids=["after-year-9999-in-utc", "before-year-1-in-utc"],
)
def test_a_timestamp_outside_what_utc_can_hold_is_named(accept, publisher, created_at):
    # Given a signed event whose created_at, moved to UTC, leaves the years 0001-9999 / When offered
    with pytest.raises(WebhookInvalid) as refused:
        accept(body_of(created_at=created_at))

    # Then created_at is named (no OverflowError escapes), and nothing is published
    assert refused.value.message == (
        "created_at: Value error, must be a timestamp between the years 0001 and 9999 in UTC"
    )
    assert publisher.published == []


def test_a_signed_event_of_the_wrong_shape_names_the_field(accept, publisher):
    # Given a signed customer event whose data has no customer_id
    raw_body = body_of(data={"first_name": "John"})

    # When offered / Then the field is named
    with pytest.raises(WebhookInvalid) as refused:
        accept(raw_body)

    assert refused.value.message == "data.customer_id: Field required"
    assert publisher.published == []


def test_each_wrong_field_is_named_in_order(accept):
    # Given a signed customer event with three wrong fields
    raw_body = body_of(event_id=" ", created_at=1, data={"customer_id": "x"})

    # When offered
    with pytest.raises(WebhookInvalid) as refused:
        accept(raw_body)

    # Then each location is named, in order
    assert refused.value.message == (
        "event_id: String should match pattern '^[!-~]{1,128}$'; "
        "created_at: Value error, must be an ISO 8601 timestamp such as 2018-06-20T21:42:31.5412011Z; "
        "data.customer_id: Input should be a valid integer"
    )


def test_each_missing_field_is_named(accept):
    # Given a signed body with nothing but merchant_id
    raw_body = b'{"merchant_id": 1225}'

    # When offered
    with pytest.raises(WebhookInvalid) as refused:
        accept(raw_body)

    # Then the four missing fields are named
    assert refused.value.message == (
        "event_type: Field required; event_id: Field required; "
        "created_at: Field required; data: Field required"
    )


@pytest.mark.parametrize("event_type", [None, 42, ["customer_created"], {"type": "customer_created"}])
def test_an_event_type_that_is_not_text_is_named(accept, publisher, event_type):
    # Given a signed event whose event_type is not a string / When offered / Then event_type is named
    with pytest.raises(WebhookInvalid, match=r"^event_type: "):
        accept(body_of(event_type=event_type))
    assert publisher.published == []


def test_data_that_is_not_an_object_is_named_plainly(accept):
    # Given a signed customer event whose data is a string / When offered / Then data is named, plainly
    with pytest.raises(WebhookInvalid, match=r"^data: Input should be a JSON object$"):
        accept(body_of(data="8053900"))


def test_the_refusal_of_a_body_with_a_card_number_does_not_quote_it(accept):
    # Given signed customer events carrying a card number in the fields that fail validation
    raw_bodies = [
        body_of(data={"customer_id": CARD, "first_name": CARD}),
        body_of(event_id=CARD, created_at=CARD),
        body_of(data=CARD),
    ]

    for raw_body in raw_bodies:
        # When offered
        with pytest.raises(WebhookInvalid) as refused:
            accept(raw_body)

        # Then the message does not contain it, whichever way it is written
        assert CARD not in refused.value.message
        assert CARD.replace(" ", "") not in refused.value.message


def test_base64_signatures_are_checked_when_configured(accept, publisher, settings):
    # Given base64 signatures are configured and the event is signed in base64
    base64_settings = settings.model_copy(update={"webhook_signature_encoding": "base64"})
    raw_body = body_of()

    # When offered / Then it is accepted
    outcome = accept(raw_body, signature=sign_body(raw_body, KEY, "base64"), settings=base64_settings)

    assert outcome.status == "accepted"


def test_a_signature_for_one_merchant_does_not_authorize_another(keys, publisher, settings):
    # Given two merchants with their own keys, and merchant 1226's event signed with merchant 1225's key
    keys.keys["1226"] = "merchant-1226-key"
    raw_body = body_of(merchant_id=1226)

    # When offered / Then it is unauthorized
    with pytest.raises(WebhookUnauthorized):
        accept_webhook(
            sign_body(raw_body, KEY), lambda: raw_body, keys=keys, publisher=publisher, settings=settings
        )
    assert keys.lookups == ["1226"]
