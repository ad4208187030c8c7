"""A busy default port must not stop `make run`; a busy port the user chose must say so."""

import socket

import pytest

from local.stack import StackStartError, choose_port


@pytest.fixture
def busy_port():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_free_port_is_used_as_configured():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]

    assert choose_port("127.0.0.1", free, variable="MOTO_PORT", explicit=True, out=print) == free


def test_a_busy_default_port_falls_back_to_any_free_port_and_says_so(busy_port):
    said: list[str] = []

    port = choose_port("127.0.0.1", busy_port, variable="MOTO_PORT", explicit=False, out=said.append)

    assert port == 0
    assert said == [f"  (port {busy_port} is in use; MOTO_PORT falls back to a free port)"]


def test_a_busy_port_the_user_chose_is_an_error_naming_the_variable(busy_port):
    with pytest.raises(StackStartError, match=f"port {busy_port} is in use; set GATEWAY_PORT"):
        choose_port("127.0.0.1", busy_port, variable="GATEWAY_PORT", explicit=True, out=print)
