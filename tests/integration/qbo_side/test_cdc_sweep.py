"""The daily CDC sweep end to end (QboCdcFunction's handler, moto, the QBO emulator's CDC over HTTP): it finds
what the webhooks missed, and each run resumes from where the last one stopped."""

from __future__ import annotations

from datetime import datetime

from customer_sync.adapters.dynamodb_realms import DynamoDbCdcCheckpoints, DynamoDbNameVariants
from tests.support.qbo_side import QboSide

ANN = {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@example.com", "Phone": "3035550101"}
BOB = {"FirstName": "Bob", "LastName": "Ray", "Email": "bob@example.com", "Phone": "3035550102"}


def synced(side: QboSide, fields: dict[str, str]) -> tuple[int, str]:
    customer_id = side.stack.save_customer(**fields)
    side.stack.sync(customer_id, event_type="customer_created")
    return customer_id, str(side.stack.link(customer_id).qbo_customer_id)


def cdc_calls(side: QboSide) -> list[dict[str, str]]:
    return [call["query"] for call in side.stack.qbo_calls() if call["operation"] == "cdc"]


def company(result: dict[str, object], realm_id: str) -> dict[str, object]:
    companies = result["companies"]
    assert isinstance(companies, list)
    return next(entry for entry in companies if entry["realm_id"] == realm_id)


def test_the_sweep_finds_what_the_webhooks_missed(qbo_side: QboSide) -> None:
    # Given two linked customers, no webhook reaching us (the endpoint is not registered), and the first
    # sweep done (it builds the company's name variants: a test of its own, below)
    ann_id, ann_qbo = synced(qbo_side, ANN)
    bob_id, bob_qbo = synced(qbo_side, BOB)
    qbo_side.run_cdc_sweep()
    # When people edit Ann and make Bob inactive in QBO, and the daily sweep runs
    qbo_side.person_edits(ann_qbo, PrimaryPhone={"FreeFormNumber": "7205550199"})
    qbo_side.person_edits(bob_qbo, Active=False)
    qbo_side.stack.clear_qbo_calls()
    result = qbo_side.run_cdc_sweep()
    # Then one CDC call found both, and no customer was read on its own
    assert qbo_side.stack.qbo_operations() == ["cdc"]
    swept = company(result, qbo_side.realm_id)
    assert (swept["outcome"], swept["qbo_calls"], swept["applied"]) == ("swept", 1, 2)
    # And Ann's edit is drift, Bob is flagged inactive, each with a history entry
    assert [(d.field, d.theirs) for d in qbo_side.stack.link(ann_id).drift] == [
        ("PrimaryPhone", {"FreeFormNumber": "7205550199"})
    ]
    assert qbo_side.stack.history(ann_id)[0].action == "qbo_edited"
    assert qbo_side.stack.history(ann_id)[0].event_type == "qbo.cdc"
    assert qbo_side.stack.link(bob_id).qbo_flag == "inactive"
    assert qbo_side.stack.history(bob_id)[0].action == "qbo_inactive"


def test_what_the_webhooks_delivered_is_not_applied_twice(qbo_side: QboSide) -> None:
    # Given an edit the webhook delivered and applied
    qbo_side.subscribe()
    ann_id, ann_qbo = synced(qbo_side, ANN)
    qbo_side.person_edits(ann_qbo, GivenName="Annie")
    qbo_side.deliver_and_apply()
    history_before = qbo_side.stack.actions(ann_id)
    # When the sweep sees it again, Then nothing changes
    result = qbo_side.run_cdc_sweep()
    assert company(result, qbo_side.realm_id)["applied"] == 0
    assert qbo_side.stack.actions(ann_id) == history_before


def test_a_merge_the_webhooks_missed_is_flagged_for_the_admin(qbo_side: QboSide) -> None:
    # Given Ann linked, and a QBO namesake Ann's QBO customer is merged into while no webhook reaches us
    ann_id, ann_qbo = synced(qbo_side, ANN)
    survivor = qbo_side.stack.seed_qbo_customer(DisplayName="Ann M. Lee", GivenName="Ann", FamilyName="Lee")
    qbo_side.person_merges(ann_qbo, survivor["Id"])
    # When the sweep runs: CDC lists the merged-away customer as Deleted, and does not say into what
    qbo_side.run_cdc_sweep()
    # Then the link is flagged deleted (shown, for the admin to relink), never pointed at a guess
    link = qbo_side.stack.link(ann_id)
    assert (link.qbo_customer_id, link.qbo_flag) == (ann_qbo, "deleted")
    assert qbo_side.stack.history(ann_id)[0].action == "qbo_deleted"


def test_each_sweep_resumes_from_its_checkpoint(qbo_side: QboSide) -> None:
    # Given a first sweep after an edit
    ann_id, ann_qbo = synced(qbo_side, ANN)
    qbo_side.person_edits(ann_qbo, GivenName="Annie")
    first = company(qbo_side.run_cdc_sweep(), qbo_side.realm_id)
    checkpoints = DynamoDbCdcCheckpoints(qbo_side.stack.env["SETTINGS_TABLE_NAME"])
    checkpoint = checkpoints.checkpoint(qbo_side.realm_id)
    # Then the checkpoint is the newest change it processed (QBO's time of the edit)
    edited_at = datetime.fromisoformat(qbo_side.stack.qbo_customer(ann_qbo)["MetaData"]["LastUpdatedTime"])
    assert checkpoint == edited_at == datetime.fromisoformat(str(first["checkpoint"]))
    # When another edit happens and the next sweep runs
    bob_id, bob_qbo = synced(qbo_side, BOB)
    qbo_side.person_edits(bob_qbo, GivenName="Robert")
    qbo_side.stack.clear_qbo_calls()
    second = company(qbo_side.run_cdc_sweep(), qbo_side.realm_id)
    # Then it asked QBO for the changes since that checkpoint, and applied only the new edit
    [asked] = cdc_calls(qbo_side)
    assert datetime.fromisoformat(asked["changedSince"]) == checkpoint
    assert second["applied"] == 1
    assert [a for a in qbo_side.stack.actions(ann_id) if a.startswith("qbo_")] == ["qbo_edited"]
    assert [a for a in qbo_side.stack.actions(bob_id) if a.startswith("qbo_")] == ["qbo_edited"]
    newest = datetime.fromisoformat(str(second["checkpoint"]))
    assert checkpoints.checkpoint(qbo_side.realm_id) == newest
    assert checkpoint is not None and newest > checkpoint


def test_the_first_sweep_builds_the_companys_name_variants_and_cdc_keeps_them(
    just_connected_qbo_side: QboSide,
) -> None:
    qbo_side = just_connected_qbo_side
    # Given a company just connected, with customers people typed: one with a curly quote, one with a
    # trailing space, one as typed by the book, one a job of another customer
    stack = qbo_side.stack
    curly = stack.seed_qbo_customer(
        DisplayName="Sean O\u2019Brien", GivenName="Sean", FamilyName="O\u2019Brien"
    )
    spaced = stack.seed_qbo_customer(DisplayName="Mary Lee ", GivenName="Mary ", FamilyName="Lee")
    stack.seed_qbo_customer(DisplayName="Bob Ray", GivenName="Bob", FamilyName="Ray")
    parent = stack.seed_qbo_customer(DisplayName="Acme Builders")
    stack.qbo.seed_job(
        qbo_side.realm_id, parent["Id"], DisplayName="Kim Fox ", GivenName="Kim ", FamilyName="Fox"
    )
    stack.clear_qbo_calls()
    # When the first daily sweep runs
    swept = company(qbo_side.run_cdc_sweep(), qbo_side.realm_id)
    # Then one listing of the active customers found the two variants, before the CDC call
    assert stack.qbo_operations() == ["query", "cdc"]
    assert swept["name_variants"] == 2
    variants = DynamoDbNameVariants(stack.env["SETTINGS_TABLE_NAME"]).load(
        qbo_side.stack.merchant_id, qbo_side.realm_id
    )
    assert variants is not None
    assert sorted(customer["Id"] for customer in variants.customers) == sorted([curly["Id"], spaced["Id"]])
    # When a person fixes the space and the next sweep sees it (no webhook reaches us)
    qbo_side.person_edits(spaced["Id"], GivenName="Mary")
    stack.clear_qbo_calls()
    again = company(qbo_side.run_cdc_sweep(), qbo_side.realm_id)
    # Then no listing again: the CDC object dropped it, without a read
    assert stack.qbo_operations() == ["cdc"] and again["name_variants"] is None
    variants = DynamoDbNameVariants(stack.env["SETTINGS_TABLE_NAME"]).load(
        qbo_side.stack.merchant_id, qbo_side.realm_id
    )
    assert variants is not None and [customer["Id"] for customer in variants.customers] == [curly["Id"]]
