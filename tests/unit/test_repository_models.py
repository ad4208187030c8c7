"""The stored models refuse states the repositories must never hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from customer_sync.models.common import iso_utc
from customer_sync.models.links import CustomerLink, name_sort_key, normalize_query, search_text
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
    assert normalize_query("  ADA   Love ") == "ada love"
    assert normalize_query("   ") is None


def test_a_card_number_split_across_first_and_last_name_is_never_stored_assembled() -> None:
    # Given first and last names that are each clean but hold a card number between them
    link = CustomerLink(
        merchant_id="1225",
        paysimple_customer_id="77",
        status="unlinked",
        reason="ambiguous",
        first_name="4111 1111",
        last_name="1111 1111",
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    # When the searchable text of the link is built
    text = search_text(link)
    # Then the assembled card number is not in it
    assert "4111111111111111" not in "".join(ch for ch in text if ch.isdigit() or ch == "\n")
