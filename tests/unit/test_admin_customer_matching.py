"""Link, unlink and merge rules of the Customer Matching tab, with in-memory repositories and fake clients.
A refusal is raised before anything is written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from customer_sync.domain.admin.customer_matching import CustomerMatching
from customer_sync.errors import Conflict, CustomerNotFound, InvalidRequest, QboCustomerAlreadyLinked
from customer_sync.models.admin import LinkRequest, MergeRequest
from customer_sync.models.links import CustomerLink
from tests.fakes.merchant_clients import FakeMerchantClients, SettableClock
from tests.fakes.repositories import InMemoryHistoryRepository, InMemoryLinksRepository

M = "1225"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def world():
    links, history, clients = InMemoryLinksRepository(), InMemoryHistoryRepository(), FakeMerchantClients()
    paysimple, qbo = clients.add_merchant(M)
    matching = CustomerMatching(
        links=links,
        history=history,
        clients=clients,
        clock=SettableClock(NOW),
        new_operation_id=lambda: "op1",
    )
    return matching, links, history, paysimple, qbo


def record(links, paysimple_id, status="unlinked", qbo_id=None):
    link = CustomerLink(
        merchant_id=M,
        paysimple_customer_id=paysimple_id,
        status=status,
        qbo_customer_id=qbo_id,
        first_name="Ann",
        last_name="Lee",
        updated_at=NOW,
    )
    if status == "linked":
        return links.save_linked(link, expected_version=0)
    return links.save_unlinked(link, expected_version=0)


def merged(links, duplicate_id, primary_id):
    """`duplicate_id` merged into a linked `primary_id`, as a merge leaves them."""
    record(links, primary_id, status="linked", qbo_id="99")
    record(links, duplicate_id)
    links.merge(M, primary_id, [duplicate_id], "99", now=NOW)


def test_linking_claims_the_qbo_customer_and_records_a_manual_link(world):
    matching, links, history, _, qbo = world
    qbo_id = qbo.seed_customer(DisplayName="Ann Lee")["Id"]
    record(links, "1")

    view = matching.link(M, LinkRequest(paysimple_customer_id="1", qbo_customer_id=qbo_id))

    assert (view.status, view.qbo_customer_id, view.reason) == ("linked", qbo_id, "manual")
    assert links.qbo_link_owner(M, qbo_id) == "1"
    assert [(entry.action, entry.event_id) for entry in history.entries(M, "1")] == [
        ("manual_link", "admin-op1")
    ]
    assert qbo.operations() == ["read"]


def test_linking_again_to_the_same_qbo_customer_changes_nothing(world):
    matching, links, history, _, qbo = world
    qbo_id = qbo.seed_customer(DisplayName="Ann Lee")["Id"]
    record(links, "1", status="linked", qbo_id=qbo_id)

    matching.link(M, LinkRequest(paysimple_customer_id="1", qbo_customer_id=qbo_id))

    assert history.entries(M, "1") == []
    assert qbo.operations() == []


def test_a_qbo_customer_linked_to_another_customer_is_refused_before_anything_is_read(world):
    matching, links, _, _, qbo = world
    qbo_id = qbo.seed_customer(DisplayName="Ann Lee")["Id"]
    record(links, "1", status="linked", qbo_id=qbo_id)
    record(links, "2")

    with pytest.raises(Conflict, match="already linked to PaySimple customer 1"):
        matching.link(M, LinkRequest(paysimple_customer_id="2", qbo_customer_id=qbo_id))
    assert links.get(M, "2").status == "unlinked"
    assert qbo.operations() == []


def test_a_claim_taken_between_the_check_and_the_write_is_still_refused(world):
    # The repository enforces the claim in the same transaction as the write.
    matching, links, _, _, qbo = world
    qbo_id = qbo.seed_customer(DisplayName="Ann Lee")["Id"]
    record(links, "2")
    links.fail_next_write(QboCustomerAlreadyLinked(qbo_id, "1"))

    with pytest.raises(QboCustomerAlreadyLinked):
        matching.link(M, LinkRequest(paysimple_customer_id="2", qbo_customer_id=qbo_id))
    assert links.get(M, "2").status == "unlinked"


@pytest.mark.parametrize("status", ["merged", "source_deleted"])
def test_merged_and_deleted_customers_cannot_be_linked(world, status):
    matching, links, _, _, qbo = world
    qbo_id = qbo.seed_customer(DisplayName="Ann Lee")["Id"]
    if status == "merged":
        merged(links, "1", "9")
    else:
        record(links, "1", status="linked", qbo_id="77")
        links.mark_source_deleted(M, "1", expected_version=1, event_at=NOW, now=NOW)

    with pytest.raises(Conflict):
        matching.link(M, LinkRequest(paysimple_customer_id="1", qbo_customer_id=qbo_id))


def test_a_qbo_customer_that_does_not_exist_is_refused_naming_the_field(world):
    matching, links, _, _, _ = world
    record(links, "1")

    with pytest.raises(InvalidRequest) as refused:
        matching.link(M, LinkRequest(paysimple_customer_id="1", qbo_customer_id="404"))
    assert refused.value.field == "body.qbo_customer_id"
    assert links.get(M, "1").status == "unlinked"


def test_a_customer_neither_we_nor_paysimple_know_is_not_found(world):
    matching, _, _, _, qbo = world
    qbo_id = qbo.seed_customer(DisplayName="Ann Lee")["Id"]

    with pytest.raises(CustomerNotFound):
        matching.link(M, LinkRequest(paysimple_customer_id="5", qbo_customer_id=qbo_id))


def test_a_customer_we_do_not_know_yet_is_linked_with_its_scrubbed_paysimple_names(world):
    matching, links, _, paysimple, qbo = world
    qbo_id = qbo.seed_customer(DisplayName="Ann Lee")["Id"]
    paysimple.save(5, FirstName="  Ann ", LastName="Lee 4111 1111 1111 1111", Email="ann@example.com")

    view = matching.link(M, LinkRequest(paysimple_customer_id="5", qbo_customer_id=qbo_id))

    assert view.first_name == "Ann"
    assert "4111" not in view.last_name
    assert links.get(M, "5").email == "ann@example.com"


def test_unlinking_releases_the_claim_and_records_it(world):
    matching, links, history, _, _ = world
    record(links, "1", status="linked", qbo_id="7")

    view = matching.unlink(M, "1")

    assert (view.status, view.reason, view.qbo_customer_id) == ("unlinked", "unlinked_by_admin", None)
    assert links.qbo_link_owner(M, "7") is None
    assert [(entry.action, entry.qbo_customer_id) for entry in history.entries(M, "1")] == [
        ("manual_unlink", "7")
    ]


def test_unlinking_an_unlinked_customer_changes_nothing_and_a_merged_one_is_refused(world):
    matching, links, history, _, _ = world
    record(links, "1")
    merged(links, "2", "3")

    assert matching.unlink(M, "1").status == "unlinked"
    assert history.entries(M, "1") == []
    with pytest.raises(Conflict):
        matching.unlink(M, "2")


def test_a_merge_needs_a_qbo_customer_for_an_unlinked_primary(world):
    matching, links, _, _, _ = world
    record(links, "1")
    record(links, "2")

    with pytest.raises(InvalidRequest) as refused:
        matching.merge(
            M, MergeRequest(primary_paysimple_customer_id="1", duplicate_paysimple_customer_ids=["2"])
        )
    assert refused.value.field == "body.qbo_customer_id"
    assert links.get(M, "2").status == "unlinked"


def test_a_merge_folds_duplicates_into_the_linked_primary(world):
    matching, links, history, _, qbo = world
    record(links, "1", status="linked", qbo_id="7")
    record(links, "2")
    record(links, "3")

    result = matching.merge(
        M, MergeRequest(primary_paysimple_customer_id="1", duplicate_paysimple_customer_ids=["2", "3", "2"])
    )

    assert result.merged_paysimple_customer_ids == ["2", "3"]
    assert [(links.get(M, d).status, links.get(M, d).merged_into) for d in ("2", "3")] == [
        ("merged", "1"),
        ("merged", "1"),
    ]
    assert result.primary.qbo_customer_id == "7"
    assert qbo.operations() == []
    assert [entry.action for entry in history.entries(M, "3")] == ["merged"]


def test_a_merge_with_a_linked_duplicate_is_refused(world):
    matching, links, _, _, _ = world
    record(links, "1", status="linked", qbo_id="7")
    record(links, "2", status="linked", qbo_id="8")

    with pytest.raises(Conflict):
        matching.merge(
            M, MergeRequest(primary_paysimple_customer_id="1", duplicate_paysimple_customer_ids=["2"])
        )
    assert links.get(M, "2").status == "linked"
