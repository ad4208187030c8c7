"""The stored models refuse states the repositories must never hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from customer_sync.models.common import iso_utc
from customer_sync.models.links import CustomerLink, name_sort_key, normalise_query
from customer_sync.models.settings import MerchantSettings, SettingsChanges

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def test_stored_times_have_one_sortable_utc_text_form() -> None:
    # Given the same instant in two zones
    plus_two = T0.astimezone(timezone(timedelta(hours=2)))

    # Then both are written identically, with microseconds and Z
    assert iso_utc(plus_two) == iso_utc(T0) == "2025-03-01T09:30:00.000000Z"


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValidationError):
        CustomerLink(
            merchant_id="m", paysimple_customer_id="1", status="unlinked", updated_at=datetime(2025, 3, 1)
        )


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"status": "linked"}, "needs qbo_customer_id"),
        ({"status": "merged"}, "needs merged_into"),
        ({"status": "merged", "merged_into": "1"}, "into itself"),
    ],
)
def test_a_link_missing_what_its_status_needs_is_refused(fields: dict[str, str], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        CustomerLink.model_validate(
            {"merchant_id": "m", "paysimple_customer_id": "1", "updated_at": T0, **fields}
        )


def test_a_revision_is_validated_like_a_new_record() -> None:
    link = CustomerLink(merchant_id="m", paysimple_customer_id="1", status="unlinked", updated_at=T0)

    with pytest.raises(ValidationError):
        link.revised(status="linked")


@pytest.mark.parametrize(
    "template",
    ["{first} {last}", "{first} {last} ({email})", "{first!r} {id}", "{id:>10}", "{first} {last} {"],
)
def test_a_collision_suffix_must_be_a_template_of_first_last_and_id(template: str) -> None:
    with pytest.raises(ValidationError):
        SettingsChanges(collision_suffix=template)


def test_the_default_collision_suffix_names_the_paysimple_id() -> None:
    assert MerchantSettings().collision_display_name("Ada", "Lovelace", "17") == "Ada Lovelace (PS-17)"


def test_list_order_and_search_ignore_case_and_spacing() -> None:
    assert name_sort_key("  Ada ", "de  la Cruz") == "de la cruz ada"
    assert normalise_query("  ADA   Love ") == "ada love"
    assert normalise_query("   ") is None
