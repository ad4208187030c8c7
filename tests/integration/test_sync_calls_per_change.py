"""What one change costs, counted call by call (real handler, moto, emulators over HTTP): QBO calls, which
the company's limits and Intuit's metering count, and DynamoDB round trips, which are most of a change's
time and cost. Targets: ≤ 6 DynamoDB calls for a new customer, ≤ 4 for a linked update, ≤ 3 for a save that
changes nothing; exactly 1 QBO call for a linked update, none for an unchanged save, ≤ 1.2 per new customer
in a burst of 10 (one name query for the batch).

Where a change's DynamoDB calls go: one batch read of the batch's links and done outcomes (BatchGetItem),
one read of the merchant's settings and mappings (Query), one draw on the company's QBO budget per QBO call
(UpdateItem), a create's intent before it is made (TransactWriteItems: the link, its email entry and the claim
on its name), and one transaction at the end holding the link, the history entry, the last successful sync,
the outcome and the release of the name's claim."""

from __future__ import annotations

from tests.support.aws_calls import counting_aws_calls
from tests.support.sqs_events import sqs_record
from tests.support.sync_stack import SyncStack

NO_FAILURES: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}
ANN = {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@example.com", "Phone": "3035550101"}


def linked_customer(stack: SyncStack) -> int:
    customer_id = stack.save_customer(**ANN)
    assert stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    stack.clear_qbo_calls()
    return customer_id


def test_a_new_customer_costs_six_dynamodb_calls_and_two_qbo_calls(sync_stack: SyncStack):
    # Given a new customer, with the function already warm (its first lookup built the company's name
    # variants, which come with the settings from then on: no call of their own)
    sync_stack.sync(sync_stack.save_customer(FirstName="Warm", LastName="Up"))
    customer_id = sync_stack.save_customer(**ANN)
    sync_stack.clear_qbo_calls()
    # When its change is synced on its own
    with counting_aws_calls() as calls:
        assert sync_stack.sync(customer_id, event_type="customer_created") == NO_FAILURES
    # Then: the batch read, the settings, a budget draw per QBO call, the intent and the completion
    assert calls.operations("dynamodb") == {
        "BatchGetItem": 1,
        "Query": 1,
        "TransactWriteItems": 2,
        "UpdateItem": 2,
    }
    assert calls.of("dynamodb") <= 6
    assert sync_stack.qbo_operations() == ["query", "create"]


def test_a_linked_update_costs_four_dynamodb_calls_and_exactly_one_qbo_call(sync_stack: SyncStack):
    # Given a linked customer whose phone changes
    customer_id = linked_customer(sync_stack)
    sync_stack.save_customer(Id=customer_id, **{**ANN, "Phone": "3035550199"})
    # When the change is synced
    with counting_aws_calls() as calls:
        assert sync_stack.sync(customer_id) == NO_FAILURES
    # Then one sparse update, and four DynamoDB calls
    assert calls.operations("dynamodb") == {
        "BatchGetItem": 1,
        "Query": 1,
        "TransactWriteItems": 1,
        "UpdateItem": 1,
    }
    assert sync_stack.qbo_operations() == ["update"]


def test_a_save_that_changes_nothing_costs_three_dynamodb_calls_and_no_qbo_call(sync_stack: SyncStack):
    # Given a linked customer saved again in PaySimple without a change
    customer_id = linked_customer(sync_stack)
    # When the change is synced
    with counting_aws_calls() as calls:
        assert sync_stack.sync(customer_id) == NO_FAILURES
    # Then QBO is not called at all, and DynamoDB three times
    assert calls.operations("dynamodb") == {"BatchGetItem": 1, "Query": 1, "TransactWriteItems": 1}
    assert sync_stack.qbo_calls() == []


def test_a_burst_of_ten_new_customers_costs_one_name_query_and_one_create_each(sync_stack: SyncStack):
    # Given ten new customers saved at once, and the function warm
    sync_stack.sync(sync_stack.save_customer(FirstName="Warm", LastName="Up"))
    customers = [
        sync_stack.save_customer(FirstName="Burst", LastName=f"Customer{number}") for number in range(10)
    ]
    sync_stack.clear_qbo_calls()
    records = [sqs_record(sync_stack.message(c, event_type="customer_created")) for c in customers]
    # When their changes arrive in one batch
    with counting_aws_calls() as calls:
        assert sync_stack.deliver(*records) == NO_FAILURES
    # Then QBO saw one query for all ten names and one create each: 1.1 calls per new customer
    operations = sync_stack.qbo_operations()
    assert operations == ["query"] + ["create"] * 10
    assert len(operations) / len(customers) <= 1.2
    # And DynamoDB about three calls per change: the batch's reads once, then a budget draw, the intent
    # with the claim on its name (one transaction; nine stored by the batch's lookup), and the completion
    assert calls.operations("dynamodb") == {
        "BatchGetItem": 1,
        "Query": 1,
        "TransactWriteItems": 20,
        "UpdateItem": 11,
    }
    assert calls.of("dynamodb") / len(customers) <= 3.5
    assert all(sync_stack.link(c).status == "linked" for c in customers)
