"""Matching rules, read as a table: which QBO customer a PaySimple customer links to, and when it waits."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from customer_sync.domain.matching import (
    DEFAULT_COLLISION_TEMPLATE,
    Ambiguous,
    AmbiguousDetail,
    CreateNew,
    LinkTo,
    MatchDecision,
    QboCandidate,
    collision_display_name,
    collision_template_problems,
    decide_match,
    display_name_for,
)
from customer_sync.domain.names import name_key, normalize_name, qbo_safe_name
from customer_sync.domain.qbo_query import (
    build_customer_query,
    build_display_name_query,
    escape_query_value,
    name_fragment,
)
from customer_sync.models.paysimple import PaySimpleCustomer


def qbo(
    id: str,
    given: str | None,
    family: str | None,
    email: str | None = None,
    *,
    active: bool = True,
    job: bool = False,
) -> QboCandidate:
    return QboCandidate(
        id=id,
        display_name=f"{given} {family}",
        given_name=given,
        family_name=family,
        email=email,
        active=active,
        sync_token="0",
        is_job=job,
    )


@dataclass(frozen=True)
class MatchCase:
    what: str
    first: str
    last: str
    email: str | None
    candidates: list[QboCandidate]
    expected: MatchDecision
    linked: frozenset[str] = field(default_factory=frozenset)
    email_shared: bool = False


def by_name(qbo_id: str) -> LinkTo:
    return LinkTo(qbo_id, "name")


def by_email(qbo_id: str) -> LinkTo:
    return LinkTo(qbo_id, "name+email")


def unclear(detail: AmbiguousDetail, *ids: str) -> Ambiguous:
    return Ambiguous(ids, "ambiguous", detail)


def taken(*ids: str) -> Ambiguous:
    return Ambiguous(ids, "already_linked", "all_name_matches_linked")


CREATE = CreateNew()
ANN = [qbo("1", "Ann", "Lee")]
SEAN = [qbo("1", "Sean", "O'Brien")]
MARY_ANN = [qbo("1", "Mary Ann", "Lee")]
SEAN_CURLY = [qbo("1", "Sean", "O\u2018Brien")]
ANN_INACTIVE = [qbo("1", "Ann", "Lee", active=False)]

MATCH_CASES = [
    # --- one name match: link by name, however the name is written ---
    MatchCase("exact name, one candidate", "Ann", "Lee", None, ANN, by_name("1")),
    MatchCase("case differs", "ann", "LEE", None, ANN, by_name("1")),
    MatchCase("extra whitespace", "  Ann ", " Lee  ", None, ANN, by_name("1")),
    MatchCase("inner whitespace collapsed", "Mary  Ann", "Lee", None, MARY_ANN, by_name("1")),
    MatchCase("tab in PaySimple name", "Mary\tAnn", "Lee", None, MARY_ANN, by_name("1")),
    MatchCase("colon in PaySimple name", "Mary:Ann", "Lee", None, MARY_ANN, by_name("1")),
    MatchCase("O'Brien, straight both sides", "Sean", "O'Brien", None, SEAN, by_name("1")),
    MatchCase("curly apostrophe in PaySimple", "Sean", "O\u2019Brien", None, SEAN, by_name("1")),
    MatchCase("curly apostrophe in QBO", "Sean", "O'Brien", None, SEAN_CURLY, by_name("1")),
    MatchCase("double space in QBO", "Mary Ann", "Lee", None, [qbo("1", "Mary  Ann", "Lee")], by_name("1")),
    MatchCase("trailing spaces in QBO", "Ann", "Lee", None, [qbo("1", "Ann ", "Lee  ")], by_name("1")),
    MatchCase("case typed differently in QBO", "Ann", "Lee", None, [qbo("1", "ANN", "lee")], by_name("1")),
    MatchCase(
        "the query's near-namesakes are re-checked", "Ann", "Lee", None,
        [qbo("1", "Joann", "Leeds"), qbo("2", "Ann", "Lee")], by_name("2"),
    ),
    MatchCase("query returned the same customer twice (paging)", "Ann", "Lee", None, ANN + ANN, by_name("1")),
    MatchCase(
        "inactive twin is ignored", "Ann", "Lee", "ann@x.com",
        [qbo("1", "Ann", "Lee", active=False), qbo("2", "Ann", "Lee")], by_name("2"),
    ),
    # --- no name match: create ---
    MatchCase("no candidates", "Ann", "Lee", None, [], CREATE),
    MatchCase("only an inactive candidate", "Ann", "Lee", None, ANN_INACTIVE, CREATE),
    MatchCase("query result re-checked: other name", "Ann", "Lee", None, [qbo("1", "Anne", "Lee")], CREATE),
    MatchCase("first and last swapped", "Ann", "Lee", None, [qbo("1", "Lee", "Ann")], CREATE),
    MatchCase("candidate without GivenName", "Ann", "Lee", None, [qbo("1", None, "Lee")], CREATE),
    # --- jobs, sub-customers and projects are never candidates: the same outcome as no match ---
    MatchCase("only a job shares the name", "Ann", "Lee", None, [qbo("1", "Ann", "Lee", job=True)], CREATE),
    MatchCase(
        "a job and the person share the name", "Ann", "Lee", None,
        [qbo("1", "Ann", "Lee", job=True), qbo("2", "Ann", "Lee")], by_name("2"),
    ),
    MatchCase(
        "a job with the email never wins the tie-break", "Ann", "Lee", "ann@a.com",
        [qbo("1", "Ann", "Lee", "ann@a.com", job=True), qbo("2", "Ann", "Lee", "x@a.com")], by_name("2"),
    ),
    # --- several name matches: the email decides ---
    MatchCase(
        "same name, different emails, one matches", "Ann", "Lee", "ann@b.com",
        [qbo("1", "Ann", "Lee", "ann@a.com"), qbo("2", "Ann", "Lee", "ann@b.com")], by_email("2"),
    ),
    MatchCase(
        "email compared case-insensitively", "Ann", "Lee", " Ann@B.com",
        [qbo("1", "Ann", "Lee", "ann@a.com"), qbo("2", "Ann", "Lee", "ANN@b.COM")], by_email("2"),
    ),
    MatchCase(
        "same name, no email matches", "Ann", "Lee", "ann@c.com",
        [qbo("1", "Ann", "Lee", "ann@a.com"), qbo("2", "Ann", "Lee", "ann@b.com")],
        unclear("no_email_match", "1", "2"),
    ),
    MatchCase(
        "same name, both have the email", "Ann", "Lee", "ann@a.com",
        [qbo("1", "Ann", "Lee", "ann@a.com"), qbo("2", "Ann", "Lee", "ann@a.com")],
        unclear("several_email_matches", "1", "2"),
    ),
    MatchCase(
        "shared email: another PaySimple customer we know has it", "Ann", "Lee", "family@a.com",
        [qbo("1", "Ann", "Lee", "family@a.com"), qbo("2", "Ann", "Lee", "other@a.com")],
        unclear("email_shared_with_other_customer", "1", "2"), email_shared=True,
    ),
    MatchCase(
        "same name, PaySimple customer has no email", "Ann", "Lee", None,
        [qbo("1", "Ann", "Lee", "ann@a.com"), qbo("2", "Ann", "Lee", None)],
        unclear("no_email", "1", "2"),
    ),
    MatchCase(
        "candidate ids listed in numeric order", "Ann", "Lee", None,
        [qbo("10", "Ann", "Lee"), qbo("9", "Ann", "Lee")], unclear("no_email", "9", "10"),
    ),
    # --- already linked QBO customers are never linked a second time ---
    MatchCase(
        "the only candidate is linked to another PaySimple customer", "Ann", "Lee", None,
        ANN, taken("1"), linked=frozenset({"1"}),
    ),
    MatchCase(
        "every candidate is linked", "Ann", "Lee", "ann@a.com",
        [qbo("1", "Ann", "Lee", "ann@a.com"), qbo("2", "Ann", "Lee")], taken("1", "2"),
        linked=frozenset({"1", "2"}),
    ),
    MatchCase(
        "linked twin excluded, the other has the email", "Ann", "Lee", "ann@b.com",
        [qbo("1", "Ann", "Lee", "ann@b.com"), qbo("2", "Ann", "Lee", "ann@b.com")], by_email("2"),
        linked=frozenset({"1"}),
    ),
    MatchCase(
        "linked twin excluded, the other lacks the email: still a namesake, so ambiguous",
        "Ann", "Lee", "ann@b.com",
        [qbo("1", "Ann", "Lee", "ann@b.com"), qbo("2", "Ann", "Lee", "x@y.com")],
        unclear("no_email_match", "2"), linked=frozenset({"1"}),
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", MATCH_CASES, ids=[c.what for c in MATCH_CASES])
def test_match_decision(case: MatchCase) -> None:
    # Given a PaySimple customer, what the QBO name query returned and what our tables know
    customer = PaySimpleCustomer(Id=42, FirstName=case.first, LastName=case.last, Email=case.email)
    # When the match is decided
    decision = decide_match(
        customer,
        case.candidates,
        linked_qbo_ids=case.linked,
        email_shared_with_other_customer=case.email_shared,
    )
    # Then it is the outcome the table states
    assert decision == case.expected


def test_email_sharing_lookup_runs_only_when_it_decides_and_gets_the_folded_email() -> None:
    # Given a lookup recording its calls
    asked: list[str] = []

    def shared(email: str) -> bool:
        asked.append(email)
        return False

    customer = PaySimpleCustomer(Id=1, FirstName="Ann", LastName="Lee", Email="Ann@B.com")
    # When a single name match decides alone
    decide_match(
        customer, [qbo("1", "Ann", "Lee")], linked_qbo_ids=(), email_shared_with_other_customer=shared
    )
    # Then the lookup is not called
    assert asked == []
    # When two name matches need the email
    decision = decide_match(
        customer,
        [qbo("1", "Ann", "Lee", "a@b.com"), qbo("2", "Ann", "Lee", "ann@b.com")],
        linked_qbo_ids=(),
        email_shared_with_other_customer=shared,
    )
    # Then it is asked once, with the case-folded email, and its answer allows the link
    assert asked == ["ann@b.com"]
    assert decision == LinkTo("2", "name+email")


@pytest.mark.parametrize(
    ("fields", "job"),
    [
        ({"Job": True, "ParentRef": {"value": "1"}}, True),
        ({"Job": True, "IsProject": True, "ParentRef": {"value": "1"}}, True),
        ({"ParentRef": {"value": "1"}}, True),  # a parent alone makes it a sub-customer
        ({"Job": False, "IsProject": False}, False),
        ({}, False),
    ],
    ids=["job", "project", "sub-customer", "customer", "customer without flags"],
)
def test_jobs_projects_and_sub_customers_are_recognised(fields: dict[str, object], job: bool) -> None:
    # Given a Customer object as QBO returns it, When read as a candidate, Then it is a job or not
    customer = {"Id": "2", "SyncToken": "0", "DisplayName": "Ann Lee", **fields}
    assert QboCandidate.from_qbo(customer).is_job is job


def test_candidate_is_read_from_a_qbo_customer_object() -> None:
    # Given a Customer as QBO's query returns it
    customer = {
        "Id": "67",
        "SyncToken": "3",
        "DisplayName": "Ann Lee",
        "GivenName": "Ann",
        "FamilyName": "Lee",
        "PrimaryEmailAddr": {"Address": "ann@a.com"},
        "Active": False,
        "BillAddr": {"Id": "9", "Line1": "1 Main"},
    }
    # When it becomes a candidate
    # Then the fields matching needs are taken over
    assert QboCandidate.from_qbo(customer) == QboCandidate(
        id="67",
        display_name="Ann Lee",
        given_name="Ann",
        family_name="Lee",
        email="ann@a.com",
        active=False,
        sync_token="3",
    )


def test_candidate_without_optional_fields() -> None:
    # Given a minimal QBO customer (no names, no email, Active omitted)
    # When read, Then missing values are None and it counts as active
    candidate = QboCandidate.from_qbo({"Id": "5", "DisplayName": "Acme", "SyncToken": "0"})
    assert (candidate.given_name, candidate.family_name, candidate.email, candidate.active) == (
        None,
        None,
        None,
        True,
    )


NAME_NORMALISATION = [
    # (raw, normalized, key)
    ("  Ann  ", "Ann", "ann"),
    ("Mary   Ann", "Mary Ann", "mary ann"),
    ("Mary\tAnn", "Mary Ann", "mary ann"),
    ("Mary\nAnn\r\n", "Mary Ann", "mary ann"),
    ("Mary:Ann", "Mary Ann", "mary ann"),
    ("O\u2019Brien", "O'Brien", "o'brien"),
    ("O\u2018Brien", "O'Brien", "o'brien"),
    ("\u201cBud\u201d Lee", '"Bud" Lee', '"bud" lee'),
    ("Ann\u00a0Lee", "Ann Lee", "ann lee"),  # no-break space
    ("Jose\u0301", "Jos\u00e9", "jos\u00e9"),  # decomposed accent composes
    ("STRASSE", "STRASSE", "strasse"),
    ("Stra\u00dfe", "Stra\u00dfe", "strasse"),  # casefold, not lower
    ("", "", ""),
]


@pytest.mark.parametrize(("raw", "normalized", "key"), NAME_NORMALISATION)
def test_name_normalization(raw: str, normalized: str, key: str) -> None:
    # Given a name as merchants type it
    # When normalized
    # Then spacing, quotes and forbidden characters are fixed
    assert normalize_name(raw) == normalized
    assert name_key(raw) == key


def test_qbo_safe_name_keeps_case_and_drops_characters_qbo_refuses() -> None:
    # Given a name with a colon, tab and newline
    # When made QBO-safe
    # Then they become single spaces, case kept
    assert qbo_safe_name(" McDonald:\tJr\n") == "McDonald Jr"


FRAGMENTS = [
    # (name as typed on either side, its stable fragment)
    ("Lee", "Lee"),
    ("O'Brien", "Brien"),
    ("O\u2019Brien", "Brien"),  # curly: the fragment holds no quote, so QBO never sees one
    ("Mary  Ann", "Mary"),  # the first of the longest runs
    ("  Lee  ", "Lee"),
    ("SMITH", "SMITH"),
    ("Smith-Jones", "Smith"),
    ("Jos\u00e9", "Jos\u00e9"),  # letters of any script
    ("x' OR '1'='1", "OR"),
    ("'", None),
    ("", None),
]


@pytest.mark.parametrize(("name", "fragment"), FRAGMENTS)
def test_a_name_is_looked_up_by_its_longest_run_of_letters(name: str, fragment: str | None) -> None:
    # Given a name, When its stable fragment is taken, Then it is what every typed variant of it contains
    assert name_fragment(name) == fragment


QUERIES = [
    ("Ann", "Lee", "SELECT * FROM Customer WHERE GivenName LIKE '%Ann%' AND FamilyName LIKE '%Lee%'"),
    ("Ann", "O'Neil", "SELECT * FROM Customer WHERE GivenName LIKE '%Ann%' AND FamilyName LIKE '%Neil%'"),
    (
        "Ann",
        "O\u2019Neil",
        "SELECT * FROM Customer WHERE GivenName LIKE '%Ann%' AND FamilyName LIKE '%Neil%'",
    ),
    (
        "Back\\slash",
        "Lee",
        "SELECT * FROM Customer WHERE GivenName LIKE '%slash%' AND FamilyName LIKE '%Lee%'",
    ),
    (
        "  Ann ",
        "Lee\tSmith",
        "SELECT * FROM Customer WHERE GivenName LIKE '%Ann%' AND FamilyName LIKE '%Smith%'",
    ),
    ("x' OR '1'='1", "Lee", "SELECT * FROM Customer WHERE GivenName LIKE '%OR%' AND FamilyName LIKE '%Lee%'"),
    ("'", "Lee", "SELECT * FROM Customer WHERE GivenName = '\\'' AND FamilyName LIKE '%Lee%'"),
]


@pytest.mark.parametrize(("first", "last", "query"), QUERIES)
def test_name_query_looks_up_stable_fragments_escaped(first: str, last: str, query: str) -> None:
    # Given first and last names, When the QBO query is built
    # Then each name is looked up by its fragment (or exactly, when it has none), safely escaped
    assert build_customer_query(first, last) == query


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("plain", "plain"),
        ("O'Neil", "O\\'Neil"),
        ("a\\b", "a\\\\b"),
        ("\\'", "\\\\\\'"),
        ("O\u2019Neil", "O\\'Neil"),
    ],
)
def test_escape_query_value(value: str, escaped: str) -> None:
    # Given a raw value, When escaped, Then backslash is doubled before the quote is escaped
    assert escape_query_value(value) == escaped


def test_display_name_query_includes_inactive_customers_by_default() -> None:
    # Given a display name that collided, When the 6240 check query is built
    # Then it asks for active and inactive customers alike, escaped
    assert build_display_name_query("Sean O'Brien") == (
        "SELECT * FROM Customer WHERE DisplayName = 'Sean O\\'Brien' AND Active IN (true, false)"
    )
    assert build_display_name_query("Ann Lee", include_inactive=False) == (
        "SELECT * FROM Customer WHERE DisplayName = 'Ann Lee'"
    )


def test_display_names_for_create_and_for_the_collision_retry() -> None:
    # Given a customer whose names need normalizing
    customer = PaySimpleCustomer(Id=42, FirstName=" Sean ", LastName="O\u2019Brien:Jr")
    # When the display names are built
    # Then the first is "First Last" and the retry adds the PaySimple id
    assert display_name_for(customer) == "Sean O'Brien Jr"
    assert collision_display_name(customer) == "Sean O'Brien Jr (PS-42)"
    assert DEFAULT_COLLISION_TEMPLATE == "{first} {last} (PS-{id})"
    assert collision_display_name(customer, "{last}, {first} #{id}") == "O'Brien Jr, Sean #42"


def test_a_card_number_split_across_first_and_last_name_never_makes_a_display_name() -> None:
    # Given a (scrubbed) customer whose names each hold half of a card number: neither half is one
    customer = PaySimpleCustomer(Id=42, FirstName="Ann 4111 1111", LastName="1111 1111 Lee")
    # When the display names are built, joining the two
    # Then the joined number is redacted in both
    assert display_name_for(customer) == "Ann [redacted] Lee"
    assert collision_display_name(customer) == "Ann [redacted] Lee (PS-42)"


def test_normalizing_a_name_never_assembles_an_account_number() -> None:
    # Given a name with an account number too far from the bank word to be one, until spaces collapse
    name = "acct" + " " * 45 + "12345678"
    # When it is normalized, as for QBO, for a query and for comparison
    # Then the number is redacted in every form
    assert normalize_name(name) == qbo_safe_name(name) == "acct [redacted]"
    assert name_key(name) == "acct [redacted]"


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{first} {last}", "must contain {id}"),
        ("{first} {nickname} {id}", "unknown placeholder {nickname}"),
        ("{first.__class__} {id}", "unknown placeholder"),
        ("{first:>999} {id}", "no format spec"),
        ("{first} {id", "not a valid format string"),
    ],
)
def test_unusable_collision_templates_are_refused(template: str, problem: str) -> None:
    # Given a template a merchant could save
    customer = PaySimpleCustomer(Id=1, FirstName="Ann", LastName="Lee")
    # When checked or used, Then the problem is named and no display name is produced
    assert any(problem in p for p in collision_template_problems(template))
    with pytest.raises(ValueError, match=r"collision template|placeholder"):
        collision_display_name(customer, template)
