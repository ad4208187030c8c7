"""The go-live dry run, with fakes: within one run, later customers see what earlier ones would have done,
the merchant's collision suffix is used, nothing is written, and the CSV cannot smuggle in a formula."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from customer_sync.domain.admin.dry_run import DryRun, dry_run_csv
from customer_sync.models.admin import DryRunRequest
from customer_sync.models.settings import SettingsChanges
from tests.fakes.merchant_clients import FakeMerchantClients, SettableClock
from tests.fakes.qbo import FakeQboCustomers
from tests.fakes.repositories import InMemoryLinksRepository, InMemorySettingsRepository

M = "1225"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
_NAME = re.compile(r"DisplayName = '((?:[^'\\]|\\.)*)'")


class QboWithVendors(FakeQboCustomers):
    """The fake QBO plus vendor and employee name queries (DisplayName is unique across all three)."""

    def __init__(self) -> None:
        super().__init__()
        self.others: dict[str, list[dict[str, Any]]] = {"Vendor": [], "Employee": []}

    def query(self, statement: str) -> dict[str, Any]:
        for entity, records in self.others.items():
            if statement.startswith(f"SELECT * FROM {entity} "):
                self._call("query")
                wanted = re.sub(r"\\(.)", r"\1", _NAME.search(statement).group(1)).casefold()  # type: ignore[union-attr]
                found = [record for record in records if record["DisplayName"].casefold() == wanted]
                return {entity: found} if found else {}
        return super().query(statement)


@pytest.fixture
def world():
    clients = FakeMerchantClients()
    paysimple, _ = clients.add_merchant(M)
    qbo = QboWithVendors()
    clients.qbo_by_merchant[M] = qbo
    settings = InMemorySettingsRepository()
    dry_run = DryRun(
        links=InMemoryLinksRepository(), settings=settings, clients=clients, clock=SettableClock(NOW)
    )
    return dry_run, paysimple, qbo, settings


def outcomes(report) -> dict[str, str]:
    return {result.paysimple_customer_id: result.outcome for result in report.results}


def test_two_customers_matching_one_qbo_customer_link_once(world):
    dry_run, paysimple, qbo, _ = world
    qbo.seed_customer(DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")
    paysimple.save(1, FirstName="Ann", LastName="Lee")
    paysimple.save(2, FirstName="ann", LastName="LEE")

    report = dry_run.run(M, DryRunRequest())

    assert outcomes(report) == {"1": "link_by_name", "2": "ambiguous"}
    assert report.results[1].detail == "already_linked: all name matches linked"


def test_an_email_two_customers_of_the_run_share_breaks_no_tie(world):
    dry_run, paysimple, qbo, _ = world
    for suffix in ("a", "b"):
        qbo.seed_customer(
            DisplayName=f"Bo Li {suffix}",
            GivenName="Bo",
            FamilyName="Li",
            PrimaryEmailAddr={"Address": f"{suffix}@example.com"},
        )
    paysimple.save(1, FirstName="Bo", LastName="Li", Email="a@example.com")
    paysimple.save(2, FirstName="Cy", LastName="Wu", Email="A@example.com")

    report = dry_run.run(M, DryRunRequest())

    assert outcomes(report)["1"] == "ambiguous"
    assert "email shared with other customer" in (report.results[0].detail or "")


def test_a_name_held_by_a_vendor_is_created_with_the_merchants_suffix(world):
    dry_run, paysimple, qbo, settings = world
    settings.update_settings(M, SettingsChanges(collision_suffix="{last}, {first} #{id}"), now=NOW)
    qbo.others["Vendor"].append({"Id": "1", "DisplayName": "Eve Park", "Active": False})
    paysimple.save(7, FirstName="Eve", LastName="Park")

    (result,) = dry_run.run(M, DryRunRequest()).results

    assert result.outcome == "display_name_collision"
    assert result.name_held_by is not None
    assert (result.name_held_by.entity, result.name_held_by.active) == ("Vendor", False)
    assert result.would_create_as == "Park, Eve #7"


def test_the_dry_run_only_reads(world):
    dry_run, paysimple, qbo, _ = world
    qbo.seed_customer(DisplayName="Fay Gray", GivenName="Fay", FamilyName="Gray", Active=False)
    paysimple.save(1, FirstName="Fay", LastName="Gray")
    paysimple.save(2, FirstName="Dan", LastName="Fox")

    dry_run.run(M, DryRunRequest())

    assert set(qbo.operations()) == {"query"}
    assert len(qbo.customers) == 1


def test_the_csv_has_a_row_per_customer_and_neutralises_formulas(world):
    dry_run, paysimple, _, _ = world
    paysimple.save(1, FirstName='=HYPERLINK("http://x")', LastName="+1", Email="@evil")

    text = dry_run_csv(dry_run.run(M, DryRunRequest()))

    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["first_name"].startswith("'=")
    assert row["last_name"] == "'+1"
    assert row["email"] == "'@evil"
    assert row["outcome"] == "create"
