"""The local stack in this process (its functions and moto still run as processes of their own): exactly
the template's resources, and other QBO/PaySimple services instead of the emulators when configured."""

import gc

import boto3
import pytest

from local.cfn import load_template, resources_of_type
from local.settings import LocalStackSettings
from local.stack import Stack


def settings(tmp_path, **overrides):
    return LocalStackSettings(
        gateway_port=0,
        moto_port=0,
        qbo_emulator_port=0,
        paysimple_emulator_port=0,
        demo=False,
        log_dir=tmp_path / "logs",
        **overrides,
    )


@pytest.fixture(scope="module")
def external_services_stack(tmp_path_factory):
    # Given QBO and PaySimple URLs pointing elsewhere (nothing listens there; nothing is called here)
    chosen = settings(
        tmp_path_factory.mktemp("stack"),
        qbo_api_base_url="http://127.0.0.1:9/qbo",
        qbo_token_url="http://127.0.0.1:9/token",
        paysimple_api_base_url="http://127.0.0.1:9/paysimple",
        admin_token="a-fixed-admin-token-for-tests",
    )
    with Stack(chosen, out=lambda line: None) as stack:
        yield stack


def test_the_stack_holds_exactly_the_tables_queues_and_secrets_of_the_template(external_services_stack):
    template = load_template()
    url = external_services_stack.moto.url

    tables = set(boto3.client("dynamodb", endpoint_url=url).list_tables()["TableNames"])
    queue_urls = boto3.client("sqs", endpoint_url=url).list_queues()["QueueUrls"]
    queues = {queue_url.rsplit("/", 1)[1] for queue_url in queue_urls}
    found = boto3.client("secretsmanager", endpoint_url=url).list_secrets()["SecretList"]
    secrets = {secret["Name"] for secret in found}

    assert tables == set(resources_of_type(template, "AWS::DynamoDB::Table"))
    assert queues == {f"{name}.fifo" for name in resources_of_type(template, "AWS::SQS::Queue")}
    assert secrets == {
        "customer-sync/qbo-app",
        "customer-sync/oauth-state-key",
        "customer-sync/qbo-webhook-verifier",
    }


def test_services_set_by_url_are_used_instead_of_the_emulators(external_services_stack):
    stack = external_services_stack

    assert stack.qbo_emulator is None
    assert stack.paysimple_emulator is None
    sync_env = stack.pools["SyncFunction"].environment
    assert sync_env["QBO_API_BASE_URL"] == "http://127.0.0.1:9/qbo"
    assert sync_env["QBO_TOKEN_URL"] == "http://127.0.0.1:9/token"
    assert (
        sync_env["QBO_AUTHORIZE_URL"] == "https://appcenter.intuit.com/connect/oauth2"
    )  # the template default
    assert sync_env["PAYSIMPLE_API_BASE_URL"] == "http://127.0.0.1:9/paysimple"
    assert sync_env["AWS_ENDPOINT_URL"] == stack.moto.url
    info = stack.info()
    assert (info["qbo_emulator_url"], info["paysimple_emulator_url"]) == (None, None)
    assert info["admin_token"] == "a-fixed-admin-token-for-tests"


def test_each_function_gets_the_environment_the_template_gives_it(external_services_stack):
    stack = external_services_stack

    for logical_id, pool in stack.pools.items():
        env = pool.environment
        assert env["AWS_LAMBDA_FUNCTION_NAME"] == logical_id
        assert env["LINKS_TABLE_NAME"] == "LinksTable"
        assert env["CHANGES_QUEUE_URL"].endswith("/CustomerChangesQueue.fifo")
        assert env["SECRET_PREFIX"] == "customer-sync/"
    assert {pool.spec.module for pool in stack.pools.values()} == {
        "functions.ingest.app",
        "functions.sync.app",
        "functions.admin.app",
        "functions.qbo_webhook.app",
        "functions.qbo_changes.app",
        "functions.qbo_cdc.app",
        "functions.qbo_keep_alive.app",
        "functions.dead_letters.app",
    }


def test_what_the_stack_made_at_start_up_is_kept_out_of_the_garbage_collectors_walks_until_it_stops(tmp_path):
    # Given a stack that has started (its start-up makes about 190,000 long-lived objects)
    with Stack(settings(tmp_path), out=lambda line: None):
        # Then they are frozen: a full collection, which stops every thread of this process (the
        # emulators' too), no longer walks them
        assert gc.get_freeze_count() > 100_000
    # And once it has stopped they can be collected again
    assert gc.get_freeze_count() == 0
