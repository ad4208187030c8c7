"""`make run` as a newcomer sees it: the demo plays, its table shows each matching outcome, "ready" is
printed, and SIGTERM stops every process the stack started."""

from tests.support.local_stack_process import local_stack_process


def test_the_demo_prints_what_the_sync_did_with_each_customer_and_stop_leaves_nothing_running(tmp_path):
    # Given `make run` with the demo (DEMO=1)
    with local_stack_process(tmp_path, DEMO="1") as stack:
        table = "\n".join(stack.output)

        # Then before "ready" it printed every URL, the admin token and a row per outcome
        assert stack.info["admin_token"] in table
        assert stack.info["webhook_url"] in table
        outcomes = {
            "8053900 John Doe": "matched by name",
            "8053901 Ann Smith": "matched by name + email",
            # (2 candidates, or 1 when the other Ann Smith's link to 8053901 came first: separate batches)
            "8053902 Ann Smith": "left unlinked: ambiguous (",
            "8053903 Bob Jones": "created in QBO",
            "8053904 Maria Garcia": "created under another name (the name is taken)",
            "8053905 Peter Parker": "left unlinked: an inactive QBO customer has the name",
        }
        for customer, outcome in outcomes.items():
            [row] = [line for line in stack.output if customer in line]
            assert outcome in row, row
        [update] = [line for line in stack.output if "updated PrimaryPhone" in line]
        assert update.rstrip().endswith("| 1")  # a linked update: one QBO call
        process = stack.process

    # When it was stopped (SIGTERM, as Ctrl-C would), it said so and no process of its group was left
    assert process.returncode == 0
    assert stack.output[-1] == "Stopped."
    assert stack.left_running == []
