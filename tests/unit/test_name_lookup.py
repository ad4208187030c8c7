"""One QBO name query for a batch's new customers, with the company's name variants
(domain/sync/name_lookup.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from customer_sync.domain.sync.name_lookup import CandidatePool, look_up_names, name_lookup_conditions
from customer_sync.models.paysimple import PaySimpleCustomer
from customer_sync.models.settings import NameVariants
from tests.fakes.qbo import FakeQboCustomers

BUILT = datetime(2026, 11, 25, tzinfo=UTC)
REALM = "9130350000000001"
NO_VARIANTS = NameVariants(realm_id=REALM, built_at=BUILT)


def customer(first: str, last: str, customer_id: int = 1) -> PaySimpleCustomer:
    return PaySimpleCustomer.model_validate({"Id": customer_id, "FirstName": first, "LastName": last})


def test_the_query_asks_for_every_first_and_last_name_of_the_batch_with_in():
    # Given three new customers, two sharing a last name, one with an apostrophe
    customers = [customer("Ann", "Lee"), customer("Bo", "Lee"), customer("Cy", "O'Neil")]
    # Then one condition pair covers all of them, each name once and escaped
    assert name_lookup_conditions(customers) == (
        "GivenName IN ('Ann', 'Bo', 'Cy') AND FamilyName IN ('Lee', 'O\\'Neil')"
    )


def test_each_customer_gets_only_the_active_customers_with_its_own_names():
    # Given what the query returned: the cross product of the batch's names, and an inactive namesake
    pool = CandidatePool(
        [
            {"Id": "1", "GivenName": "Ann", "FamilyName": "Lee"},
            {"Id": "2", "GivenName": "Bo", "FamilyName": "Lee"},
            {"Id": "3", "GivenName": "ann ", "FamilyName": "LEE"},
            {"Id": "4", "GivenName": "Ann", "FamilyName": "Lee", "Active": False},
        ]
    )
    # Then Ann Lee's candidates are the active Ann Lees, whatever their case and spacing, and not Bo
    assert [raw["Id"] for raw in pool.candidates_for(customer("Ann", "Lee"))] == ["1", "3"]
    assert pool.candidates_for(customer("Cy", "Ode")) == []


def test_a_customer_the_batch_creates_is_a_candidate_for_the_batchs_later_customers():
    # Given an empty pool, and a customer created by the batch
    pool = CandidatePool()
    pool.remember({"Id": "9", "GivenName": "Ann", "FamilyName": "Lee", "Active": True})
    # Then a later Ann Lee of the batch finds it, as her own query would have
    assert [raw["Id"] for raw in pool.candidates_for(customer("Ann", "Lee", 2))] == ["9"]


def test_the_lookup_is_one_query_for_the_whole_batch():
    # Given a QBO company holding one of three names
    qbo = FakeQboCustomers()
    qbo.seed_customer(GivenName="Bo", FamilyName="Lee", DisplayName="Bo Lee")
    # When the batch's names are looked up
    batch = [customer("Ann", "Lee"), customer("Bo", "Lee"), customer("Cy", "Ode")]
    pool = look_up_names(qbo, batch, NO_VARIANTS)
    # Then one query was made and Bo Lee is a candidate
    assert qbo.operations() == ["query"]
    assert [raw["DisplayName"] for raw in pool.candidates_for(customer("Bo", "Lee"))] == ["Bo Lee"]


def test_names_a_person_typed_differently_come_from_the_companys_variants_with_no_more_queries():
    # Given QBO holding a curly "Sean O\u2019Brien" (which no IN query finds) and a plain "Bo Lee", and the
    # company's variants holding the curly one as it was when kept
    qbo = FakeQboCustomers()
    curly = qbo.seed_customer(GivenName="Sean", FamilyName="O\u2019Brien", DisplayName="Sean O\u2019Brien")
    qbo.seed_customer(GivenName="Bo", FamilyName="Lee", DisplayName="Bo Lee")
    stranger = {"Id": "77", "GivenName": "Kim ", "FamilyName": "Fox"}  # another name: not the batch's
    variants = NameVariants(realm_id=REALM, customers=({**curly, "SyncToken": "0"}, stranger), built_at=BUILT)
    # When a batch with Sean O'Brien and Bo Lee is looked up
    batch = [customer("Sean", "O'Brien"), customer("Bo", "Lee", 2)]
    pool = look_up_names(qbo, batch, variants)
    # Then one query, and each finds its own: Sean the kept variant, Bo the query's answer
    assert qbo.operations() == ["query"]
    assert [raw["Id"] for raw in pool.candidates_for(batch[0])] == [curly["Id"]]
    assert [raw["DisplayName"] for raw in pool.candidates_for(batch[1])] == ["Bo Lee"]
    assert pool.candidates_for(customer("Kim", "Fox")) == []  # only the batch's names are taken


def test_what_qbo_returns_replaces_what_was_kept_of_the_same_customer():
    qbo = FakeQboCustomers()
    typed = qbo.seed_customer(GivenName="Ann", FamilyName="Lee", DisplayName="Ann Lee")  # fixed since
    kept = {**typed, "FamilyName": "Lee ", "SyncToken": "old"}
    pool = look_up_names(
        qbo, [customer("Ann", "Lee")], NameVariants(realm_id=REALM, customers=(kept,), built_at=BUILT)
    )
    [candidate] = pool.candidates_for(customer("Ann", "Lee"))
    assert candidate["SyncToken"] == typed["SyncToken"]
