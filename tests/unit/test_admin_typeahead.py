"""The QBO type-ahead: by any word of a name or company, one /batch of escaped LIKE queries per new text,
answered from a short cache while the admin keeps typing, with linked customers flagged from our own
tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from customer_sync.domain.admin.qbo_typeahead import QboTypeahead, typeahead_statements
from customer_sync.errors import InvalidRequest, QboConnectionBroken
from customer_sync.models.links import CustomerLink
from customer_sync.models.qbo import BatchItem, BatchItemResult
from tests.fakes.merchant_clients import SettableClock
from tests.fakes.repositories import InMemoryLinksRepository

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class RecordingQbo:
    """Answers `<field> LIKE '%text%'` queries as QBO would (case-insensitively, ordered by DisplayName),
    and records every /batch request."""

    def __init__(self, names: list[str], companies: dict[str, str] | None = None) -> None:
        self.customers: list[dict[str, Any]] = [
            {"Id": str(number), "SyncToken": "0", "DisplayName": name, "Active": not name.startswith("Old")}
            for number, name in enumerate(names, start=1)
        ]
        for customer in self.customers:
            if (companies or {}).get(customer["DisplayName"]):
                customer["CompanyName"] = (companies or {})[customer["DisplayName"]]
        self.batches: list[list[str]] = []

    def add(self, **fields: Any) -> None:
        self.customers.append(
            {"Id": str(len(self.customers) + 1), "SyncToken": "0", "Active": True, **fields}
        )

    def batch(self, items: list[BatchItem]) -> list[BatchItemResult]:
        statements = [item.query_statement or "" for item in items]
        self.batches.append(statements)
        return [
            BatchItemResult(bId=item.bId, query_response=self._query(item.query_statement or ""))
            for item in items
        ]

    def _query(self, statement: str) -> dict[str, Any]:
        field = statement.split("WHERE ", 1)[1].split(" LIKE", 1)[0]
        text = statement.split("LIKE '%", 1)[1].split("%'", 1)[0].replace("\\'", "'").casefold()
        limit = int(statement.rsplit("MAXRESULTS ", 1)[1])
        found = sorted(
            (c for c in self.customers if text in str(c.get(field, "")).casefold()),
            key=lambda c: c["DisplayName"],
        )[:limit]
        return {"Customer": found} if found else {}


class Clients:
    def __init__(self, qbo: RecordingQbo | None) -> None:
        self._qbo = qbo

    def paysimple(self, merchant_id: str) -> Any:
        raise AssertionError("the type-ahead never calls PaySimple")

    def qbo(self, merchant_id: str, *, connected_realm_id: str | None = None) -> Any:  # only `query` is used
        if self._qbo is None:
            raise QboConnectionBroken("not connected", code="not_connected")
        return self._qbo


NAMES = ["Ann Lee", "Anna Bell", "Andrew Cole", "Amy Ng", "Old Annie", "Bob Ray"]


@pytest.fixture
def setup():
    qbo = RecordingQbo(NAMES)
    clock = SettableClock(NOW)
    links = InMemoryLinksRepository()
    typeahead = QboTypeahead(clients=Clients(qbo), links=links, clock=clock, max_results=3, cache_seconds=30)
    return typeahead, qbo, clock, links


def names(response) -> list[str]:
    return [hit.display_name for hit in response.items]


def test_the_statements_search_names_and_companies_by_a_safe_fragment_inactive_included():
    # Given text with quotes and a backslash, When the statements are built
    display, company = typeahead_statements("O\u2019Neil\\x", 20)
    # Then the longest run of letters is looked for anywhere in the DisplayName, then the CompanyName
    assert display.startswith(
        "SELECT * FROM Customer WHERE DisplayName LIKE '%Neil%' AND Active IN (true, false)"
    )
    assert company.startswith(
        "SELECT * FROM Customer WHERE CompanyName LIKE '%Neil%' AND Active IN (true, false)"
    )
    assert display.endswith("MAXRESULTS 21")
    assert typeahead_statements("'-.", 20) == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("smi", ["Smith Plumbing", "John Smith"]),  # a company's first word (it starts the name), a surname
        ("plumb", ["Ann Ray", "Smith Plumbing"]),  # a company's word finds a person whose company it is
        ("ann", ["Ann Ray", "Mary Ann Lee"]),  # a first word, and a middle one
        ("mary l", ["Mary Ann Lee"]),  # every word typed must start one of the name's words
        ("mith", []),  # the middle of a word is not a word
    ],
)
def test_any_word_of_a_name_or_company_finds_the_customer(text, found):
    # Given QBO customers with names and companies
    qbo = RecordingQbo(
        ["John Smith", "Smith Plumbing", "Mary Ann Lee", "Ann Ray"], {"Ann Ray": "Ray Plumbing"}
    )
    typeahead = QboTypeahead(
        clients=Clients(qbo), links=InMemoryLinksRepository(), clock=SettableClock(NOW), max_results=5
    )
    # When the admin types
    # Then customers with a word starting with each typed word; names starting with the text first
    assert names(typeahead.search("1225", text)) == found
    # And QBO was asked once, in one /batch of two queries
    assert [len(statements) for statements in qbo.batches] == [2]


def test_jobs_and_projects_are_never_offered():
    qbo = RecordingQbo(["John Smith"])
    qbo.add(DisplayName="Smith kitchen", Job=True, ParentRef={"value": "1"})
    qbo.add(DisplayName="Smith garage", Job=True, IsProject=True, ParentRef={"value": "1"})
    typeahead = QboTypeahead(clients=Clients(qbo), links=InMemoryLinksRepository(), clock=SettableClock(NOW))

    assert names(typeahead.search("1225", "smith")) == ["John Smith"]


def test_longer_text_is_answered_from_a_shorter_complete_answer(setup):
    typeahead, qbo, _, _ = setup

    answers = [typeahead.search("1225", text) for text in ("Ann", "Anna", "Ann L")]

    assert len(qbo.batches) == 1
    assert [names(answer) for answer in answers] == [
        ["Ann Lee", "Anna Bell", "Old Annie"],
        ["Anna Bell"],
        ["Ann Lee"],
    ]


def test_text_typed_in_another_case_asks_qbo_again(setup):
    # Whether QBO's LIKE is case-sensitive is unconfirmed: an answer for "ann" may not hold every "Ann".
    typeahead, qbo, _, _ = setup

    typeahead.search("1225", "ann")
    typeahead.search("1225", "ANN")

    assert len(qbo.batches) == 2


def test_a_truncated_answer_is_not_narrowed_locally(setup):
    # Given "a" matches more customers than one answer holds (3)
    typeahead, qbo, _, _ = setup
    first = typeahead.search("1225", "a")

    # When the admin types on
    typeahead.search("1225", "an")

    # Then QBO is asked again: the first answer could have left out a match
    assert first.more is True
    assert len(qbo.batches) == 2


def test_the_cache_expires(setup):
    typeahead, qbo, clock, _ = setup
    typeahead.search("1225", "bob")
    clock.advance(seconds=31)

    typeahead.search("1225", "bob")

    assert len(qbo.batches) == 2


def test_merchants_do_not_share_answers(setup):
    typeahead, qbo, _, _ = setup

    typeahead.search("1225", "bob")
    typeahead.search("1226", "bob")

    assert len(qbo.batches) == 2


def test_forgetting_a_merchant_drops_its_answers(setup):
    typeahead, qbo, _, _ = setup
    typeahead.search("1225", "bob")

    typeahead.forget("1225")
    typeahead.search("1225", "bob")

    assert len(qbo.batches) == 2


def test_linked_customers_are_flagged_from_our_tables_on_every_search(setup):
    # Given a cached answer, and then a link made by someone
    typeahead, _, _, links = setup
    typeahead.search("1225", "ann")
    links.save_linked(
        CustomerLink(
            merchant_id="1225",
            paysimple_customer_id="77",
            status="linked",
            qbo_customer_id="1",
            updated_at=NOW,
        ),
        expected_version=0,
    )

    # When the same text is searched again
    hits = {hit.display_name: hit for hit in typeahead.search("1225", "ann").items}

    # Then the new link shows, and inactive customers are flagged
    assert hits["Ann Lee"].linked_paysimple_customer_id == "77"
    assert hits["Anna Bell"].linked_paysimple_customer_id is None


def test_inactive_customers_are_flagged(setup):
    typeahead, *_ = setup

    (hit,) = typeahead.search("1225", "old").items
    assert hit.display_name == "Old Annie"

    assert hit.active is False


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_blank_text_is_refused(setup, text):
    typeahead, *_ = setup

    with pytest.raises(InvalidRequest):
        typeahead.search("1225", text)


def test_a_merchant_without_qbo_cannot_search():
    typeahead = QboTypeahead(clients=Clients(None), links=InMemoryLinksRepository(), clock=SettableClock(NOW))

    with pytest.raises(QboConnectionBroken):
        typeahead.search("1225", "ann")
