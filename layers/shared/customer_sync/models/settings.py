"""Per-merchant profile and settings, and the QBO connect flow's one-time state (SettingsTable).

Connection health lives on the same table but belongs to adapters/dynamodb_connection.py (ConnectionState).
"""

from __future__ import annotations

import string
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from customer_sync.models.common import UtcDatetime
from customer_sync.models.mapping import FieldMapping

DEFAULT_COLLISION_SUFFIX = "{first} {last} (PS-{id})"
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


class MerchantSettings(BaseModel):
    """`enabled_at` is when sync was last switched on: events that happened before it are never synced."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sync_enabled: bool = False
    enabled_at: UtcDatetime | None = None
    disabled_at: UtcDatetime | None = None
    collision_suffix: str = Field(default=DEFAULT_COLLISION_SUFFIX, min_length=1, max_length=200)
    deactivate_on_delete: bool = False
    updated_at: UtcDatetime | None = None

    @field_validator("collision_suffix")
    @classmethod
    def _check_suffix(cls, value: str) -> str:
        return _check_collision_template(value)

    def with_changes(self, changes: SettingsChanges, *, now: datetime) -> MerchantSettings:
        """Apply a partial update. Off → on records enabled_at; on → off records disabled_at."""
        updated: dict[str, Any] = {**changes.model_dump(exclude_none=True), "updated_at": now}
        if changes.sync_enabled is True and not self.sync_enabled:
            updated["enabled_at"] = now
        if changes.sync_enabled is False and self.sync_enabled:
            updated["disabled_at"] = now
        return MerchantSettings.model_validate({**self.model_dump(), **updated})

    def collision_display_name(self, first_name: str, last_name: str, paysimple_customer_id: str) -> str:
        return self.collision_suffix.format(first=first_name, last=last_name, id=paysimple_customer_id)


class MerchantSyncConfig(BaseModel):
    """What the sync reads of a merchant once per batch: its settings and every saved mapping version,
    newest first (domain.mapping.mapping_in_effect picks the one a change was saved under)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    settings: MerchantSettings
    mappings: tuple[FieldMapping, ...] = ()


class SettingsChanges(BaseModel):
    """A partial update: None leaves a setting as it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sync_enabled: bool | None = None
    collision_suffix: str | None = Field(default=None, min_length=1, max_length=200)
    deactivate_on_delete: bool | None = None

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
