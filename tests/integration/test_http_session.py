"""adapters/http.py over loopback: what a call to QBO, Intuit's OAuth endpoints or PaySimple meets when the
other side is silent, absent or redirects, and when the request itself cannot be sent. The errors never
carry the URL or the headers (customer names in QBO queries, tokens and keys)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from customer_sync.adapters.http import HttpSession, HttpUnreachable, HttpUnsendable, basic_authorization

SECRET_QUERY = "SELECT * FROM Customer WHERE DisplayName = 'Ada Lovelace'"


class _Redirecting(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def redirecting_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def _texts(error: BaseException) -> str:
    return " ".join(str(part) for part in (error, repr(error), error.__cause__))


def test_an_answer_that_does_not_come_in_time_is_a_timeout_without_the_url(silent_server):
    # Given a server that accepts the connection and never answers
    # When a query is sent with a short timeout
    with pytest.raises(HttpUnreachable) as raised:
        HttpSession().request(
            "GET", f"{silent_server}/query?q={SECRET_QUERY}", headers={}, timeout_seconds=0.3
        )
    # Then it timed out, and the error does not quote the request
    assert raised.value.timed_out
    assert "Lovelace" not in _texts(raised.value)


def test_nobody_listening_is_a_connection_failure_not_a_timeout():
    # Given a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # When a request is sent there
    with pytest.raises(HttpUnreachable) as raised:
        HttpSession().request(
            "GET", f"http://127.0.0.1:{port}/q?{SECRET_QUERY}", headers={}, timeout_seconds=1
        )
    # Then the connection failed at once (not a timeout), and the error does not quote the request
    assert not raised.value.timed_out
    assert "Lovelace" not in _texts(raised.value)


def test_a_redirect_is_answered_as_it_is_and_not_followed(redirecting_server):
    # When a request meets a redirect
    response = HttpSession().request(
        "GET", f"{redirecting_server}/v4/customer", headers={"Authorization": "basic u:k"}, timeout_seconds=5
    )
    # Then the 302 is the answer: the Authorization header went nowhere else
    assert response.status == 302
    assert response.headers["location"] == "http://127.0.0.1:9/elsewhere"


@pytest.mark.parametrize("value", ["Bearer token-with-newline\n", "basic user:k\u20acy"])
def test_a_header_that_cannot_be_sent_is_refused_without_quoting_it(redirecting_server, value):
    # Given a header value with a newline, or a character outside Latin-1
    # When it is sent
    with pytest.raises(HttpUnsendable) as raised:
        HttpSession().request(
            "GET", f"{redirecting_server}/v4/customer", headers={"Authorization": value}, timeout_seconds=5
        )
    # Then it is refused as a bad header, and the error does not quote it
    assert raised.value.bad_header
    assert "token-with-newline" not in _texts(raised.value)
    assert "user:k" not in _texts(raised.value)


def test_basic_authorization_is_base64_of_user_colon_password_and_refuses_what_latin1_cannot_hold():
    # When the header is built for a client id and secret
    # Then it is standard Basic auth
    assert basic_authorization("client", "s3cret") == {"Authorization": "Basic Y2xpZW50OnMzY3JldA=="}
    # And a secret Latin-1 cannot hold is refused as a bad header, without quoting it
    with pytest.raises(HttpUnsendable) as raised:
        basic_authorization("client", "s3cr\u20act")
    assert raised.value.bad_header
    assert "s3cr" not in _texts(raised.value)
