"""Tiny Lambda handlers the invoker tests run in real worker processes (imported there, not by pytest)."""

import os
import socket
import time


def echo(event, context):
    return {
        "event": event,
        "function_name": context.function_name,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "environment": dict(os.environ),
    }


def fail(event, context):
    raise ValueError("the handler failed on purpose")


def sleep(event, context):
    time.sleep(event["seconds"])
    return {"slept": event["seconds"]}


def unserialisable(event, context):
    return {"when": object()}


def call_and_wait(event, context):
    """Connects to 127.0.0.1:<port> and waits for an answer, as a handler waits on QBO."""
    with socket.create_connection(("127.0.0.1", event["port"]), timeout=30) as connection:
        return {"answer": connection.recv(16).decode()}
