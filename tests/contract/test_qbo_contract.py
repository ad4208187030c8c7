"""The QBO behaviours QboClient relies on, run against every target: the emulator always, and the real QBO
sandbox when QBO_SANDBOX_REALM_ID and QBO_SANDBOX_ACCESS_TOKEN are set (QBO_SANDBOX_BASE_URL optional).

If the emulator passes and the sandbox fails, the emulator is kinder than QBO: fix the emulator.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pydantic import BaseModel, Field, SecretStr

from customer_sync.adapters.qbo_client import QboClient
from customer_sync.config import from_environment
from customer_sync.domain.qbo_query import customer_equals
from customer_sync.errors import QboStaleObject
from emulators.qbo.control import QboEmulatorControl
from emulators.qbo.server import QboEmulator
from tests.fakes.tokens import FixedTokens


class SandboxSettings(BaseModel):
    """The real QBO sandbox company to run against (a short-lived access token is enough): QBO_SANDBOX_*."""

    realm_id: str = Field(min_length=1)
    access_token: SecretStr
    base_url: str = "https://sandbox-quickbooks.api.intuit.com"


@dataclass
class Target:
    client: QboClient
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    created: list[str] = field(default_factory=list)

    def create(self, purpose: str, **fields: object) -> str:
        customer = self.client.create_customer(fields, request_id=f"contract-{self.run}-{purpose}")
        self.created.append(customer.Id)
        return customer.Id


def _sandbox_client() -> QboClient:
    try:
        sandbox = from_environment(SandboxSettings, prefix="QBO_SANDBOX_")
    except ValueError:
        pytest.skip("QBO_SANDBOX_* not set")
    return QboClient(sandbox.base_url, sandbox.realm_id, FixedTokens(sandbox.access_token.get_secret_value()))


@pytest.fixture(params=["emulator", pytest.param("sandbox", marks=pytest.mark.sandbox)])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "sandbox":
        client = _sandbox_client()
    else:
        # Once per module, without QBO's rate limits: the contract is about answers, not throttling.
        emulator: QboEmulator = request.getfixturevalue("qbo_emulator")
        realm = QboEmulatorControl(emulator.base_url).create_realm()
        client = QboClient(emulator.base_url, realm["realm_id"], FixedTokens(realm["access_token"]))
    target = Target(client)
    yield target
    # Customers cannot be deleted: deactivate what the test made, so the sandbox stays tidy.
    for customer_id in target.created:
        current = client.read_customer(customer_id)
        if current.Active:
            client.sparse_update(customer_id, current.SyncToken, {"Active": False})


def test_a_create_repeated_with_its_requestid_makes_one_customer(target: Target):
    # Given a create carried out once
    name = f"Contract Idem {target.run}"
    first = target.create("idem", DisplayName=name, GivenName="Contract", FamilyName=f"Idem{target.run}")

    # When it is sent again with the same requestid
    second = target.client.create_customer({"DisplayName": name}, request_id=f"contract-{target.run}-idem")

    # Then the same customer comes back and only one exists
    assert second.Id == first
    assert [c.Id for c in target.client.query_customers(customer_equals(DisplayName=name))] == [first]


@pytest.mark.parametrize(
    ("stored", "searched"),
    [("O'Brien", "O'Brien"), ("D'Angelo", "D\u2019Angelo"), ("Back\\slash", "Back\\slash")],
    ids=["apostrophe", "curly-apostrophe", "backslash"],
)
def test_names_needing_escapes_are_found_by_a_query(target: Target, stored: str, searched: str):
    # Given a customer whose family name needs escaping in a query
    family = f"{stored}{target.run}"
    created = target.create(
        f"esc-{len(stored)}", GivenName="Esc", FamilyName=family, DisplayName=f"Esc {family}"
    )

    # When it is searched for
    found = target.client.query_customers(
        customer_equals(GivenName="Esc", FamilyName=f"{searched}{target.run}")
    )

    # Then exactly it comes back, with the name as stored
    assert [customer.Id for customer in found] == [created]
    assert found[0].FamilyName == family


def test_a_sparse_update_keeps_other_fields_and_an_old_synctoken_is_5010(target: Target):
    # Given a customer with notes
    customer_id = target.create("sparse", DisplayName=f"Contract Sparse {target.run}", Notes="keep")
    original = target.client.read_customer(customer_id)

    # When one field is updated sparsely
    updated = target.client.sparse_update(customer_id, original.SyncToken, {"CompanyName": "Sparse Co"})

    # Then the other fields survive and the SyncToken moves on
    assert (updated.CompanyName, updated.Notes) == ("Sparse Co", "keep")
    assert updated.SyncToken != original.SyncToken
    # and the old SyncToken is refused with 5010
    with pytest.raises(QboStaleObject) as raised:
        target.client.sparse_update(customer_id, original.SyncToken, {"CompanyName": "Too Late"})
    assert raised.value.code == "5010"


def test_a_query_with_no_match_has_no_customer_key(target: Target):
    response = target.client.query(f"SELECT * FROM Customer WHERE DisplayName = 'Nobody {target.run}'")

    assert "Customer" not in response
    assert target.client.query_customers(customer_equals(DisplayName=f"Nobody {target.run}")) == []
