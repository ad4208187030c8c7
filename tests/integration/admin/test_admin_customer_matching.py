"""AdminFunction: the Customer Matching tab — linked and unlinked lists, one customer's detail, the QBO
type-ahead, link, unlink and merge — with the QBO and PaySimple emulators over HTTP and moto."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from customer_sync.adapters.dynamodb_history import DynamoDbHistoryRepository
from customer_sync.adapters.dynamodb_links import DynamoDbLinksRepository
from customer_sync.models.history import HistoryEntry
from customer_sync.models.links import CustomerLink, LinkCandidate
from tests.support.admin_api import call, stored_state
from tests.support.onboarding import onboard_merchant

MERCHANT = "1225"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def links(env) -> DynamoDbLinksRepository:
    return DynamoDbLinksRepository(env["LINKS_TABLE_NAME"])


def seed_unlinked(env, paysimple_id, first, last, *, email=None, candidates=()):
    """A customer the sync left on the unlinked list (ambiguous, with candidates)."""
    return links(env).save_unlinked(
        CustomerLink(
            merchant_id=MERCHANT,
            paysimple_customer_id=paysimple_id,
            status="unlinked",
            reason="ambiguous",
            candidates=list(candidates),
            first_name=first,
            last_name=last,
            email=email,
            updated_at=NOW,
        ),
        expected_version=0,
    )


def seed_linked(env, paysimple_id, qbo_id, first, last, *, email=None):
    return links(env).save_linked(
        CustomerLink(
            merchant_id=MERCHANT,
            paysimple_customer_id=paysimple_id,
            status="linked",
            qbo_customer_id=qbo_id,
            qbo_sync_token="0",
            reason="name",
            first_name=first,
            last_name=last,
            email=email,
            updated_at=NOW,
        ),
        expected_version=0,
    )


def qbo_operations(qbo, realm):
    return [entry["operation"] for entry in qbo.calls(realm) if entry["operation"] != "token"]


def history(env, paysimple_id):
    return (
        DynamoDbHistoryRepository(env["HISTORY_TABLE_NAME"]).list_for_customer(MERCHANT, paysimple_id).items
    )


@pytest.fixture
def realm(admin_env, qbo, paysimple):
    """An onboarded, connected merchant (seeded directly: onboarding through the API is tested elsewhere)."""
    return onboard_merchant(admin_env, MERCHANT, qbo=qbo, paysimple=paysimple).realm_id


# -- lists and detail ----------------------------------------------------------------------------------------


def test_linked_and_unlinked_lists_are_separate_ordered_by_last_name_and_searchable(admin_env, realm):
    # Given two linked customers and one unlinked one
    seed_linked(admin_env, "101", "1", "Zoe", "Adams", email="zoe@example.com")
    seed_linked(admin_env, "102", "2", "Ann", "Baker", email="ann.baker@example.com")
    seed_unlinked(admin_env, "103", "Carl", "Clark")

    # When both lists are read, and the linked one searched by email
    linked = call("GET", f"/admin/merchants/{MERCHANT}/customers", query={"status": "linked"}).json
    unlinked = call("GET", f"/admin/merchants/{MERCHANT}/customers", query={"status": "unlinked"}).json
    found = call(
        "GET", f"/admin/merchants/{MERCHANT}/customers", query={"status": "linked", "q": "ANN.BAKER"}
    )

    # Then each list holds its own, by last name, and the search finds by email case-insensitively
    assert [item["paysimple_customer_id"] for item in linked["items"]] == ["101", "102"]
    assert linked["items"][0]["qbo_customer_id"] == "1"
    assert [item["paysimple_customer_id"] for item in unlinked["items"]] == ["103"]
    assert [item["paysimple_customer_id"] for item in found.json["items"]] == ["102"]


def test_the_unlinked_list_names_each_rows_first_three_candidates_without_asking_qbo(admin_env, realm, qbo):
    # Given an ambiguous customer with five candidates stored with it, and one with none
    candidates = [
        LinkCandidate(
            qbo_customer_id=str(number), display_name=f"Ann Lee {number}", email=f"a{number}@x.example"
        )
        for number in range(1, 6)
    ]
    seed_unlinked(admin_env, "401", "Ann", "Lee", candidates=candidates)
    seed_unlinked(admin_env, "402", "Bob", "Moss")
    qbo.clear_calls(realm)

    # When the unlinked list is read
    items = call("GET", f"/admin/merchants/{MERCHANT}/customers", query={"status": "unlinked"}).json["items"]

    # Then each row carries its count and its first three candidates, and QBO was not asked
    ann, bob = items
    assert ann["candidate_count"] == 5
    assert ann["first_candidates"] == [candidate.model_dump() for candidate in candidates[:3]]
    assert (bob["candidate_count"], bob["first_candidates"]) == (0, [])
    assert qbo_operations(qbo, realm) == []


def test_a_list_pages_with_a_cursor(admin_env, realm):
    # Given three unlinked customers
    for number, last in enumerate(["Avery", "Brooks", "Cole"]):
        seed_unlinked(admin_env, f"20{number}", "Pat", last)

    # When read two at a time
    first = call(
        "GET", f"/admin/merchants/{MERCHANT}/customers", query={"status": "unlinked", "limit": "2"}
    ).json
    second = call(
        "GET",
        f"/admin/merchants/{MERCHANT}/customers",
        query={"status": "unlinked", "limit": "2", "cursor": first["next_cursor"]},
    ).json

    # Then the second page continues where the first stopped, and ends the list
    assert [item["last_name"] for item in first["items"]] == ["Avery", "Brooks"]
    assert [item["last_name"] for item in second["items"]] == ["Cole"]
    assert second["next_cursor"] is None


def test_a_cursor_the_list_did_not_hand_out_is_422_naming_it(admin_env, realm):
    response = call(
        "GET",
        f"/admin/merchants/{MERCHANT}/customers",
        query={"status": "unlinked", "cursor": "not-a-cursor"},
    )

    assert response.status == 422
    assert response.json["detail"][0]["loc"] == ["query", "cursor"]


def test_an_unknown_status_is_422_naming_it(admin_env, realm):
    response = call("GET", f"/admin/merchants/{MERCHANT}/customers", query={"status": "lost"})

    assert response.status == 422
    assert response.json["detail"][0]["loc"] == ["query", "status"]


def test_a_customers_detail_shows_its_link_reason_candidates_and_history(admin_env, realm):
    # Given an ambiguous customer with two candidates and a history entry
    candidates = [
        LinkCandidate(qbo_customer_id="7", display_name="Ann Lee", email="ann@a.example", active=True),
        LinkCandidate(qbo_customer_id="8", display_name="Ann Lee (2)", email=None, active=True),
    ]
    seed_unlinked(admin_env, "301", "Ann", "Lee", email="ann@example.com", candidates=candidates)
    DynamoDbHistoryRepository(admin_env["HISTORY_TABLE_NAME"]).append(
        HistoryEntry(
            merchant_id=MERCHANT,
            paysimple_customer_id="301",
            event_id="evt_1",
            event_type="customer_created",
            occurred_at=NOW,
            recorded_at=NOW,
            action="unlinked",
            qbo_calls=1,
            detail="ambiguous: no email match",
        )
    )

    # When its detail is read
    response = call("GET", f"/admin/merchants/{MERCHANT}/customers/301")

    # Then
    assert response.status == 200
    detail = response.json
    assert detail["customer"]["status"] == "unlinked"
    assert detail["customer"]["reason"] == "ambiguous"
    assert [candidate["qbo_customer_id"] for candidate in detail["candidates"]] == ["7", "8"]
    assert [(entry["event_id"], entry["action"]) for entry in detail["history"]] == [("evt_1", "unlinked")]


def test_the_detail_of_an_unknown_customer_is_404(admin_env, realm):
    assert call("GET", f"/admin/merchants/{MERCHANT}/customers/999").status == 404


# -- QBO type-ahead ------------------------------------------------------------------------------------------


def test_type_ahead_finds_names_with_a_word_starting_with_the_text_flags_inactive_and_linked(
    admin_env, qbo, realm
):
    # Given QBO customers, one inactive and one already linked
    ann = qbo.seed_customer(realm, DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")["Id"]
    qbo.seed_customer(realm, DisplayName="Anne Old", GivenName="Anne", FamilyName="Old", Active=False)
    qbo.seed_customer(realm, DisplayName="Bob Annan", GivenName="Bob", FamilyName="Annan")
    qbo.seed_customer(realm, DisplayName="Joanne Ray", GivenName="Joanne", FamilyName="Ray")
    seed_linked(admin_env, "401", ann, "Ann", "Lee")

    # When the admin types "ann"
    response = call("GET", f"/admin/merchants/{MERCHANT}/qbo/customers", query={"q": "ann"})

    # Then every name with a word starting with it (not the middle of a word), names starting with it first,
    # inactive flagged, the linked one with its PaySimple customer
    assert response.status == 200
    assert [hit["display_name"] for hit in response.json["items"]] == ["Ann Lee", "Anne Old", "Bob Annan"]
    hits = {hit["display_name"]: hit for hit in response.json["items"]}
    assert hits["Anne Old"]["active"] is False
    assert hits["Ann Lee"]["linked_paysimple_customer_id"] == "401"
    assert hits["Anne Old"]["linked_paysimple_customer_id"] is None
    assert response.json["more"] is False


def test_type_ahead_meets_quotes_typed_either_way_on_either_side(admin_env, qbo, realm):
    # Given QBO customers with apostrophes, one typed curly in QBO
    qbo.seed_customer(realm, DisplayName="Ann O'Neil", GivenName="Ann", FamilyName="O'Neil")
    qbo.seed_customer(realm, DisplayName="Sean O\u2019Brien", GivenName="Sean", FamilyName="O\u2019Brien")
    qbo.clear_calls(realm)

    # When the admin types apostrophes (curly, as word processors do, and straight)
    neil = call("GET", f"/admin/merchants/{MERCHANT}/qbo/customers", query={"q": "Ann O\u2019N"})
    brien = call("GET", f"/admin/merchants/{MERCHANT}/qbo/customers", query={"q": "o'bri"})

    # Then both are found, each with one /batch request QBO could parse
    assert [hit["display_name"] for hit in neil.json["items"]] == ["Ann O'Neil"]
    assert [hit["display_name"] for hit in brien.json["items"]] == ["Sean O\u2019Brien"]
    assert qbo_operations(qbo, realm) == ["batch", "batch"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("smith", ["Smith Plumbing", "John Smith"]),  # a surname
        ("plumbing", ["Ann Ray", "Smith Plumbing"]),  # a company: a person working there, and its name
        ("ann", ["Ann Ray", "Mary Ann Lee"]),  # a middle word, as well as a first one
    ],
    ids=["surname", "company", "middle word"],
)
def test_type_ahead_finds_a_customer_by_any_word(admin_env, qbo, realm, text, found):
    # Given people, a company, and a job named after a person (never offered)
    qbo.seed_customer(realm, DisplayName="John Smith", GivenName="John", FamilyName="Smith")
    plumbing = qbo.seed_customer(realm, DisplayName="Smith Plumbing", CompanyName="Smith Plumbing")
    qbo.seed_customer(realm, DisplayName="Mary Ann Lee", GivenName="Mary Ann", FamilyName="Lee")
    qbo.seed_customer(realm, DisplayName="Ann Ray", CompanyName="Ray Plumbing")
    qbo.seed_job(realm, plumbing["Id"], DisplayName="Smith Ann job", GivenName="Ann", FamilyName="Smith")
    qbo.clear_calls(realm)

    # When the admin types a word
    answer = call("GET", f"/admin/merchants/{MERCHANT}/qbo/customers", query={"q": text})

    # Then the customers with a word starting with it, names that start with it first; one QBO request
    assert answer.status == 200
    assert [hit["display_name"] for hit in answer.json["items"]] == found
    assert qbo_operations(qbo, realm) == ["batch"]


def test_type_ahead_answers_further_keystrokes_from_its_cache(admin_env, qbo, realm):
    # Given a few QBO customers
    for name in ("Ann Lee", "Anna Bell", "Andrew Cole"):
        given, family = name.split()
        qbo.seed_customer(realm, DisplayName=name, GivenName=given, FamilyName=family)
    qbo.clear_calls(realm)

    # When the admin types "a", "an", "ann", then "an" again
    answers = [
        call("GET", f"/admin/merchants/{MERCHANT}/qbo/customers", query={"q": text}).json
        for text in ("a", "an", "ann", "an")
    ]

    # Then QBO was asked once; each answer narrows the first
    assert qbo_operations(qbo, realm) == ["batch"]
    assert [len(answer["items"]) for answer in answers] == [3, 3, 2, 3]
    assert {hit["display_name"] for hit in answers[2]["items"]} == {"Ann Lee", "Anna Bell"}


def test_type_ahead_says_when_more_customers_match_than_it_shows(admin_env, qbo, realm):
    # Given more matching customers than one answer holds
    for number in range(21):
        qbo.seed_customer(
            realm, DisplayName=f"Zed Number{number:02d}", GivenName="Zed", FamilyName=f"N{number}"
        )

    # When the admin types "zed"
    answer = call("GET", f"/admin/merchants/{MERCHANT}/qbo/customers", query={"q": "zed"}).json

    # Then 20 of them, and a hint to type more
    assert len(answer["items"]) == 20
    assert answer["more"] is True


def test_type_ahead_without_a_qbo_connection_is_409(merchants):
    # Given a merchant that never connected QuickBooks
    merchants.onboard(MERCHANT)

    # When the admin searches
    response = call("GET", f"/admin/merchants/{MERCHANT}/qbo/customers", query={"q": "ann"})

    # Then 409: connect first
    assert response.status == 409
    assert "not connected" in response.json["message"]


def test_type_ahead_needs_some_text(admin_env, realm):
    response = call("GET", f"/admin/merchants/{MERCHANT}/qbo/customers", query={"q": "   "})

    assert response.status == 422
    assert response.json["detail"][0]["loc"] == ["query", "q"]


# -- link and unlink -----------------------------------------------------------------------------------------


def test_linking_an_unlinked_customer_reads_the_qbo_customer_and_records_history(admin_env, qbo, realm):
    # Given an ambiguous PaySimple customer and the QBO customer the admin picked
    qbo_id = qbo.seed_customer(realm, DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")["Id"]
    seed_unlinked(admin_env, "501", "Ann", "Lee")
    qbo.clear_calls(realm)

    # When the admin links them
    response = call(
        "POST",
        f"/admin/merchants/{MERCHANT}/links",
        body={"paysimple_customer_id": "501", "qbo_customer_id": qbo_id},
    )

    # Then the customer is linked (reason manual), QBO was only read, and the history says so
    assert response.status == 200, response.text
    assert response.json["status"] == "linked"
    assert response.json["qbo_customer_id"] == qbo_id
    assert response.json["reason"] == "manual"
    assert qbo_operations(qbo, realm) == ["read"]
    assert [(entry.action, entry.qbo_customer_id) for entry in history(admin_env, "501")] == [
        ("manual_link", qbo_id)
    ]
    linked = call("GET", f"/admin/merchants/{MERCHANT}/customers", query={"status": "linked"}).json
    assert [item["paysimple_customer_id"] for item in linked["items"]] == ["501"]


def test_linking_a_qbo_customer_linked_to_someone_else_is_409_and_writes_nothing(admin_env, qbo, realm):
    # Given a QBO customer already linked to another PaySimple customer
    qbo_id = qbo.seed_customer(realm, DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")["Id"]
    seed_linked(admin_env, "601", qbo_id, "Ann", "Lee")
    seed_unlinked(admin_env, "602", "Ann", "Lee")
    before = stored_state()

    # When the admin links another customer to it
    response = call(
        "POST",
        f"/admin/merchants/{MERCHANT}/links",
        body={"paysimple_customer_id": "602", "qbo_customer_id": qbo_id},
    )

    # Then 409 naming the holder, and nothing written
    assert response.status == 409
    assert "601" in response.json["message"]
    assert stored_state() == before


def test_linking_to_a_qbo_customer_that_does_not_exist_is_422_and_writes_nothing(admin_env, realm):
    # Given an unlinked customer
    seed_unlinked(admin_env, "701", "Ann", "Lee")
    before = stored_state()

    # When the admin links it to a QBO id that does not exist
    response = call(
        "POST",
        f"/admin/merchants/{MERCHANT}/links",
        body={"paysimple_customer_id": "701", "qbo_customer_id": "999"},
    )

    # Then 422 naming qbo_customer_id, nothing written
    assert response.status == 422
    assert response.json["detail"][0]["loc"] == ["body", "qbo_customer_id"]
    assert stored_state() == before


def test_linking_to_a_job_or_project_is_422_and_writes_nothing(admin_env, qbo, realm):
    # Given an unlinked customer, and a job named like it under another customer
    parent = qbo.seed_customer(realm, DisplayName="Acme Builders")["Id"]
    job = qbo.seed_job(realm, parent, DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")["Id"]
    seed_unlinked(admin_env, "702", "Ann", "Lee")
    before = stored_state()

    # When the admin links the customer to the job
    response = call(
        "POST",
        f"/admin/merchants/{MERCHANT}/links",
        body={"paysimple_customer_id": "702", "qbo_customer_id": job},
    )

    # Then 422 (a job is never linked, so never written), nothing written
    assert response.status == 422
    assert "job" in response.json["message"]
    assert stored_state() == before


def test_a_customer_the_sync_has_not_seen_is_linked_with_its_names_from_paysimple(
    admin_env, qbo, paysimple, realm
):
    # Given a PaySimple customer saved before sync was enabled (no record of ours yet)
    saved = paysimple.save_customer(
        MERCHANT, {"FirstName": "Ben", "LastName": "Ng", "Email": "ben@example.com"}, send_webhook=False
    )
    paysimple_id = str(saved["customer"]["Id"])
    qbo_id = qbo.seed_customer(realm, DisplayName="Ben Ng", GivenName="Ben", FamilyName="Ng")["Id"]

    # When the admin links it ahead of go-live
    response = call(
        "POST",
        f"/admin/merchants/{MERCHANT}/links",
        body={"paysimple_customer_id": int(paysimple_id), "qbo_customer_id": qbo_id},
    )

    # Then it is linked, with the names and email PaySimple holds
    assert response.status == 200, response.text
    assert (response.json["first_name"], response.json["last_name"], response.json["email"]) == (
        "Ben",
        "Ng",
        "ben@example.com",
    )


def test_linking_a_customer_paysimple_does_not_know_is_404(admin_env, qbo, realm):
    qbo_id = qbo.seed_customer(realm, DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")["Id"]
    before = stored_state()

    response = call(
        "POST",
        f"/admin/merchants/{MERCHANT}/links",
        body={"paysimple_customer_id": "424242", "qbo_customer_id": qbo_id},
    )

    assert response.status == 404
    assert stored_state() == before


def test_a_link_request_with_malformed_json_is_400_and_one_without_a_field_is_422(admin_env, realm):
    before = stored_state()

    malformed = call("POST", f"/admin/merchants/{MERCHANT}/links", raw_body="{'paysimple_customer_id': 1}")
    missing = call("POST", f"/admin/merchants/{MERCHANT}/links", body={"paysimple_customer_id": "1"})

    assert malformed.status == 400
    assert missing.status == 422
    assert ["body", "qbo_customer_id"] in [issue["loc"] for issue in missing.json["detail"]]
    assert stored_state() == before


def test_unlinking_moves_the_customer_to_the_unlinked_list_and_keeps_its_history(admin_env, qbo, realm):
    # Given a customer the admin linked
    qbo_id = qbo.seed_customer(realm, DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")["Id"]
    seed_unlinked(admin_env, "801", "Ann", "Lee")
    link = {"paysimple_customer_id": "801", "qbo_customer_id": qbo_id}
    call("POST", f"/admin/merchants/{MERCHANT}/links", body=link)

    # When the admin unlinks it
    response = call("DELETE", f"/admin/merchants/{MERCHANT}/links/801")

    # Then it is unlinked (by the admin), both steps are in its history, and the QBO customer is free again
    assert response.status == 200
    assert response.json["status"] == "unlinked"
    assert response.json["reason"] == "unlinked_by_admin"
    assert response.json["qbo_customer_id"] is None
    assert [entry.action for entry in history(admin_env, "801")] == ["manual_unlink", "manual_link"]
    unlinked = call("GET", f"/admin/merchants/{MERCHANT}/customers", query={"status": "unlinked"}).json
    assert [item["paysimple_customer_id"] for item in unlinked["items"]] == ["801"]
    seed_unlinked(admin_env, "802", "Ann", "Lee")
    relink = call(
        "POST",
        f"/admin/merchants/{MERCHANT}/links",
        body={"paysimple_customer_id": "802", "qbo_customer_id": qbo_id},
    )
    assert relink.status == 200


def test_unlinking_an_unknown_customer_is_404(admin_env, realm):
    assert call("DELETE", f"/admin/merchants/{MERCHANT}/links/999").status == 404


# -- merge ---------------------------------------------------------------------------------------------------


def test_merging_duplicates_into_a_linked_primary_records_them_as_merged(admin_env, qbo, realm):
    # Given a linked primary and two unlinked duplicate records of the same person
    qbo_id = qbo.seed_customer(realm, DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")["Id"]
    seed_linked(admin_env, "901", qbo_id, "Ann", "Lee", email="ann@example.com")
    seed_unlinked(admin_env, "902", "Ann", "Lee", email="ann@example.com")
    seed_unlinked(admin_env, "903", "Ann", "Lee")
    qbo.clear_calls(realm)

    # When the admin merges them
    response = call(
        "POST",
        f"/admin/merchants/{MERCHANT}/merges",
        body={"primary_paysimple_customer_id": "901", "duplicate_paysimple_customer_ids": ["902", "903"]},
    )

    # Then the primary keeps the link; the duplicates are merged into it; no QBO call was needed
    assert response.status == 200, response.text
    assert response.json["primary"]["qbo_customer_id"] == qbo_id
    assert response.json["merged_paysimple_customer_ids"] == ["902", "903"]
    merged = call("GET", f"/admin/merchants/{MERCHANT}/customers", query={"status": "merged"}).json
    assert {(item["paysimple_customer_id"], item["merged_into"]) for item in merged["items"]} == {
        ("902", "901"),
        ("903", "901"),
    }
    assert qbo_operations(qbo, realm) == []
    assert [entry.action for entry in history(admin_env, "902")] == ["merged"]
    assert [entry.action for entry in history(admin_env, "901")] == ["merged"]


def test_merging_into_an_unlinked_primary_links_it_to_the_chosen_qbo_customer(admin_env, qbo, realm):
    # Given two unlinked records of one person and the QBO customer the admin picked
    qbo_id = qbo.seed_customer(realm, DisplayName="Ann Lee", GivenName="Ann", FamilyName="Lee")["Id"]
    seed_unlinked(admin_env, "911", "Ann", "Lee")
    seed_unlinked(admin_env, "912", "Ann", "Lee")

    # When they are merged with the QBO customer chosen
    response = call(
        "POST",
        f"/admin/merchants/{MERCHANT}/merges",
        body={
            "primary_paysimple_customer_id": "911",
            "duplicate_paysimple_customer_ids": ["912"],
            "qbo_customer_id": qbo_id,
        },
    )

    # Then the primary is linked to it (reason merge)
    assert response.status == 200, response.text
    assert response.json["primary"]["status"] == "linked"
    assert response.json["primary"]["reason"] == "merge"
    assert response.json["primary"]["qbo_customer_id"] == qbo_id


def test_merging_a_linked_duplicate_is_409_and_writes_nothing(admin_env, qbo, realm):
    # Given a duplicate that is itself linked
    seed_linked(admin_env, "921", "1", "Ann", "Lee")
    seed_linked(admin_env, "922", "2", "Ann", "Lee")
    before = stored_state()

    # When the admin tries to merge it
    response = call(
        "POST",
        f"/admin/merchants/{MERCHANT}/merges",
        body={"primary_paysimple_customer_id": "921", "duplicate_paysimple_customer_ids": ["922"]},
    )

    # Then 409 (only unlinked records are duplicates), nothing written
    assert response.status == 409
    assert "922" in response.json["message"]
    assert stored_state() == before


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (
            {"primary_paysimple_customer_id": "931", "duplicate_paysimple_customer_ids": ["932"]},
            422,
            "qbo_customer_id",
        ),
        (
            {
                "primary_paysimple_customer_id": "931",
                "duplicate_paysimple_customer_ids": ["931"],
                "qbo_customer_id": "1",
            },
            422,
            "duplicate_paysimple_customer_ids",
        ),
        (
            {
                "primary_paysimple_customer_id": "931",
                "duplicate_paysimple_customer_ids": [],
                "qbo_customer_id": "1",
            },
            422,
            "duplicate_paysimple_customer_ids",
        ),
        (
            {
                "primary_paysimple_customer_id": "931",
                "duplicate_paysimple_customer_ids": ["939"],
                "qbo_customer_id": "1",
            },
            404,
            None,
        ),
    ],
)
def test_a_refused_merge_writes_nothing(admin_env, realm, body, status, field):
    # Given two unlinked records
    seed_unlinked(admin_env, "931", "Ann", "Lee")
    seed_unlinked(admin_env, "932", "Ann", "Lee")
    before = stored_state()

    # When the merge request is refused
    response = call("POST", f"/admin/merchants/{MERCHANT}/merges", body=body)

    # Then the status names the problem, and nothing was written
    assert response.status == status
    if field:
        assert field in str(response.json["detail"])
    assert stored_state() == before
