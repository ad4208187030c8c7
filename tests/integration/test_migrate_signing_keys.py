"""`make migrate-signing-keys` (ops/migrate_signing_keys.py) against moto: merchants onboarded before the
ingest function had its own signing-key secret get one, nothing else changes, and their webhooks, refused
until then, are accepted when PaySimple retries them."""

import json

import boto3
import pytest

from customer_sync.config.shared import SecretNames
from customer_sync.models.merchant_secrets import PaySimpleCredentials
from events.generate import JOHN_DOE, TEST_SIGNING_KEY, signed_event, webhook_body
from functions.ingest.app import lambda_handler
from ops.migrate_signing_keys import main, migrate
from tests.support.lambda_context import LambdaContextStub
from tests.support.onboarding import write_merchant_secrets, write_paysimple_secret

NAMES = SecretNames(secret_prefix="test-prefix/")


def old_merchant(merchant_id, signing_key=None):
    """Onboarded by the release before: one PaySimple secret holding the signing key too."""
    credentials = {
        "api_username": f"user-{merchant_id}",
        "api_key": f"api-key-{merchant_id}",
        "webhook_signing_key": signing_key or f"signing-key-{merchant_id}",
    }
    write_paysimple_secret(NAMES, merchant_id, credentials)
    return credentials


def secret_values():
    client = boto3.client("secretsmanager")
    return {
        entry["Name"]: client.get_secret_value(SecretId=entry["Name"])["SecretString"]
        for entry in client.list_secrets()["SecretList"]
    }


def test_each_old_merchant_gets_its_signing_key_secret_and_nothing_else_changes(aws, capsys):
    # Given two merchants onboarded before, and one onboarded since (both secrets)
    old_merchant("1225")
    old_merchant("1226")
    write_merchant_secrets(
        NAMES, "1300", PaySimpleCredentials(api_username="u", api_key="k", webhook_signing_key="key-1300")
    )
    before = secret_values()

    # When the migration runs
    exit_code = main(["--secret-prefix", "test-prefix/"])

    # Then the two old merchants have their signing key in its own secret, and no other secret changed
    after = secret_values()
    assert exit_code == 0
    assert set(after) - set(before) == {NAMES.webhook_signing_key("1225"), NAMES.webhook_signing_key("1226")}
    assert json.loads(after[NAMES.webhook_signing_key("1225")]) == {"webhook_signing_key": "signing-key-1225"}
    assert {name: value for name, value in after.items() if name in before} == before
    # and it said what it did without printing any secret
    output = capsys.readouterr().out
    assert output.splitlines() == [
        "merchant 1225: created",
        "merchant 1226: created",
        "merchant 1300: up_to_date",
        "complete",
    ]


def test_running_it_again_changes_nothing(aws):
    # Given a migration that already ran
    old_merchant("1225")
    migrate(boto3.client("secretsmanager"), NAMES)
    before = secret_values()

    # When it runs again / Then every merchant is up to date and no secret changed
    report = migrate(boto3.client("secretsmanager"), NAMES)
    assert report.outcomes == {"1225": "up_to_date"}
    assert secret_values() == before


def test_check_only_reports_and_fails_without_writing(aws, capsys):
    # Given an old merchant / When checked
    old_merchant("1225")
    before = secret_values()
    exit_code = main(["--secret-prefix", "test-prefix/", "--check"])

    # Then it says what is left to do, exits 1, and wrote nothing
    assert exit_code == 1
    assert capsys.readouterr().out.splitlines() == [
        "merchant 1225: to_create",
        "INCOMPLETE: see the merchants above",
    ]
    assert secret_values() == before


@pytest.mark.parametrize(
    ("stored", "outcome"),
    [('{"webhook_signing_key": "another-key"}', "conflict"), ("not json", "conflict")],
    ids=["another-key", "malformed"],
)
def test_a_signing_key_secret_that_disagrees_is_reported_and_left_alone(aws, stored, outcome):
    # Given an old merchant whose signing-key secret exists but holds something else
    old_merchant("1225")
    boto3.client("secretsmanager").create_secret(Name=NAMES.webhook_signing_key("1225"), SecretString=stored)

    # When the migration runs / Then it is reported, the run is incomplete, and the secret is untouched
    report = migrate(boto3.client("secretsmanager"), NAMES)
    assert report.outcomes == {"1225": outcome}
    assert not report.complete
    assert secret_values()[NAMES.webhook_signing_key("1225")] == stored


def test_a_paysimple_secret_without_a_signing_key_is_reported_unreadable(aws):
    # Given a PaySimple secret that holds no signing key to copy
    write_paysimple_secret(NAMES, "1225", {"api_username": "u", "api_key": "k"})

    # When the migration runs / Then the merchant is reported and nothing is created
    report = migrate(boto3.client("secretsmanager"), NAMES)
    assert report.outcomes == {"1225": "unreadable"}
    assert NAMES.webhook_signing_key("1225") not in secret_values()


def test_only_paysimple_secrets_under_the_prefix_count(aws):
    # Given a merchant of another stack, a QBO connection secret alone, and one merchant of this stack
    credentials = {"api_username": "u", "api_key": "k", "webhook_signing_key": "key"}
    write_paysimple_secret(SecretNames(secret_prefix="other-stack/"), "1225", credentials)
    boto3.client("secretsmanager").create_secret(Name="test-prefix/merchants/1227/qbo", SecretString="{}")
    old_merchant("1226")

    # When the migration runs / Then only this stack's merchant with a PaySimple secret is migrated
    assert migrate(boto3.client("secretsmanager"), NAMES).outcomes == {"1226": "created"}
    assert "other-stack/merchants/1225/webhook-signing-key" not in secret_values()


def test_an_old_merchants_webhook_is_refused_until_migrated_then_its_retry_is_accepted(use_function_env):
    # Given the ingest function, and merchant 1225 onboarded before the signing key had its own secret
    env = use_function_env("IngestFunction")
    names = SecretNames(secret_prefix=env["SECRET_PREFIX"])
    write_paysimple_secret(
        names, "1225", {"api_username": "u", "api_key": "k", "webhook_signing_key": TEST_SIGNING_KEY}
    )
    event = signed_event(webhook_body("customer_updated", "evt_before_migration", JOHN_DOE))

    def deliver():
        response = lambda_handler(event, LambdaContextStub("IngestFunction", remaining_millis=8_000))
        return response["statusCode"]

    # When PaySimple delivers a correctly signed webhook / Then it is an unknown merchant: 401, nothing queued
    assert deliver() == 401
    queue_url = env["CHANGES_QUEUE_URL"]
    assert _depth(queue_url) == 0

    # When the operator migrates, and PaySimple retries the delivery (hourly, for 72 hours)
    assert migrate(boto3.client("secretsmanager"), names).outcomes == {"1225": "created"}

    # Then it is accepted and queued: nothing was lost
    assert deliver() == 202
    assert _depth(queue_url) == 1


def _depth(queue_url):
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])
