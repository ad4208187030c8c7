"""The Docker engine `sam local invoke` needs: use the one that answers, or start Debian's `dockerd` (as root)
and stop it again afterwards. When no engine can run here, say exactly why."""

# ruff: noqa: S603, S607 - drives system tools (docker, dockerd, debootstrap, tar, sam) by name, with
# argument lists and never a shell.
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

# Tried in order when we start the engine ourselves: the defaults first, then what sandboxes without
# iptables or without overlayfs need. Never a bridge: every container runs on the host's network
# (sam_host_network.py), so none is needed and no private-range address is set up.
DOCKERD_FLAG_SETS: tuple[tuple[str, ...], ...] = (
    ("--bridge=none",),
    ("--bridge=none", "--iptables=false"),
    ("--bridge=none", "--iptables=false", "--storage-driver=vfs"),
)
ENGINE_START_SECONDS = 30.0


class EngineUnavailable(RuntimeError):
    """No Docker engine answers and none could be started; the message says why and what to do."""


@dataclass
class Engine:
    """A Docker engine that answers. `process` is set only when this run started it (and must stop it)."""

    server_version: str
    process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def server_version() -> str | None:
    """The engine's version, or None when no engine answers on the default socket."""
    if shutil.which("docker") is None:
        return None
    result = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    version = result.stdout.strip()
    return version if result.returncode == 0 and version else None


def _wait_for_engine(process: subprocess.Popen[bytes], deadline: float) -> str | None:
    while time.monotonic() < deadline and process.poll() is None:
        version = server_version()
        if version:
            return version
        time.sleep(0.5)
    return None


def _log_tail(log_path: Path, lines: int = 15) -> str:
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def ensure_engine(work_dir: Path) -> Engine:
    """An engine that answers: the running one, or a `dockerd` started here (logs in work_dir)."""
    version = server_version()
    if version:
        return Engine(server_version=version)
    if shutil.which("docker") is None or shutil.which("dockerd") is None:
        raise EngineUnavailable(
            "none answers and dockerd is not installed; install Debian's engine (as root: "
            "apt-get install -y docker.io)"
        )
    if os.geteuid() != 0:
        raise EngineUnavailable(
            "none answers on /var/run/docker.sock and only root can start dockerd here: "
            "start it (e.g. `sudo dockerd &`) or run `make sam-local` as root"
        )
    work_dir.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for flags in DOCKERD_FLAG_SETS:
        log_path = work_dir / "dockerd.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(["dockerd", *flags], stdout=log, stderr=subprocess.STDOUT)
        version = _wait_for_engine(process, time.monotonic() + ENGINE_START_SECONDS)
        if version:
            print(f"sam-local: started dockerd {' '.join(flags)}, engine {version}")
            return Engine(server_version=version, process=process)
        Engine(server_version="", process=process).stop()
        failures.append(f"dockerd {' '.join(flags)}:\n{_log_tail(log_path)}")
    raise EngineUnavailable(
        "the engine cannot run on this machine: every way of starting dockerd failed:\n\n"
        + "\n\n".join(failures)
    )


def check_containers_reach(image: str, url: str) -> None:
    """Fails clearly when a container on the host's network cannot open a connection to the host's server on
    127.0.0.1 (the engine refuses host networking, say), rather than letting every function time out."""
    probe = (
        "import sys, urllib.error, urllib.request\n"
        "try:\n    urllib.request.urlopen(sys.argv[1], timeout=5)\n"
        "except urllib.error.HTTPError:\n    pass\n"
    )
    result = subprocess.run(
        ["docker", "run", "--rm", "--network=host", image, "python3.11", "-c", probe, url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise EngineUnavailable(f"containers cannot reach the host's moto server at {url}: {last_line}")


def image_ids() -> set[str]:
    """Every image id the engine holds, intermediate ones included."""
    result = subprocess.run(
        ["docker", "image", "ls", "--all", "--quiet", "--no-trunc"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(result.stdout.split())


def remove_images_built_since(before: set[str], repository_prefix: str) -> None:
    """Removes the images SAM built during this run (it rebuilds them on every invoke of a function with a
    local layer, so they cache nothing and would pile up): the new ones tagged under repository_prefix, and
    what that leaves dangling."""
    listing = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", "--no-trunc"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split("\n")
    tagged_new = [
        name
        for name, image_id in (line.split() for line in listing if line.strip())
        if image_id not in before and name.startswith(repository_prefix)
    ]
    if tagged_new:
        subprocess.run(["docker", "image", "rm", *tagged_new], capture_output=True, check=False)
    left_over = image_ids() - before
    dangling = subprocess.run(
        ["docker", "image", "ls", "--all", "--quiet", "--no-trunc", "--filter", "dangling=true"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    leftovers = [image_id for image_id in dangling if image_id in left_over]
    if leftovers:
        subprocess.run(["docker", "image", "rm", *leftovers], capture_output=True, check=False)
