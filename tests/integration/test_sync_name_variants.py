"""Matching what is really in QBO, end to end (real handler, moto, the emulators over HTTP): names typed by
people, and jobs and projects QBO returns from customer queries. One row per case, with the QBO calls the
sync made, read from the emulator's call log.

The company's name variants are built first, as its first daily sweep does (QboCdcFunction's handler): then
the sync's lookup is its one `IN` query per batch (domain/sync/name_lookup.py), and a name typed with a
curly quote or stray spaces comes from the variants, at no extra call. A company no sweep has seen yet
has them built by its first name lookup (one listing).

PaySimple is the source of record: a customer found under a variant of its name is linked, and its first
write puts the names as PaySimple has them. A job or project is never a candidate: a customer whose only
namesake is one is created, as if there were no namesake, and the job is never written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.sync_stack import SyncStack

SEAN = {"FirstName": "Sean", "LastName": "O'Brien"}


@pytest.fixture
def sync_stack(just_connected_sync_stack: SyncStack) -> SyncStack:
    """Here every company is just connected: the customers people typed into QBO are there before anything
    has looked their names up (the name variants are built by the sweep or the first lookup, per test)."""
    return just_connected_sync_stack


NO_FAILURES: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}


def build_name_variants(stack: SyncStack) -> int:
    """The company's first daily sweep, which builds its name variants; how many."""
    return int(stack.sweep_qbo()["name_variants"])


def name_queries(stack: SyncStack) -> list[str]:
    return [str(call["query"].get("query", "")) for call in stack.qbo_calls() if call["operation"] == "query"]


@dataclass(frozen=True)
class VariantCase:
    what: str
    in_qbo: dict[str, Any]  # the customer a person typed into QBO
    outcome: str  # "linked" (to it) or "created" (a customer of its own)
    qbo_calls: list[str]
    job_of_parent: bool = False  # a job or project of another customer
    project: bool = False
    created_as: str | None = None


CASES = [
    VariantCase(
        "curly quote in QBO",
        {"DisplayName": "Sean O\u2019Brien", "GivenName": "Sean", "FamilyName": "O\u2019Brien"},
        "linked",
        ["query", "update"],  # found, then its name written as PaySimple has it
    ),
    VariantCase(
        "straight quote in QBO",
        {"DisplayName": "Sean O'Brien", "GivenName": "Sean", "FamilyName": "O'Brien"},
        "linked",
        ["query"],  # found, and QBO already holds what PaySimple has
    ),
    VariantCase(
        "double and trailing spaces in QBO",
        {"DisplayName": "Sean  O'Brien ", "GivenName": "Sean ", "FamilyName": "O'Brien  "},
        "linked",
        ["query", "update"],
    ),
    VariantCase(
        "case typed differently in QBO",
        {"DisplayName": "SEAN O'BRIEN", "GivenName": "SEAN", "FamilyName": "o'brien"},
        "linked",
        ["query", "update"],
    ),
    VariantCase(
        "a job namesake (holding the DisplayName too)",
        {"DisplayName": "Sean O'Brien", "GivenName": "Sean", "FamilyName": "O'Brien"},
        "created",
        # the create meets the job's DisplayName (6240), which holds nobody back: one suffixed retry
        ["query", "create", "query", "create"],
        job_of_parent=True,
        created_as="Sean O'Brien (PS-{id})",
    ),
    VariantCase(
        "a project namesake",
        {"DisplayName": "O'Brien patio", "GivenName": "Sean", "FamilyName": "O'Brien"},
        "created",
        ["query", "create"],  # exactly what a customer with no namesake costs
        job_of_parent=True,
        project=True,
        created_as="Sean O'Brien",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.what for case in CASES])
def test_a_name_as_typed_in_qbo_is_matched_and_jobs_never_are(sync_stack: SyncStack, case: VariantCase):
    # Given the QBO customer a person typed (as a job or project of another customer, for those rows)
    if case.job_of_parent:
        parent = sync_stack.seed_qbo_customer(DisplayName="Acme Builders")
        typed = sync_stack.qbo.seed_job(
            sync_stack.realm_id, parent["Id"], project=case.project, **case.in_qbo
        )
    else:
        typed = sync_stack.seed_qbo_customer(**case.in_qbo)
    # And the company's name variants built by its first sweep (a variant, or none)
    build_name_variants(sync_stack)
    sync_stack.clear_qbo_calls()
    # When PaySimple's "Sean O'Brien" is saved
    customer_id = sync_stack.save_customer(**SEAN)
    assert sync_stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    # Then the outcome and the QBO calls are the row's
    link = sync_stack.link(customer_id)
    assert link.status == "linked"
    assert sync_stack.qbo_operations() == case.qbo_calls
    assert sync_stack.history(customer_id)[0].qbo_calls == len(case.qbo_calls)
    # And the name lookup was the batch's one exact query: the variant came from our own table
    assert name_queries(sync_stack)[0].startswith("SELECT * FROM Customer WHERE GivenName IN ('Sean')")
    if case.outcome == "linked":
        assert (link.reason, link.qbo_customer_id) == ("name", typed["Id"])
        linked = sync_stack.qbo_customer(typed["Id"])
        assert (linked["GivenName"], linked["FamilyName"]) == ("Sean", "O'Brien")
    else:
        assert link.reason == "created" and link.qbo_customer_id != typed["Id"]
        created = sync_stack.qbo_customer(str(link.qbo_customer_id))
        assert created["DisplayName"] == str(case.created_as).format(id=customer_id)
        assert created["Job"] is False
        # And the job or project was never written
        assert sync_stack.qbo_customer(typed["Id"])["SyncToken"] == typed["SyncToken"]


def test_a_batch_of_new_customers_typed_every_way_in_qbo_costs_one_name_query(sync_stack: SyncStack) -> None:
    # Given QBO customers people typed: a curly quote, stray spaces, capitals; and a job namesake
    stack = sync_stack
    curly = stack.seed_qbo_customer(
        DisplayName="Sean O\u2019Brien", GivenName="Sean", FamilyName="O\u2019Brien"
    )
    spaced = stack.seed_qbo_customer(DisplayName="Mary  Ann Lee", GivenName="Mary  Ann ", FamilyName="Lee")
    capitals = stack.seed_qbo_customer(DisplayName="KIM FOX", GivenName="KIM", FamilyName="FOX")
    parent = stack.seed_qbo_customer(DisplayName="Acme Builders")
    stack.qbo.seed_job(
        stack.realm_id, parent["Id"], DisplayName="Bo Ray job", GivenName="Bo", FamilyName="Ray"
    )
    assert build_name_variants(stack) == 2
    stack.clear_qbo_calls()
    # When one SQS batch brings the four PaySimple customers
    people = [("Sean", "O'Brien"), ("Mary Ann", "Lee"), ("Kim", "Fox"), ("Bo", "Ray")]
    ids = [stack.save_customer(FirstName=first, LastName=last) for first, last in people]
    response = stack.deliver(
        *(stack.message(customer_id, event_type="customer_created") for customer_id in ids)
    )
    assert response == NO_FAILURES
    # Then one name query served the batch: three linked (their names written as PaySimple has them), Bo
    # created (his only namesake is a job)
    assert stack.qbo_operations().count("query") == 1
    assert sorted(stack.qbo_operations()) == ["create", "query", "update", "update", "update"]
    linked = [stack.link(customer_id).qbo_customer_id for customer_id in ids[:3]]
    assert linked == [curly["Id"], spaced["Id"], capitals["Id"]]
    assert stack.link(ids[3]).reason == "created"


def test_a_company_just_connected_has_its_variants_built_by_its_first_lookup(
    just_connected_sync_stack: SyncStack,
) -> None:
    sync_stack = just_connected_sync_stack
    # Given a curly "Sean O\u2019Brien" in QBO, and no sweep yet (the company was just connected)
    curly = sync_stack.seed_qbo_customer(
        DisplayName="Sean O\u2019Brien", GivenName="Sean", FamilyName="O\u2019Brien"
    )
    sync_stack.clear_qbo_calls()
    # When PaySimple's Sean O'Brien is saved
    customer_id = sync_stack.save_customer(**SEAN)
    assert sync_stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    # Then one listing of the company's active customers built its name variants, and the batch's one
    # exact query and the variants found him: never a second customer
    queries = name_queries(sync_stack)
    assert queries[0] == "SELECT * FROM Customer STARTPOSITION 1 MAXRESULTS 1000"
    assert queries[1].startswith("SELECT * FROM Customer WHERE GivenName IN ('Sean')")
    assert len(queries) == 2
    assert sync_stack.link(customer_id).qbo_customer_id == curly["Id"]
    # And the next new customer's lookup is the one query alone: the variants come with the settings
    sync_stack.clear_qbo_calls()
    other = sync_stack.save_customer(FirstName="Ann", LastName="Lee")
    assert sync_stack.sync(other, event_type="customer_created") == NO_FAILURES
    assert sync_stack.qbo_operations() == ["query", "create"]
