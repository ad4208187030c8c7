"""The admin API's OpenAPI document: generated from the code, checked in as docs/openapi.json, and holding
every route of DESIGN.md's Admin API table."""

from __future__ import annotations

import json

import pytest

from functions.admin.openapi import DOCUMENT, generated

DESIGN_ROUTES = [
    ("put", "/admin/merchants/{merchant_id}"),
    ("get", "/admin/merchants/{merchant_id}/qbo/connect"),
    ("get", "/oauth/qbo/callback"),
    ("get", "/admin/merchants/{merchant_id}/settings"),
    ("put", "/admin/merchants/{merchant_id}/settings"),
    ("get", "/admin/field-catalog"),
    ("get", "/admin/merchants/{merchant_id}/mapping"),
    ("put", "/admin/merchants/{merchant_id}/mapping"),
    ("get", "/admin/merchants/{merchant_id}/customers"),
    ("get", "/admin/merchants/{merchant_id}/customers/{paysimple_customer_id}"),
    ("get", "/admin/merchants/{merchant_id}/qbo/customers"),
    ("post", "/admin/merchants/{merchant_id}/links"),
    ("delete", "/admin/merchants/{merchant_id}/links/{paysimple_customer_id}"),
    ("post", "/admin/merchants/{merchant_id}/merges"),
    ("get", "/admin/merchants/{merchant_id}/failures"),
    ("post", "/admin/merchants/{merchant_id}/failures/redrive"),
    ("get", "/admin/merchants/{merchant_id}/status"),
    ("post", "/admin/merchants/{merchant_id}/dry-run"),
]


def test_docs_openapi_json_is_what_the_code_generates():
    # Given the checked-in document and the one the routes and models generate now
    committed = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else ""

    # Then they are the same (regenerate with: python -m functions.admin.openapi)
    assert committed == generated(), "docs/openapi.json is stale: run python -m functions.admin.openapi"


@pytest.mark.parametrize(("method", "path"), DESIGN_ROUTES)
def test_every_design_route_is_documented_with_its_success_answer(method, path):
    document = json.loads(generated())

    operation = document["paths"][path][method]

    assert {"200", "201"} & set(operation["responses"])


def test_no_response_schema_can_carry_a_secret():
    # Secrets go in (onboarding) but never come out: no response model has a field named like one.
    document = json.loads(generated())
    request_only = {"PaySimpleCredentialsInput", "MerchantUpsertRequest"}
    secret_names = {"api_key", "webhook_signing_key", "access_token", "refresh_token", "client_secret"}

    exposed = {
        (name, field)
        for name, schema in document["components"]["schemas"].items()
        if name not in request_only
        for field in schema.get("properties", {})
        if field in secret_names
    }

    assert exposed == set()
