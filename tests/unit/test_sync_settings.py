"""SyncFunction's tuning: the waits before a failed change is delivered again, the company's QBO request
budget and the time a record may need, read from the environment and validated at cold start
(config.SyncSettings)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from customer_sync.config import load_settings
from customer_sync.config.sync import SyncSettings
from tests.support.settings import SYNC_REQUIRED

REQUIRED = {name.upper(): value for name, value in SYNC_REQUIRED.items()}


@pytest.fixture
def sync_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_defaults_wait_a_second_at_first_and_110_s_at_most_within_qbos_own_limits(sync_env):
    # Given no tuning variables
    settings = load_settings(SyncSettings)
    # Then a failed change comes back after 1 s at first and 110 s at most
    assert (settings.retry_delay_first_seconds, settings.retry_delay_max_seconds) == (1, 110)
    # And the company's QBO budget is QBO's 500 a minute and 10 a second, paused 60 s after a 429
    assert (settings.qbo_budget_per_minute, settings.qbo_budget_per_second) == (500, 10)
    assert settings.qbo_throttle_pause_seconds == 60
    # And a record may need 42 s: a PaySimple fetch and three QBO calls answering just in time, 2 s besides
    assert settings.record_margin == 4 * 10 + 2


def test_the_tuning_and_the_record_margin_follow_the_environment(sync_env):
    # Given tuning variables
    sync_env.setenv("RETRY_DELAY_FIRST_SECONDS", "2")
    sync_env.setenv("RETRY_DELAY_MAX_SECONDS", "90")
    sync_env.setenv("QBO_BUDGET_PER_MINUTE", "30")
    sync_env.setenv("HTTP_TIMEOUT_SECONDS", "4")
    # When the settings are read
    settings = load_settings(SyncSettings)
    # Then the waits and the budget follow them, and so does the derived margin
    assert (settings.retry_delay_first_seconds, settings.retry_delay_max_seconds) == (2, 90)
    assert 28 < settings.budget_rules().requests_per_minute < 30
    assert settings.record_margin == 4 * 4 + 2
    # And an explicit margin wins
    sync_env.setenv("RECORD_MARGIN_SECONDS", "20")
    load_settings.cache_clear()
    assert load_settings(SyncSettings).record_margin == 20


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RETRY_DELAY_FIRST_SECONDS", "-1"),
        ("RETRY_DELAY_MAX_SECONDS", "0"),
        ("RETRY_DELAY_MAX_SECONDS", "901"),
        ("QBO_BUDGET_PER_MINUTE", "0"),
        ("QBO_BUDGET_PER_SECOND", "0"),
        ("QBO_THROTTLE_PAUSE_SECONDS", "-1"),
        ("RECORD_MARGIN_SECONDS", "0"),
    ],
)
def test_out_of_range_tuning_fails_at_cold_start(sync_env, variable: str, value: str):
    # Given a tuning variable outside its range
    sync_env.setenv(variable, value)
    # Then reading the settings fails, naming the variable
    with pytest.raises(ValidationError, match=variable.lower()):
        load_settings(SyncSettings)
