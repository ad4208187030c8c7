"""The no-retroactive gate's memory: every period sync was on. A change saved in any of them is synced (a
redrive or a late delivery after a pause and a resume); one saved before the first or during a pause is
not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from customer_sync.models.settings import (
    MAX_ENABLED_PERIODS,
    EnabledPeriod,
    MerchantSettings,
    SettingsChanges,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ON = SettingsChanges(sync_enabled=True)
OFF = SettingsChanges(sync_enabled=False)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def toggled(*steps: tuple[float, SettingsChanges]) -> MerchantSettings:
    settings = MerchantSettings()
    for at, change in steps:
        settings = settings.with_changes(change, now=minutes(at))
    return settings


# Enabled at 0, paused at 10, resumed at 20.
PAUSED_AND_RESUMED = ((0, ON), (10, OFF), (20, ON))


@pytest.mark.parametrize(
    ("steps", "saved_at", "synced"),
    [
        pytest.param((), 5, False, id="never enabled"),
        pytest.param(((0, ON),), -1, False, id="saved before the first enabling"),
        pytest.param(((0, ON),), 0, True, id="saved the moment it was enabled"),
        pytest.param(((0, ON),), 60, True, id="saved while on"),
        pytest.param(PAUSED_AND_RESUMED, 5, True, id="saved in the first period, synced after the resume"),
        pytest.param(PAUSED_AND_RESUMED, 10, False, id="saved the moment it was paused"),
        pytest.param(PAUSED_AND_RESUMED, 15, False, id="saved during the pause"),
        pytest.param(PAUSED_AND_RESUMED, 25, True, id="saved after the resume"),
        pytest.param(((0, ON), (10, OFF)), 5, True, id="saved while on, sync now off (the gate says off)"),
        pytest.param(
            ((0, ON), (0.5, ON), (10, OFF), (10.5, OFF)), 12, False, id="repeated toggles count once"
        ),
    ],
)
def test_a_change_is_synced_only_if_saved_in_an_enabled_period(steps, saved_at, synced):
    assert toggled(*steps).was_enabled_at(minutes(saved_at)) is synced


def test_each_enabling_opens_a_period_and_each_pause_closes_it():
    settings = toggled(*PAUSED_AND_RESUMED)
    assert settings.enabled_periods == (
        EnabledPeriod(start=minutes(0), end=minutes(10)),
        EnabledPeriod(start=minutes(20)),
    )
    assert (settings.enabled_at, settings.disabled_at) == (minutes(20), minutes(10))


def test_settings_stored_before_periods_were_kept_have_their_last_period():
    # Given settings as stored before: enabled at 20, paused at 10 earlier (no periods)
    stored = MerchantSettings(sync_enabled=True, enabled_at=minutes(20), disabled_at=minutes(10))
    # Then only the last period counts, as the gate did then
    assert stored.was_enabled_at(minutes(25)) and not stored.was_enabled_at(minutes(5))
    # And a pause closes that period, a resume opens another
    resumed = stored.with_changes(OFF, now=minutes(30)).with_changes(ON, now=minutes(40))
    assert resumed.was_enabled_at(minutes(25)) and not resumed.was_enabled_at(minutes(35))


def test_the_oldest_periods_are_dropped_beyond_the_limit():
    steps = [(float(n), ON if n % 2 == 0 else OFF) for n in range(2 * MAX_ENABLED_PERIODS + 2)]
    settings = toggled(*steps)
    assert len(settings.enabled_periods) == MAX_ENABLED_PERIODS
    assert not settings.was_enabled_at(minutes(0.5))
    assert settings.was_enabled_at(minutes(2 * MAX_ENABLED_PERIODS + 0.5))
