"""AdminFunction: merchant settings, the field catalog and mapping (Save Changes), and the refusals every
merchant route shares: an unknown merchant is 404 and a refusal writes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from customer_sync.domain.mapping import FIELD_CATALOG
from functions.admin.openapi import PROJECT_ROOT
from tests.support.admin_api import call, invoke, stored_state

MERCHANT = "1225"

FULL_MAPPING = [
    {"paysimple_field": "FirstName", "qbo_field": "GivenName", "enabled": True},
    {"paysimple_field": "LastName", "qbo_field": "FamilyName", "enabled": True},
    {"paysimple_field": "Email", "qbo_field": "PrimaryEmailAddr", "enabled": True},
    {"paysimple_field": "ShippingAddress", "qbo_field": "ShipAddr", "enabled": False},
    {"paysimple_field": "CustomerAccount", "qbo_field": "CompanyName", "enabled": True},
]

# Every merchant route with a request it would accept for a known merchant.
MERCHANT_ROUTES = [
    ("GET", "/admin/merchants/{m}/qbo/connect", None, None),
    ("GET", "/admin/merchants/{m}/status", None, None),
    ("GET", "/admin/merchants/{m}/settings", None, None),
    ("PUT", "/admin/merchants/{m}/settings", {"sync_enabled": True}, None),
    ("GET", "/admin/merchants/{m}/mapping", None, None),
    ("PUT", "/admin/merchants/{m}/mapping", {"fields": FULL_MAPPING}, None),
    ("GET", "/admin/merchants/{m}/customers", None, {"status": "unlinked"}),
    ("GET", "/admin/merchants/{m}/customers/8053900", None, None),
    ("GET", "/admin/merchants/{m}/qbo/customers", None, {"q": "Ann"}),
    (
        "POST",
        "/admin/merchants/{m}/links",
        {"paysimple_customer_id": "8053900", "qbo_customer_id": "1"},
        None,
    ),
    ("DELETE", "/admin/merchants/{m}/links/8053900", None, None),
    (
        "POST",
        "/admin/merchants/{m}/merges",
        {
            "primary_paysimple_customer_id": "1",
            "duplicate_paysimple_customer_ids": ["2"],
            "qbo_customer_id": "1",
        },
        None,
    ),
    ("GET", "/admin/merchants/{m}/failures", None, None),
    ("POST", "/admin/merchants/{m}/failures/redrive", {}, None),
    ("POST", "/admin/merchants/{m}/dry-run", {}, None),
]


@pytest.mark.parametrize(("method", "path", "body", "query"), MERCHANT_ROUTES, ids=lambda v: str(v))
def test_every_merchant_route_answers_404_for_an_unknown_merchant_and_writes_nothing(
    merchants, method, path, body, query
):
    # Given a deployment with one onboarded merchant
    merchants.onboard(MERCHANT)
    before = stored_state()

    # When a route is called for a merchant never onboarded
    response = call(method, path.format(m="4242"), body=body, query=query)

    # Then 404, and nothing was written
    assert response.status == 404, response.text
    assert response.json["message"] == "unknown merchant"
    assert stored_state() == before


# -- settings ------------------------------------------------------------------------------------------------


def test_a_new_merchant_has_the_default_settings(merchants):
    # Given a merchant just onboarded
    merchants.onboard(MERCHANT)

    # When its settings are read
    response = call("GET", f"/admin/merchants/{MERCHANT}/settings")

    # Then sync is off, with the default collision suffix, and deleted customers are not deactivated
    assert response.status == 200
    assert response.json["sync_enabled"] is False
    assert response.json["enabled_at"] is None
    assert response.json["collision_suffix"] == "{first} {last} (PS-{id})"
    assert response.json["deactivate_on_delete"] is False


def test_enabling_sync_records_enabled_at_and_disabling_keeps_it(merchants):
    # Given an onboarded merchant
    merchants.onboard(MERCHANT)
    before = datetime.now(UTC)

    # When sync is enabled, then disabled
    enabled = call("PUT", f"/admin/merchants/{MERCHANT}/settings", body={"sync_enabled": True})
    disabled = call("PUT", f"/admin/merchants/{MERCHANT}/settings", body={"sync_enabled": False})

    # Then enabling recorded enabled_at = now; disabling recorded disabled_at and kept enabled_at
    assert enabled.status == 200
    enabled_at = datetime.fromisoformat(enabled.json["enabled_at"])
    assert before <= enabled_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert disabled.json["sync_enabled"] is False
    assert datetime.fromisoformat(disabled.json["enabled_at"]) == enabled_at
    assert disabled.json["disabled_at"] is not None


def test_a_partial_update_changes_only_what_it_names(merchants):
    # Given an onboarded merchant
    merchants.onboard(MERCHANT)

    # When the collision suffix and deactivate-on-delete are set
    response = call(
        "PUT",
        f"/admin/merchants/{MERCHANT}/settings",
        body={"collision_suffix": "{last}, {first} #{id}", "deactivate_on_delete": True},
    )

    # Then they changed, and sync stayed off
    assert response.status == 200
    stored = call("GET", f"/admin/merchants/{MERCHANT}/settings").json
    assert stored["collision_suffix"] == "{last}, {first} #{id}"
    assert stored["deactivate_on_delete"] is True
    assert stored["sync_enabled"] is False


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"collision_suffix": "{first} {last}"}, "collision_suffix", "must contain {id}"),
        ({"collision_suffix": "{first} {email} {id}"}, "collision_suffix", "unknown placeholder {email}"),
        ({"collision_suffix": "{id!r}"}, "collision_suffix", "no format spec or conversion"),
        ({"collision_suffix": "{id"}, "collision_suffix", "not a valid format string"),
        ({"sync_enabled": "yes please"}, "sync_enabled", None),
        ({"sync_enable": True}, "sync_enable", None),
    ],
)
def test_invalid_settings_are_422_naming_the_field_and_write_nothing(merchants, body, field, reason):
    # Given an onboarded merchant
    merchants.onboard(MERCHANT)
    before = stored_state()

    # When settings with a bad value are saved
    response = call("PUT", f"/admin/merchants/{MERCHANT}/settings", body=body)

    # Then 422 naming the field (and why), nothing written
    assert response.status == 422
    assert field in json.dumps(response.json["detail"])
    if reason:
        assert any(reason in text for text in response.json["reasons"])
    assert stored_state() == before


# -- field catalog and mapping -----------------------------------------------------------------------------


def test_the_field_catalog_lists_every_paysimple_field_and_its_allowed_qbo_targets(admin_env):
    # When the catalog is read
    response = call("GET", "/admin/field-catalog")

    # Then every catalog field is there with its targets; names are required
    assert response.status == 200
    fields = {entry["paysimple_field"]: entry for entry in response.json["fields"]}
    assert set(fields) == set(FIELD_CATALOG)
    assert fields["CustomerAccount"]["qbo_fields"] == ["Notes", "CompanyName"]
    assert fields["FirstName"]["required"] is True
    assert fields["ShippingAddress"]["default_qbo_field"] == "ShipAddr"


def test_a_merchant_starts_with_the_default_mapping(merchants):
    # Given a new merchant
    merchants.onboard(MERCHANT)

    # When its mapping is read
    response = call("GET", f"/admin/merchants/{MERCHANT}/mapping")

    # Then version 0: names, company, email, phone and billing address on
    assert response.status == 200
    assert response.json["version"] == 0
    enabled = {row["paysimple_field"] for row in response.json["fields"] if row["enabled"]}
    assert enabled == {"FirstName", "LastName", "Company", "Email", "Phone", "BillingAddress"}


def test_saving_a_mapping_creates_a_new_version_effective_now(merchants):
    # Given a merchant
    merchants.onboard(MERCHANT)
    before = datetime.now(UTC)

    # When a mapping is saved twice
    first = call("PUT", f"/admin/merchants/{MERCHANT}/mapping", body={"fields": FULL_MAPPING})
    second = call("PUT", f"/admin/merchants/{MERCHANT}/mapping", body={"fields": FULL_MAPPING[:2]})

    # Then versions 1 and 2, each effective when saved; the current one is the last
    assert (first.status, second.status) == (200, 200)
    assert (first.json["version"], second.json["version"]) == (1, 2)
    assert before <= datetime.fromisoformat(first.json["effective_at"]) <= datetime.now(UTC)
    assert first.json["fields"] == FULL_MAPPING
    current = call("GET", f"/admin/merchants/{MERCHANT}/mapping").json
    assert current["version"] == 2
    assert current["fields"] == FULL_MAPPING[:2]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            [{"paysimple_field": "FirstName", "qbo_field": "GivenName", "enabled": False}, *FULL_MAPPING[1:]],
            "FirstName is required and must stay enabled",
        ),
        (FULL_MAPPING[1:], "FirstName is required"),
        (
            [*FULL_MAPPING[:2], {"paysimple_field": "Email", "qbo_field": "Notes", "enabled": True}],
            "Email cannot map to 'Notes' (allowed: PrimaryEmailAddr)",
        ),
        (
            [
                *FULL_MAPPING[:2],
                {"paysimple_field": "Notes", "qbo_field": "Notes", "enabled": True},
                {"paysimple_field": "CustomerAccount", "qbo_field": "Notes", "enabled": True},
            ],
            "QBO field Notes has more than one source: Notes, CustomerAccount",
        ),
        (
            [*FULL_MAPPING[:2], {"paysimple_field": "CardNumber", "qbo_field": "Notes", "enabled": True}],
            "unknown PaySimple field 'CardNumber'",
        ),
    ],
)
def test_an_invalid_mapping_is_422_with_the_reason_and_changes_nothing(merchants, fields, reason):
    # Given a merchant with a saved mapping
    merchants.onboard(MERCHANT)
    call("PUT", f"/admin/merchants/{MERCHANT}/mapping", body={"fields": FULL_MAPPING})
    before = stored_state()

    # When a mapping breaking a rule is saved
    response = call("PUT", f"/admin/merchants/{MERCHANT}/mapping", body={"fields": fields})

    # Then 422 with the reason; the stored mapping is unchanged
    assert response.status == 422
    assert reason in response.json["reasons"]
    assert response.json["detail"][0]["loc"] == ["body", "fields"]
    assert stored_state() == before
    assert call("GET", f"/admin/merchants/{MERCHANT}/mapping").json["version"] == 1


def test_a_mapping_row_of_the_wrong_shape_is_422_naming_the_field(merchants):
    # Given a merchant
    merchants.onboard(MERCHANT)
    before = stored_state()

    # When a row's `enabled` is missing
    response = call(
        "PUT",
        f"/admin/merchants/{MERCHANT}/mapping",
        body={"fields": [{"paysimple_field": "FirstName", "qbo_field": "GivenName"}]},
    )

    # Then 422 names body.fields[0].enabled
    assert response.status == 422
    assert ["body", "fields", 0, "enabled"] in [issue["loc"] for issue in response.json["detail"]]
    assert stored_state() == before


def test_malformed_mapping_json_is_400_and_writes_nothing(merchants):
    merchants.onboard(MERCHANT)
    before = stored_state()

    response = call("PUT", f"/admin/merchants/{MERCHANT}/mapping", raw_body='{"fields": [}')

    assert response.status == 400
    assert stored_state() == before


def test_an_unknown_route_is_404(admin_env):
    assert call("GET", "/admin/nothing-here").status == 404


def test_the_openapi_document_is_served(admin_env):
    response = call("GET", "/admin/openapi.json")

    assert response.status == 200
    assert response.text + "\n" == (PROJECT_ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name", ["admin_get_field_catalog.json", "admin_get_settings.json", "admin_put_mapping.json"]
)
def test_the_sample_admin_events_are_answered(merchants, name):
    # Given merchant 1225 onboarded, and a sample event as `sam local invoke AdminFunction -e` feeds it
    merchants.onboard(MERCHANT)
    event = json.loads((PROJECT_ROOT / "events" / name).read_text(encoding="utf-8"))

    # When the handler gets it
    response = invoke(event)

    # Then it is answered
    assert response.status == 200, response.text
