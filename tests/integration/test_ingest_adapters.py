"""The ingest function's adapters against moto: a merchant's signing-key secret and the change publisher."""

import json
from datetime import UTC, datetime

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.stub import Stubber

from customer_sync.adapters.merchant_secrets import MerchantSigningKeys
from customer_sync.adapters.sqs import SqsChangePublisher
from customer_sync.config.shared import SecretNames
from customer_sync.errors import MerchantSecretInvalid
from customer_sync.models.merchant_secrets import PaySimpleCredentials
from customer_sync.models.messages import CustomerChangeMessage
from tests.support.onboarding import write_merchant_secrets, write_paysimple_secret

NAMES = SecretNames(secret_prefix="test-prefix/")
CREDENTIALS = PaySimpleCredentials(
    api_username="user-1225", api_key="api-key-1225", webhook_signing_key="signing-key-1225"
)


def store_signing_key_secret(merchant_id, secret_string):
    boto3.client("secretsmanager").create_secret(
        Name=NAMES.webhook_signing_key(merchant_id), SecretString=secret_string
    )


def test_a_merchants_signing_key_comes_from_its_own_secret(aws):
    # Given merchant 1225 onboarded: its PaySimple secret and its signing-key secret
    write_merchant_secrets(NAMES, "1225", CREDENTIALS)

    # When its signing key is read / Then it is the key, and only the signing-key secret was read
    keys = MerchantSigningKeys(NAMES, max_age_seconds=300)
    assert keys.signing_key("1225") == "signing-key-1225"
    assert NAMES.webhook_signing_key("1225") == "test-prefix/merchants/1225/webhook-signing-key"


def test_a_signing_key_is_read_once_per_cache_period(aws):
    # Given a signing key read once, then rotated
    write_merchant_secrets(NAMES, "1225", CREDENTIALS)
    cached = MerchantSigningKeys(NAMES, max_age_seconds=300)
    uncached = MerchantSigningKeys(NAMES, max_age_seconds=0)
    cached.signing_key("1225")
    uncached.signing_key("1225")
    write_merchant_secrets(
        NAMES, "1225", CREDENTIALS.model_copy(update={"webhook_signing_key": "rotated-key"})
    )

    # When read again / Then the cached reader still has the old key; one with no cache period has the new one
    assert cached.signing_key("1225") == "signing-key-1225"
    assert uncached.signing_key("1225") == "rotated-key"


def test_a_merchant_without_a_secret_is_unknown(aws):
    # Given no secret for merchant 4242 / When read / Then the merchant is unknown
    assert MerchantSigningKeys(NAMES, max_age_seconds=300).signing_key("4242") is None


def test_a_merchant_with_only_the_older_paysimple_secret_is_unknown_until_migrated(aws):
    # Given a merchant onboarded before the signing key had its own secret
    write_paysimple_secret(NAMES, "1225", CREDENTIALS.model_dump())

    # When its signing key is read / Then the merchant is unknown: the PaySimple secret is never read
    assert MerchantSigningKeys(NAMES, max_age_seconds=300).signing_key("1225") is None


def test_a_merchant_whose_secret_is_scheduled_for_deletion_is_unknown(aws):
    # Given an off-boarded merchant whose secret awaits deletion
    write_merchant_secrets(NAMES, "1225", CREDENTIALS)
    boto3.client("secretsmanager").delete_secret(
        SecretId=NAMES.webhook_signing_key("1225"), RecoveryWindowInDays=7
    )

    # When read / Then the merchant is unknown
    assert MerchantSigningKeys(NAMES, max_age_seconds=300).signing_key("1225") is None


@pytest.mark.parametrize(
    ("secret_string", "at"),
    [
        ('{"key": "signing-key-1225"}', "webhook_signing_key"),
        ('{"webhook_signing_key": ""}', "webhook_signing_key"),
        ('{"webhook_signing_key": 1225}', "webhook_signing_key"),
        ('["signing-key-1225"]', "(root)"),
        ("signing-key-1225", "(root)"),
    ],
    ids=["wrong-field", "empty", "not-text", "json-list", "not-json"],
)
def test_a_malformed_secret_is_reported_by_field_without_its_value(aws, secret_string, at):
    # Given a signing-key secret that is not the documented JSON
    store_signing_key_secret("1225", secret_string)

    # When read
    with pytest.raises(MerchantSecretInvalid) as invalid:
        MerchantSigningKeys(NAMES, max_age_seconds=300).signing_key("1225")

    # Then the error names the secret and the place at fault, and quotes no value
    assert (
        str(invalid.value) == f"secret 'test-prefix/merchants/1225/webhook-signing-key' is invalid at: {at}"
    )
    assert "signing-key-1225" not in repr(invalid.value)
    assert invalid.value.__cause__ is None


def test_a_secrets_manager_outage_is_not_mistaken_for_an_unknown_merchant(aws):
    # Given Secrets Manager throttles the read
    client = boto3.client("secretsmanager")
    stubber = Stubber(client)
    stubber.add_client_error(
        "get_secret_value", service_error_code="ThrottlingException", http_status_code=400
    )
    keys = MerchantSigningKeys(NAMES, max_age_seconds=300, provider=SecretsProvider(boto3_client=client))

    # When read / Then the failure propagates (the function errors and PaySimple retries) instead of a None
    with stubber, pytest.raises(Exception, match="ThrottlingException"):
        keys.signing_key("1225")


@pytest.fixture
def fifo_queue_url(aws):
    return boto3.client("sqs").create_queue(
        QueueName="changes.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    )["QueueUrl"]


def receive_all(queue_url):
    return (
        boto3.client("sqs")
        .receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
        .get("Messages", [])
    )


def change(**overrides):
    fields = {
        "merchant_id": "1225",
        "customer_id": "8053900",
        "event_type": "customer_updated",
        "event_id": "evt_5b2aca473b6325b3b4d22ed1",
        "occurred_at": datetime(2026, 11, 25, 11, 40, 1, 541201, tzinfo=UTC),
    }
    return CustomerChangeMessage(**{**fields, **overrides})


def test_a_change_is_sent_grouped_by_customer_and_deduplicated_by_event(fifo_queue_url):
    # Given a webhook's change / When published
    SqsChangePublisher(fifo_queue_url).publish(change())

    # Then the queue holds the five contract fields, grouped by merchant:customer, deduplicated by event id
    [message] = receive_all(fifo_queue_url)
    assert json.loads(message["Body"]) == {
        "merchant_id": "1225",
        "customer_id": "8053900",
        "event_type": "customer_updated",
        "event_id": "evt_5b2aca473b6325b3b4d22ed1",
        "occurred_at": "2026-11-25T11:40:01.541201Z",
    }
    assert message["Attributes"]["MessageGroupId"] == "1225:8053900"
    assert message["Attributes"]["MessageDeduplicationId"] == "evt_5b2aca473b6325b3b4d22ed1"


def test_a_redriven_change_keeps_its_attempt_number_and_escapes_deduplication(fifo_queue_url):
    # Given a change already sent, and its first redrive
    publisher = SqsChangePublisher(fifo_queue_url)
    publisher.publish(change())
    publisher.publish(change(redrive_attempt=1))

    # When the queue is read / Then both are there, the redrive carrying its attempt number
    bodies = sorted((json.loads(message["Body"]) for message in receive_all(fifo_queue_url)), key=len)
    assert [body.get("redrive_attempt") for body in bodies] == [None, 1]
