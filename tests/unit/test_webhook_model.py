"""The PaySimple webhook envelope: 7-digit timestamps, strict ids, and no request data in errors."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from customer_sync.models.webhook import (
    CustomerWebhook,
    WebhookEnvelope,
    WebhookMerchant,
    parse_paysimple_timestamp,
)
from tests.support.webhooks import webhook_document

CARD = "4111111111111111"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018-06-20T21:42:31.5412011Z", datetime(2018, 6, 20, 21, 42, 31, 541201, tzinfo=UTC)),
        ("2018-06-20T21:42:31.9999999Z", datetime(2018, 6, 20, 21, 42, 31, 999999, tzinfo=UTC)),
        ("2018-06-20T21:42:31.541201Z", datetime(2018, 6, 20, 21, 42, 31, 541201, tzinfo=UTC)),
        ("2018-06-20T21:42:31.5Z", datetime(2018, 6, 20, 21, 42, 31, 500000, tzinfo=UTC)),
        ("2018-06-20T21:42:31Z", datetime(2018, 6, 20, 21, 42, 31, tzinfo=UTC)),
        ("2018-06-20T23:42:31.5412011+02:00", datetime(2018, 6, 20, 21, 42, 31, 541201, tzinfo=UTC)),
        ("2018-06-20T21:42:31.5412011", datetime(2018, 6, 20, 21, 42, 31, 541201, tzinfo=UTC)),
    ],
    ids=[
        "7-digits",
        "7-digits-truncated-not-rounded",
        "6-digits",
        "1-digit",
        "no-fraction",
        "offset",
        "no-zone",
    ],
)
def test_paysimple_timestamps_parse_to_utc_microseconds(text, expected):
    # Given a timestamp as PaySimple (.NET) writes it / When parsed / Then it is that instant, in UTC
    parsed = parse_paysimple_timestamp(text)

    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_an_aware_datetime_is_converted_to_utc():
    # Given an aware datetime in another zone / When parsed / Then it is the same instant in UTC
    local = datetime(2018, 6, 20, 23, 42, 31, tzinfo=timezone(timedelta(hours=2)))

    assert parse_paysimple_timestamp(local).tzinfo == UTC
    assert parse_paysimple_timestamp(local) == local


@pytest.mark.parametrize(
    "created_at",
    ["yesterday", "2018-06-20", "2018-06-20 21:42:31Z", "2018-06-20T21:42:31.Z", 1529530951, None],
    ids=["words", "date-only", "space-separator", "empty-fraction", "epoch-number", "null"],
)
def test_anything_but_an_iso_timestamp_is_refused(created_at):
    # Given an envelope whose created_at is not an ISO 8601 timestamp / When validated / Then it is refused
    with pytest.raises(ValidationError) as refused:
        WebhookEnvelope.model_validate(webhook_document(created_at=created_at))

    assert [issue["loc"] for issue in refused.value.errors()] == [("created_at",)]


def test_a_customer_webhook_keeps_the_ids_and_drops_names_and_email():
    # Given a customer_updated event with a name and an email
    # When validated
    webhook = CustomerWebhook.model_validate(webhook_document())

    # Then only the customer id is kept from data
    assert webhook.data.model_dump() == {"customer_id": 8053900}
    assert webhook.merchant_id == 1225
    assert webhook.created_at == datetime(2018, 6, 20, 21, 42, 31, 541201, tzinfo=UTC)


def test_customer_deleted_needs_only_the_customer_id():
    # Given a customer_deleted event, whose data is only the id / When validated / Then it is valid
    webhook = CustomerWebhook.model_validate(
        webhook_document(event_type="customer_deleted", data={"customer_id": 8053900})
    )

    assert webhook.data.customer_id == 8053900


def test_the_deprecated_client_id_is_ignored():
    # Given an envelope that still carries client_id / When validated / Then it is valid and not kept
    webhook = CustomerWebhook.model_validate(webhook_document(client_id=42))

    assert "client_id" not in webhook.model_dump()


def test_other_event_types_only_need_data_to_be_an_object():
    # Given a payment event whose data has no customer fields / When validated as an envelope / Then it passes
    event = WebhookEnvelope.model_validate(
        webhook_document(event_type="payment_created", data={"payment_id": 1})
    )

    assert event.event_type == "payment_created"


@pytest.mark.parametrize(
    "merchant_id",
    [True, "1225", 1225.0, 0, -1, 2**63, None],
    ids=["bool", "string", "float", "zero", "negative", "beyond-int64", "null"],
)
def test_merchant_id_must_be_a_positive_json_integer(merchant_id):
    # Given a merchant id that is not a positive 64-bit JSON integer / When read / Then it is refused
    with pytest.raises(ValidationError) as refused:
        WebhookMerchant.model_validate({"merchant_id": merchant_id})

    assert [issue["loc"] for issue in refused.value.errors()] == [("merchant_id",)]


@pytest.mark.parametrize(
    "event_id",
    ["", "evt with spaces", "e" * 129, "évt_1", 42],
    ids=["empty", "spaces", "too-long", "non-ascii", "number"],
)
def test_event_id_must_be_usable_as_an_sqs_deduplication_id(event_id):
    # Given an event id SQS would refuse as MessageDeduplicationId / When validated / Then it is refused
    with pytest.raises(ValidationError) as refused:
        CustomerWebhook.model_validate(webhook_document(event_id=event_id))

    assert [issue["loc"] for issue in refused.value.errors()] == [("event_id",)]


def test_a_validation_error_never_quotes_the_input():
    # Given a malformed customer event carrying a card number in several places
    document = webhook_document(
        event_id=f"evt {CARD}",
        created_at=CARD,
        data={"customer_id": CARD, "first_name": CARD},
    )

    # When it is validated
    with pytest.raises(ValidationError) as refused:
        CustomerWebhook.model_validate(document)

    # Then the error, as text, names the fields but not the values
    text = str(refused.value)
    assert "data.customer_id" in text
    assert CARD not in text
