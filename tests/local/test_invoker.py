"""The local Lambda invoker: real worker processes running the handlers in tests/local/handlers.py."""

import socket
import threading
import time
from typing import Any

import pytest

from local.cfn import FunctionSpec
from local.invoker import FunctionPool, lambda_environment
from local.sockets import process_with_local_port


def make_pool(tmp_path, attribute, *, timeout_seconds=5, max_concurrency=1, module="tests.local.handlers"):
    spec = FunctionSpec(
        logical_id="TestFunction", module=module, attribute=attribute, timeout_seconds=timeout_seconds
    )
    env = lambda_environment(
        spec, {"TABLE_NAME": "LinksTable"}, aws_endpoint_url="http://127.0.0.1:1", memory_mb=256
    )
    return FunctionPool(
        spec, env, max_concurrency=max_concurrency, log_path=tmp_path / "TestFunction.log", memory_mb=256
    )


@pytest.fixture
def pools(tmp_path):
    started = []

    def start(attribute, **options):
        pool = make_pool(tmp_path, attribute, **options)
        started.append(pool)
        return pool

    yield start
    for pool in started:
        pool.stop()


def test_warming_several_environments_starts_them_all_and_the_next_requests_reuse_them(pools):
    # Given a function allowed three environments
    pool = pools("echo", max_concurrency=3)

    # When three are warmed, then it is invoked
    warmed = pool.warm(environments=5)
    pids = pool.pids()
    result = pool.invoke({})

    # Then three environments (no more than allowed) finished their init, and the request used one of them
    assert warmed and len(pids) == 3
    assert result.ok and sorted(pool.pids()) == sorted(pids)


def test_handler_gets_the_event_a_lambda_context_and_only_the_functions_environment(pools, monkeypatch):
    # Given a secret in the caller's environment, and the echo handler
    monkeypatch.setenv("CALLERS_OWN_SECRET", "must-not-leak")
    pool = pools("echo", timeout_seconds=3)

    # When it is invoked
    result = pool.invoke({"hello": "world"})

    # Then it saw the event, Lambda's context and environment, and nothing of the caller's
    assert result.ok, result.error
    payload = result.payload
    assert payload["event"] == {"hello": "world"}
    assert payload["function_name"] == "TestFunction"
    assert payload["request_id"] == result.request_id
    assert 0 < payload["remaining_ms"] <= 3000
    environment = payload["environment"]
    assert environment["TABLE_NAME"] == "LinksTable"
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == "TestFunction"
    assert environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert environment["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert "CALLERS_OWN_SECRET" not in environment
    assert result.max_memory_used_mb > 0


def test_an_exception_becomes_lambdas_error_and_is_logged_with_a_report_line(pools, tmp_path):
    # Given a handler that raises
    pool = pools("fail")

    # When it is invoked
    result = pool.invoke({})

    # Then the caller gets Lambda's error shape and the log has the traceback and START/END/REPORT
    assert not result.ok
    assert result.error["errorType"] == "ValueError"
    assert result.error["errorMessage"] == "the handler failed on purpose"
    pool.stop()
    log = (tmp_path / "TestFunction.log").read_text()
    assert "ValueError: the handler failed on purpose" in log
    assert f"START RequestId: {result.request_id}" in log
    assert f"REPORT RequestId: {result.request_id}" in log


def test_an_invocation_past_the_timeout_is_stopped_and_the_next_gets_a_fresh_environment(pools):
    # Given a function with a 1 s timeout
    pool = pools("sleep", timeout_seconds=1)

    # When an invocation would take 10 s
    began = time.monotonic()
    timed_out = pool.invoke({"seconds": 10})
    took = time.monotonic() - began

    # Then it fails as Lambda's timeout does, after about 1 s, and the function still serves
    assert timed_out.error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in timed_out.error["errorMessage"]
    assert took < 5
    assert pool.invoke({"seconds": 0}).payload == {"slept": 0}


def test_a_return_value_lambda_cannot_serialise_is_an_error(pools):
    result = pools("unserialisable").invoke({})

    assert result.error["errorType"] == "TypeError"


def test_a_handler_module_that_fails_to_import_reports_an_init_error(pools):
    pool = pools("handler", module="tests.local.broken_handler")

    assert pool.warm() is False
    result = pool.invoke({})

    assert result.error["errorType"] == "Runtime.ImportModuleError"
    assert "a dependency is missing" in result.error["errorMessage"]


def test_concurrent_invocations_wait_for_a_free_environment_beyond_the_concurrency_limit(pools):
    # Given a function limited to 2 concurrent environments, warmed up
    pool = pools("sleep", max_concurrency=2)
    pool.warm()
    pool.invoke({"seconds": 0})
    results = []

    # When 4 invocations of 0.5 s arrive at once
    def invoke():
        results.append(pool.invoke({"seconds": 0.5}))

    threads = [threading.Thread(target=invoke) for _ in range(4)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.monotonic() - began

    # Then all succeed, two at a time
    assert all(result.ok for result in results)
    assert 1.0 <= took < 3.0
    assert pool.peak_memory_mb > 0


def test_a_crash_kills_the_environment_that_made_a_call_mid_invocation_and_the_next_gets_a_fresh_one(pools):
    # Given a function whose invocation is waiting on a call to this test's server
    pool = pools("call_and_wait", max_concurrency=2)
    with socket.create_server(("127.0.0.1", 0)) as server:
        result: dict[str, Any] = {}
        waiting = threading.Thread(
            target=lambda: result.update(crashed=pool.invoke({"port": server.getsockname()[1]}))
        )
        waiting.start()
        connection, (_, caller_port) = server.accept()

        # When the process that holds the caller's socket is crashed
        pid = process_with_local_port(caller_port, pool.pids())
        assert pid is not None
        assert pool.crash(pid)
        waiting.join(timeout=10)
        connection.close()

    # Then its invocation failed as a runtime that exited, the process is gone, and the function still serves
    assert result["crashed"].error["errorType"] == "Runtime.ExitError"
    assert pid not in pool.pids()
    assert not pool.crash(pid)
    assert pool.invoke({"port": 1}).error["errorType"] == "ConnectionRefusedError"
