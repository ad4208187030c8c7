"""Runs the SAM CLI so that `sam local invoke --docker-network host` really puts the function's container on
the host's network, where it reaches the moto server on 127.0.0.1 and nothing leaves loopback.

SAM (1.170) takes `--docker-network host` only as "connect to no network": the container stays on the
engine's default bridge and SAM reaches its runtime interface emulator (RIE) through a port published on
127.0.0.1. On the host's network there is nothing to publish, so the RIE itself must listen where SAM
connects: 127.0.0.1 at the port SAM picked (and checked free) for it. Its runtime API moves off its fixed
port 9001 to a free one, since on the host's network that port is the host's.

Run with the SAM CLI's own Python: `.venv-tools/bin/python local/sam_local/sam_host_network.py local invoke
... --docker-network host`. `host_network_options` is pure and tested from the project's virtualenv.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

# The container port SAM publishes the RIE on (samcli.local.docker.container.Container.RAPID_PORT_CONTAINER).
RIE_CONTAINER_PORT = "8080"
RIE_EXECUTABLE = "/var/rapid/aws-lambda-rie"
LOOPBACK = "127.0.0.1"


class UnexpectedContainerOptions(RuntimeError):
    """SAM asked for a container this launcher does not know how to move onto the host's network."""


def host_network_options(options: Mapping[str, Any], runtime_api_port: int) -> dict[str, Any]:
    """SAM's `containers.create` options for a Lambda container, moved onto the host's network: no published
    ports, and the RIE listening on 127.0.0.1 at the port SAM published it on, its runtime API at
    runtime_api_port. Anything else SAM might have asked for (more ports, a named network) is refused."""
    ports = dict(options.get("ports") or {})
    published = ports.pop(RIE_CONTAINER_PORT, None)
    if published is None or ports or options.get("network") or options.get("network_mode"):
        raise UnexpectedContainerOptions(
            f"expected one published port ({RIE_CONTAINER_PORT}, the RIE's) and no network, got "
            f"ports={options.get('ports')!r} network={options.get('network')!r} "
            f"network_mode={options.get('network_mode')!r}"
        )
    interface, host_port = published
    entrypoint = list(options.get("entrypoint") or [])
    if interface != LOOPBACK or not entrypoint or entrypoint[0] != RIE_EXECUTABLE:
        raise UnexpectedContainerOptions(
            f"expected the RIE published on {LOOPBACK} and started as {RIE_EXECUTABLE}, got "
            f"{published!r} and entrypoint {entrypoint!r}"
        )
    moved = {name: value for name, value in options.items() if name != "ports"}
    moved["network_mode"] = "host"
    moved["entrypoint"] = [
        *entrypoint,
        "--runtime-interface-emulator-address",
        f"{LOOPBACK}:{host_port}",
        "--runtime-api-address",
        f"{LOOPBACK}:{runtime_api_port}",
    ]
    return moved


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def asks_for_host_network(arguments: list[str]) -> bool:
    return "--docker-network=host" in arguments or ("--docker-network", "host") in pairwise(arguments)


def main() -> int:
    if not asks_for_host_network(sys.argv[1:]):
        raise SystemExit(
            "sam_host_network.py: pass --docker-network host; it is what this launcher completes"
        )
    # Imported here: they live in the SAM CLI's virtualenv, not the project's.
    from docker.models.containers import ContainerCollection
    from samcli.cli.main import cli

    create = ContainerCollection.create

    def create_on_host_network(self: Any, image: str, command: Any = None, **options: Any) -> Any:
        return create(self, image, command, **host_network_options(options, free_loopback_port()))

    ContainerCollection.create = create_on_host_network
    sys.argv[0] = "sam"
    cli()
    return 0


if __name__ == "__main__":
    sys.exit(main())
