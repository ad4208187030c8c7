"""AWS clients give up in time: a hung DynamoDB, SQS or Secrets Manager call never outlasts a sync record's
margin or PaySimple's webhook budget (adapters/aws_session.py). Making a client needs no network."""

from __future__ import annotations

from typing import Any

import pytest

from customer_sync.adapters.aws_session import AWS_DEFAULT, FAIL_FAST, aws_client
from tests.support.settings import sync_settings

PAYSIMPLE_WEBHOOK_BUDGET_SECONDS = 10
ADMIN_API_GATEWAY_SECONDS = 29


def worst_case_seconds(config: Any) -> float:
    """A call that hangs on every attempt: each attempt waits out the connect and the read timeout, and
    standard retries back off at most 1 s, 2 s, 4 s, ... between attempts."""
    attempts = int(config.retries["total_max_attempts"])
    backoff = sum(2**retry for retry in range(attempts - 1))
    return float(attempts * (config.connect_timeout + config.read_timeout) + backoff)


@pytest.mark.parametrize("service", ["dynamodb", "sqs", "secretsmanager"])
def test_every_client_has_short_timeouts_and_a_bounded_number_of_standard_retries(service: str) -> None:
    # Given a client made the one way adapters make them / When its configuration is read
    config: Any = aws_client(service).meta.config  # type: ignore[call-overload]
    # Then it connects within 2 s, reads within 5 s and tries at most 3 times in standard mode
    assert (config.connect_timeout, config.read_timeout) == (2, 5)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_a_hung_call_gives_up_inside_a_sync_records_margin_and_the_admin_apis_timeout() -> None:
    # Given the default client configuration and the default sync settings
    worst = worst_case_seconds(aws_client("dynamodb").meta.config)
    # Then a call hanging on every attempt has given up before a record's margin or API Gateway runs out
    assert worst == worst_case_seconds(AWS_DEFAULT) == 24
    assert worst < sync_settings().record_margin
    assert worst < ADMIN_API_GATEWAY_SECONDS


def test_the_ingest_path_gives_up_inside_paysimples_webhook_budget() -> None:
    # Given the fail-fast configuration the ingest function's clients use
    config: Any = aws_client("sqs", config=FAIL_FAST).meta.config
    # Then two attempts of 2 s + 2 s, and one backoff, fit PaySimple's 10 s
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    assert worst_case_seconds(config) < PAYSIMPLE_WEBHOOK_BUDGET_SECONDS
