"""SyncFunction's tuning: QBO retries and the time a record may need, read from the environment and validated
at cold start (config.SyncSettings)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from customer_sync.config import SyncSettings, load_settings
from tests.support.settings import SYNC_REQUIRED

REQUIRED = {name.upper(): value for name, value in SYNC_REQUIRED.items()}


@pytest.fixture
def sync_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_defaults_try_a_qbo_call_three_times_and_wait_a_second_after_a_throttle(sync_env):
    # Given no tuning variables
    settings = load_settings(SyncSettings)
    # Then QBO calls get three attempts and a throttle costs at most a second
    assert (settings.qbo_max_attempts, settings.qbo_throttle_wait_seconds) == (3, 1.0)
    # And a record may need 45 s: a PaySimple timeout, three QBO attempts that time out, and 2 s besides
    assert settings.record_margin == 10 + 3 * (10 + 1) + 2


def test_qbo_retries_and_the_record_margin_follow_the_environment(sync_env):
    # Given tuning variables
    sync_env.setenv("QBO_MAX_ATTEMPTS", "2")
    sync_env.setenv("QBO_THROTTLE_WAIT_SECONDS", "0.5")
    sync_env.setenv("HTTP_TIMEOUT_SECONDS", "4")
    # When the settings are read
    settings = load_settings(SyncSettings)
    # Then the retries follow them, and so does the derived margin
    assert (settings.qbo_max_attempts, settings.qbo_throttle_wait_seconds) == (2, 0.5)
    assert settings.record_margin == 4 + 2 * (4 + 0.5) + 2
    # And an explicit margin wins
    sync_env.setenv("RECORD_MARGIN_SECONDS", "20")
    load_settings.cache_clear()
    assert load_settings(SyncSettings).record_margin == 20


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("QBO_MAX_ATTEMPTS", "0"),
        ("QBO_MAX_ATTEMPTS", "6"),
        ("QBO_THROTTLE_WAIT_SECONDS", "-1"),
        ("QBO_THROTTLE_WAIT_SECONDS", "60"),
        ("RECORD_MARGIN_SECONDS", "0"),
    ],
)
def test_out_of_range_tuning_fails_at_cold_start(sync_env, variable: str, value: str):
    # Given a tuning variable outside its range
    sync_env.setenv(variable, value)
    # Then reading the settings fails, naming the variable
    with pytest.raises(ValidationError, match=variable.lower()):
        load_settings(SyncSettings)
