"""`sam local invoke --docker-network host` as make sam-local runs it: SAM's container options moved onto
the host's network, with the runtime interface emulator listening where SAM connects, on loopback only."""

import socket

import pytest

from local.cfn import PROJECT_ROOT
from local.sam_local.sam_host_network import (
    UnexpectedContainerOptions,
    asks_for_host_network,
    free_loopback_port,
    host_network_options,
)

RIE = "/var/rapid/aws-lambda-rie"


def sam_options(**overrides):
    """What SAM 1.170 passes to `containers.create` for a Lambda container (Container.create)."""
    return {
        "command": [],
        "working_dir": "/var/task",
        "volumes": {"/build/Fn": {"bind": "/var/task", "mode": "ro,delegated"}},
        "tty": False,
        "use_config_proxy": True,
        "environment": {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"},
        "ports": {"8080": ("127.0.0.1", 5123)},
        "entrypoint": [RIE, "--log-level", "error"],
        "mem_limit": "512m",
        "labels": {"sam.cli.container.type": "lambda"},
        **overrides,
    }


def test_the_container_joins_the_hosts_network_and_publishes_nothing():
    # Given SAM's options for a Lambda container
    # When moved onto the host's network
    moved = host_network_options(sam_options(), runtime_api_port=40001)
    # Then it uses the host's network, has no published ports, and keeps everything else SAM asked for
    assert moved["network_mode"] == "host"
    assert "ports" not in moved
    assert {name: value for name, value in moved.items() if name not in ("network_mode", "entrypoint")} == {
        name: value for name, value in sam_options().items() if name not in ("ports", "entrypoint")
    }


def test_the_emulator_listens_on_loopback_where_sam_connects_and_its_runtime_api_moves_off_9001():
    # Given SAM published the emulator's port 8080 on 127.0.0.1:5123
    # When moved onto the host's network
    moved = host_network_options(sam_options(), runtime_api_port=40001)
    # Then the emulator itself listens on 127.0.0.1:5123, and its runtime API on the free port given
    assert moved["entrypoint"] == [
        RIE,
        "--log-level",
        "error",
        "--runtime-interface-emulator-address",
        "127.0.0.1:5123",
        "--runtime-api-address",
        "127.0.0.1:40001",
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        {"ports": {"8080": ("127.0.0.1", 5123), "5858": ("127.0.0.1", 5858)}},  # a debugger port too
        {"ports": {}},
        {"ports": {"8080": ("0.0.0.0", 5123)}},
        {"network": "my-net"},
        {"network_mode": "bridge"},
        {"entrypoint": ["/var/runtime/bootstrap"]},
    ],
    ids=["debug-port", "no-port", "all-interfaces", "named-network", "network-mode", "other-entrypoint"],
)
def test_options_it_cannot_move_onto_the_hosts_network_are_refused(overrides):
    # Given SAM asked for something this launcher does not know to move / When moved / Then it refuses
    with pytest.raises(UnexpectedContainerOptions):
        host_network_options(sam_options(**overrides), runtime_api_port=40001)


@pytest.mark.parametrize(
    ("arguments", "asks"),
    [
        (["local", "invoke", "Fn", "--docker-network", "host"], True),
        (["local", "invoke", "Fn", "--docker-network=host"], True),
        (["local", "invoke", "Fn", "--docker-network", "bridge"], False),
        (["local", "invoke", "Fn", "--docker-network"], False),
        (["local", "invoke", "Fn"], False),
    ],
)
def test_the_launcher_runs_only_for_docker_network_host(arguments, asks):
    # Given SAM's arguments / Then the launcher runs SAM only when they ask for the host's network
    assert asks_for_host_network(arguments) is asks


def test_the_runtime_api_port_is_free_on_loopback():
    # Given a port chosen for the runtime API / When bound on 127.0.0.1 / Then the bind succeeds
    port = free_loopback_port()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
    assert 1024 < port < 65536


SAM_DOCKER = (
    PROJECT_ROOT / ".venv-tools" / "lib" / "python3.11" / "site-packages" / "samcli" / "local" / "docker"
)


@pytest.mark.skipif(not SAM_DOCKER.is_dir(), reason="the SAM CLI is not installed (make tools)")
def test_the_installed_sam_cli_still_creates_containers_the_way_the_launcher_expects():
    # Given the installed SAM CLI's container code
    container = (SAM_DOCKER / "container.py").read_text(encoding="utf-8")
    lambda_container = (SAM_DOCKER / "lambda_container.py").read_text(encoding="utf-8")
    # Then it still publishes only the emulator's port 8080 on its host interface, creates the container
    # through docker's ContainerCollection.create (what the launcher wraps), connects no network for "host",
    # and starts the emulator by the path the launcher extends
    assert 'RAPID_PORT_CONTAINER = "8080"' in container
    published = "{self.RAPID_PORT_CONTAINER: (self._container_host_interface, self.rapid_port_host)}"
    assert f'kwargs["ports"] = {published}' in container
    assert "self.docker_client.containers.create(self._image, **kwargs)" in container
    assert 'if self.network_id and self.network_id != "host":' in container
    assert '"network_mode"' not in container, "SAM now sets host networking itself: drop the launcher"
    assert '["/var/rapid/aws-lambda-rie", "--log-level", rie_log_level]' in lambda_container
