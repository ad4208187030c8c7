"""Per-merchant profile and settings, and the QBO connect flow's one-time state (SettingsTable).

Connection health lives on the same table but belongs to adapters/dynamodb_connection.py (ConnectionState).
"""

from __future__ import annotations

import string
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from customer_sync.models.common import UtcDatetime
from customer_sync.models.mapping import FieldMapping

DEFAULT_COLLISION_SUFFIX = "{first} {last} (PS-{id})"

# What a PaySimple save does to a linked QBO customer a person made inactive in QBO:
# "hold": nothing is written; the change is parked (qbo_customer_inactive) and applied by itself once the
#         QBO customer is active again, or when an admin redrives it;
# "reactivate": the save makes the QBO customer active again, and its history says so.
QboInactiveRule = Literal["hold", "reactivate"]
# Enabled periods kept (the oldest are dropped): a change saved in a dropped period is skipped as retroactive.
MAX_ENABLED_PERIODS = 100
_COLLISION_PLACEHOLDERS = frozenset({"first", "last", "id"})


def _check_collision_template(template: str) -> str:
    """Only {first}, {last} and {id}; {id} is required, or a second same-name customer collides again."""
    names: set[str] = set()
    for _, field_name, format_spec, conversion in string.Formatter().parse(template):
        if field_name is None:
            continue
        if field_name not in _COLLISION_PLACEHOLDERS or format_spec or conversion:
            raise ValueError("collision_suffix may only use {first}, {last} and {id}")
        names.add(field_name)
    if "id" not in names:
        raise ValueError("collision_suffix must contain {id} so the name is unique")
    return template


class MerchantProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    merchant_id: str = Field(min_length=1)
    created_at: UtcDatetime


class EnabledPeriod(BaseModel):
    """A time sync was on: from `start` until `end` (None: still on)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: UtcDatetime
    end: UtcDatetime | None = None

    def holds(self, when: datetime) -> bool:
        return self.start <= when and (self.end is None or when < self.end)


class MerchantSettings(BaseModel):
    """`enabled_at` is when sync was last switched on, `enabled_periods` every time it was on (oldest
    first). A change saved in none of them (before the first, or during a pause) is never synced; one saved
    in any of them is, even after a pause and a resume (a redrive, a late delivery)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sync_enabled: bool = False
    enabled_at: UtcDatetime | None = None
    disabled_at: UtcDatetime | None = None
    enabled_periods: tuple[EnabledPeriod, ...] = ()
    collision_suffix: str = Field(default=DEFAULT_COLLISION_SUFFIX, min_length=1, max_length=200)
    deactivate_on_delete: bool = False
    on_qbo_inactive: QboInactiveRule = "hold"
    updated_at: UtcDatetime | None = None

    @field_validator("collision_suffix")
    @classmethod
    def _check_suffix(cls, value: str) -> str:
        return _check_collision_template(value)

    def with_changes(self, changes: SettingsChanges, *, now: datetime) -> MerchantSettings:
        """Apply a partial update. Off → on records enabled_at and opens a period; on → off records
        disabled_at and closes it."""
        updated: dict[str, Any] = {**changes.model_dump(exclude_none=True), "updated_at": now}
        periods = list(self.periods())
        if changes.sync_enabled is True and not self.sync_enabled:
            updated["enabled_at"] = now
            periods.append(EnabledPeriod(start=now))
        if changes.sync_enabled is False and self.sync_enabled:
            updated["disabled_at"] = now
            if periods and periods[-1].end is None:
                periods[-1] = periods[-1].model_copy(update={"end": now})
        updated["enabled_periods"] = tuple(periods[-MAX_ENABLED_PERIODS:])
        return MerchantSettings.model_validate({**self.model_dump(), **updated})

    def periods(self) -> tuple[EnabledPeriod, ...]:
        """The enabled periods; settings stored before periods were kept have the last one only."""
        if self.enabled_periods or self.enabled_at is None:
            return self.enabled_periods
        ended = self.disabled_at if self.disabled_at is not None and not self.sync_enabled else None
        if ended is not None and ended < self.enabled_at:
            ended = None
        return (EnabledPeriod(start=self.enabled_at, end=ended),)

    def was_enabled_at(self, when: datetime) -> bool:
        """Whether a change saved at `when` was saved while sync was on (the no-retroactive rule)."""
        return any(period.holds(when) for period in self.periods())

    def collision_display_name(self, first_name: str, last_name: str, paysimple_customer_id: str) -> str:
        return self.collision_suffix.format(first=first_name, last=last_name, id=paysimple_customer_id)


class NameVariants(BaseModel):
    """The name variants (domain.name_variants) of the QBO company `realm_id`, as a merchant connected to
    it keeps them: built at `built_at` and kept current since."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    realm_id: str
    customers: tuple[dict[str, Any], ...] = ()
    built_at: UtcDatetime


class MerchantSyncConfig(BaseModel):
    """What the sync reads of a merchant once per batch: its settings, every saved mapping version, newest
    first (domain.mapping.mapping_in_effect picks the one a change was saved under), the QBO company it is
    connected to (`realm_id`, recorded when it connects; None when it never did), and that company's name
    variants (None until they are built)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    settings: MerchantSettings
    mappings: tuple[FieldMapping, ...] = ()
    realm_id: str | None = None
    name_variants: NameVariants | None = None


class SettingsChanges(BaseModel):
    """A partial update: None leaves a setting as it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sync_enabled: bool | None = None
    collision_suffix: str | None = Field(default=None, min_length=1, max_length=200)
    deactivate_on_delete: bool | None = None
    on_qbo_inactive: QboInactiveRule | None = None

    @field_validator("collision_suffix")
    @classmethod
    def _check_suffix(cls, value: str | None) -> str | None:
        return None if value is None else _check_collision_template(value)


class OAuthState(BaseModel):
    """The one-time `state` of a QBO connect flow: consumed once, useless after `expires_at`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nonce: str = Field(min_length=16, max_length=256)
    merchant_id: str = Field(min_length=1)
    created_at: UtcDatetime
    expires_at: UtcDatetime
    started_by: str | None = Field(default=None, description="Who started it: an email or IAM principal")
