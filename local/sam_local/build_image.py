"""Builds the local Lambda image `sam local invoke --invoke-image` runs, with nothing pulled from a registry.

A minimal Debian bookworm rootfs (debootstrap, from the machine's own Debian mirror) with python3.11; in
/var/runtime what Lambda's python3.11 runtime provides (awslambdaric, boto3) and the bootstrap that starts
it; `docker import`ed. SAM adds its own aws-lambda-rie and the layers on top, and mounts the function code.

The tag carries a fingerprint of every input, so an image that exists is reused and a changed recipe builds
a new one. `python -m local.sam_local.build_image` builds (if needed) and prints the tag.
"""

# ruff: noqa: S603, S607 - drives system tools (docker, dockerd, debootstrap, tar, sam) by name, with
# argument lists and never a shell.
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from local.cfn import PROJECT_ROOT
from local.sam_local.apt_sources import debian_mirror, read_apt_sources
from local.sam_local.engine import EngineUnavailable, ensure_engine

HERE = Path(__file__).resolve().parent
IMAGE_REPOSITORY = "customer-sync/lambda-python3.11"
SUITE = "bookworm"  # Debian's python3.11, Lambda's runtime version
# Bump when the build steps below change in a way the other inputs do not show.
RECIPE_VERSION = 1
PACKAGES = ("python3.11", "ca-certificates")
# The environment Lambda gives its python3.11 runtime (the AWS_* and function variables come from SAM).
IMAGE_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    "ENV TZ=:UTC",
    "ENV LAMBDA_TASK_ROOT=/var/task",
    "ENV LAMBDA_RUNTIME_DIR=/var/runtime",
    "ENV AWS_EXECUTION_ENV=AWS_Lambda_python3.11",
    "WORKDIR /var/task",
)
# Wheels for the image's interpreter whatever the host's: CPython 3.11 on glibc 2.36 (bookworm), x86_64.
# pip does not widen --platform to older glibc versions itself, so every compatible tag is listed.
WHEEL_TARGET = (
    "--only-binary=:all:",
    *(f"--platform=manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)),
    *(f"--platform={legacy}_x86_64" for legacy in ("manylinux2014", "manylinux2010", "manylinux1")),
    "--python-version=3.11",
    "--implementation=cp",
    "--abi=cp311",
)
# Trimmed from the rootfs: package caches and documentation nothing at run time reads.
PRUNED = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info")
SMOKE_TEST = "import awslambdaric, boto3, sys; assert sys.version_info[:2] == (3, 11), sys.version"


class ImageBuildFailed(RuntimeError):
    """A build step failed; the message names the step and its output."""


@dataclass(frozen=True)
class ImageRecipe:
    """Every input of the image; equal recipes give the same tag."""

    suite: str
    packages: tuple[str, ...]
    runtime_requirements: str
    bootstrap: str
    changes: tuple[str, ...]
    wheel_target: tuple[str, ...]
    version: int

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    @property
    def tag(self) -> str:
        return f"{IMAGE_REPOSITORY}:{self.fingerprint()[:16]}"


def project_recipe() -> ImageRecipe:
    return ImageRecipe(
        suite=SUITE,
        packages=PACKAGES,
        runtime_requirements=(HERE / "runtime-requirements.txt").read_text(encoding="utf-8"),
        bootstrap=(HERE / "bootstrap").read_text(encoding="utf-8"),
        changes=IMAGE_CHANGES,
        wheel_target=WHEEL_TARGET,
        version=RECIPE_VERSION,
    )


def _step(what: str, command: list[str], **kwargs: object) -> None:
    started = time.monotonic()
    print(f"sam-local image: {what} ...", flush=True)
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise ImageBuildFailed(f"{what} failed (exit {result.returncode}): {' '.join(command)}\n{output}")
    print(f"sam-local image: {what} done in {time.monotonic() - started:.0f}s", flush=True)


def image_exists(tag: str) -> bool:
    result = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False)
    return result.returncode == 0


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve()) + "/"
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        points = [line.split()[1].replace("\\040", " ") for line in mounts]
    return sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True)


def _remove_rootfs(root: Path) -> None:
    """Unmount what debootstrap may have left mounted (/proc, /sys, a bound /dev), then delete without ever
    crossing into another file system, so a failed build cannot take host files with it."""
    for point in _mounts_under(root):
        if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    if _mounts_under(root):
        raise ImageBuildFailed(f"could not unmount everything under {root}; remove it by hand")
    subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=True)


def _check_prerequisites() -> None:
    if platform.machine() != "x86_64":
        raise ImageBuildFailed(f"the functions are x86_64 and this machine is {platform.machine()}")
    if os.geteuid() != 0:
        raise ImageBuildFailed(
            "debootstrap needs root: run `make sam-local` as root (once; the image is cached)"
        )
    if shutil.which("debootstrap") is None:
        raise ImageBuildFailed("debootstrap is missing: apt-get install -y debootstrap")


def _mirror() -> str:
    configured = os.environ.get("DEBIAN_MIRROR") or debian_mirror(read_apt_sources(), SUITE)
    if not configured:
        raise ImageBuildFailed(
            f"no Debian mirror serving {SUITE}/main in /etc/apt/sources.list*; set DEBIAN_MIRROR to one"
        )
    return configured


def _populate(recipe: ImageRecipe, rootfs: Path, mirror: str) -> None:
    _step(
        f"debootstrap {recipe.suite} from {mirror}",
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(recipe.packages)}",
            "--components=main",
            recipe.suite,
            str(rootfs),
            mirror,
        ],
    )
    runtime_dir = rootfs / "var" / "runtime"
    requirements = runtime_dir / "requirements.txt"
    runtime_dir.mkdir(parents=True, exist_ok=True)
    requirements.write_text(recipe.runtime_requirements, encoding="utf-8")
    _step(
        "pip install the runtime's packages into /var/runtime",
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-input",
            "--disable-pip-version-check",
            f"--target={runtime_dir}",
            *recipe.wheel_target,
            "-r",
            str(requirements),
        ],
    )
    bootstrap = runtime_dir / "bootstrap"
    bootstrap.write_text(recipe.bootstrap, encoding="utf-8")
    bootstrap.chmod(0o755)
    for directory in ("var/task", "opt"):
        (rootfs / directory).mkdir(parents=True, exist_ok=True)
    for pruned in PRUNED:
        target = rootfs / pruned
        if target.is_dir():
            shutil.rmtree(target)
            target.mkdir()


def _import(recipe: ImageRecipe, rootfs: Path) -> None:
    started = time.monotonic()
    print("sam-local image: docker import ...", flush=True)
    changes = [arg for change in recipe.changes for arg in ("--change", change)]
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", "-", "."], stdout=subprocess.PIPE
    )
    result = subprocess.run(
        ["docker", "import", *changes, "-", recipe.tag],
        stdin=tar.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    if tar.stdout is not None:
        tar.stdout.close()
    if tar.wait() != 0 or result.returncode != 0:
        raise ImageBuildFailed(f"docker import failed: {result.stderr.strip()}")
    print(f"sam-local image: imported {recipe.tag} in {time.monotonic() - started:.0f}s", flush=True)


def smoke_test(tag: str) -> None:
    """Runs the image once: proves the engine can run containers and the runtime's packages import."""
    result = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network=none",
            "-e",
            "PYTHONPATH=/var/runtime",
            tag,
            "python3.11",
            "-c",
            SMOKE_TEST,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise ImageBuildFailed(
            f"the Docker engine answers but could not run {tag} (exit {result.returncode}):\n"
            + result.stderr.strip()
        )


def ensure_image(work_dir: Path, recipe: ImageRecipe | None = None) -> str:
    """The tag of an image built from the recipe: the existing one, or built now (a few minutes)."""
    recipe = recipe or project_recipe()
    if image_exists(recipe.tag):
        print(f"sam-local image: {recipe.tag} is up to date")
    else:
        _check_prerequisites()
        mirror = _mirror()
        work_dir.mkdir(parents=True, exist_ok=True)
        rootfs = Path(tempfile.mkdtemp(prefix="rootfs-", dir=work_dir))
        try:
            _populate(recipe, rootfs, mirror)
            _import(recipe, rootfs)
        finally:
            _remove_rootfs(rootfs)
    smoke_test(recipe.tag)
    return recipe.tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--work-dir", type=Path, default=PROJECT_ROOT / ".aws-sam" / "sam-local")
    args = parser.parse_args(argv)
    try:
        engine = ensure_engine(args.work_dir)
    except EngineUnavailable as failure:
        print(f"sam-local image: FAILED: no usable Docker engine: {failure}", file=sys.stderr)
        return 1
    try:
        print(ensure_image(args.work_dir))
    except ImageBuildFailed as failure:
        print(f"sam-local image: FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
