"""Checks what `sam build` produced, the way Lambda will load it.

Each handler is imported in a fresh interpreter whose path is only what Lambda gives it: the function's
own build directory (/var/task), the layer's python/ directory (/opt/python) and a stand-in for the
runtime's bundled boto3 (/var/runtime). So a layer missing `customer_sync` or a dependency, or a function
that bundles the repo instead of its own directory, fails here rather than in AWS.

The layer's own package must be precompiled too (`make build` does it).

Run after `make build`: `python -m local.check_build` (exit 1 and a list of problems on failure).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from local.cfn import (
    PROJECT_ROOT,
    Resolver,
    function_spec,
    load_template,
    parameter_defaults,
    resources_of_type,
)

BUILD_DIR = PROJECT_ROOT / ".aws-sam" / "build"
LAYER_ID = "SharedLayer"
# What the runtime must import from the layer (not from anywhere else).
LAYER_IMPORTS = ("customer_sync", "pydantic", "aws_lambda_powertools")
# The Lambda Python runtime ships boto3 and its dependencies; everything else must come from the layer.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
# Directories that mean a function's CodeUri was the repository root rather than its own directory.
REPO_ONLY_DIRS = ("tests", "layers", "functions", "emulators", "local")

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")

_IMPORT_PROBE = """
import importlib, json, sys
module_name, attribute, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
handler = getattr(importlib.import_module(module_name), attribute)
origins = {name: importlib.import_module(name).__file__ or "" for name in names}
print(json.dumps({"callable": callable(handler), "origins": origins}))
"""


def _normalize(distribution: str) -> str:
    return re.sub(r"[-_.]+", "_", distribution).lower()


def required_distributions(requirements: Path) -> list[str]:
    """Distribution names (normalized) listed in a requirements file, ignoring comments and options."""
    names: list[str] = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        stripped = line.split("#", 1)[0].strip()
        if not stripped or stripped.startswith("-"):
            continue
        match = _REQUIREMENT_NAME.match(stripped)
        if match:
            names.append(_normalize(match.group(1)))
    return names


def check_precompiled(root: Path) -> list[str]:
    """Every module under `root` has its bytecode next to it (`make build` compiles; Lambda's code
    directories are read-only, so a module without it is compiled again on every cold start)."""
    missing = [
        source.relative_to(root.parent)
        for source in sorted(root.rglob("*.py"))
        if not Path(importlib.util.cache_from_source(str(source))).is_file()
    ]
    return [f"{module} is not precompiled (run `make build`)" for module in missing[:5]]


def check_layer(layer_python: Path, requirements: Path) -> list[str]:
    problems: list[str] = check_precompiled(layer_python / "customer_sync")
    if not (layer_python / "customer_sync" / "__init__.py").is_file():
        problems.append(
            f"{layer_python} has no customer_sync package (it must be importable from /opt/python)"
        )
    installed = {_normalize(path.name.split("-", 1)[0]) for path in layer_python.glob("*.dist-info")}
    for name in required_distributions(requirements):
        if name not in installed:
            problems.append(f"{layer_python} lacks the dependency {name} from {requirements.name}")
    return problems


def _runtime_stand_in(target: Path) -> None:
    """A directory holding only what the Lambda runtime provides, linked from this interpreter's packages."""
    site_packages = next(Path(entry) for entry in sys.path if entry.endswith("site-packages"))
    for name in RUNTIME_PACKAGES:
        source = site_packages / name
        if source.exists():
            (target / name).symlink_to(source)


def _function_environment(template: dict[str, Any], logical_id: str) -> dict[str, str]:
    """The template's variables for the function, with placeholder resource names: enough for cold start."""
    resolver = Resolver(
        parameters=parameter_defaults(template),
        refs={resource_id: f"check-build-{resource_id}" for resource_id in template["Resources"]},
        attributes={},
    )
    global_vars = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    props = template["Resources"][logical_id]["Properties"]
    function_vars = props.get("Environment", {}).get("Variables", {})
    return {name: str(resolver.resolve(value)) for name, value in {**global_vars, **function_vars}.items()}


def check_function(template: dict[str, Any], logical_id: str, layer_python: Path, runtime: Path) -> list[str]:
    function_dir = BUILD_DIR / logical_id
    handler_module, attribute = str(template["Resources"][logical_id]["Properties"]["Handler"]).rsplit(".", 1)
    if not function_dir.is_dir():
        return [f"{function_dir} was not built"]
    problems = [
        f"{function_dir} contains {name}/: its CodeUri bundles more than the function's own directory"
        for name in REPO_ONLY_DIRS
        if (function_dir / name).is_dir()
    ]
    if not (function_dir / f"{handler_module.replace('.', '/')}.py").is_file():
        return [
            *problems,
            f"{function_dir} has no {handler_module}.py for Handler {handler_module}.{attribute}",
        ]

    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(function_dir), str(layer_python), str(runtime)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "check-build",
        "AWS_SECRET_ACCESS_KEY": "check-build",
        # Importing a handler must not talk to AWS; if it tries, it fails fast on a closed local port.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "POWERTOOLS_TRACE_DISABLED": "true",
        **_function_environment(template, logical_id),
    }
    # -S: no site-packages, so nothing outside the three Lambda path entries can satisfy an import.
    completed = subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-S", "-c", _IMPORT_PROBE, handler_module, attribute, ",".join(LAYER_IMPORTS)],
        cwd=runtime,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        last_lines = "\n    ".join(completed.stderr.strip().splitlines()[-8:])
        return [
            *problems,
            f"{logical_id}: importing {handler_module} as Lambda would failed:\n    {last_lines}",
        ]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    if not result["callable"]:
        problems.append(f"{logical_id}: {handler_module}.{attribute} is not callable")
    for name, origin in result["origins"].items():
        if not str(origin).startswith(str(layer_python)):
            problems.append(f"{logical_id}: {name} was imported from {origin}, not from the layer")
    return problems


def check_build() -> list[str]:
    template = load_template()
    layer_python = BUILD_DIR / LAYER_ID / "python"
    if not layer_python.is_dir():
        return [f"{layer_python} does not exist: run `make build` first"]
    content_uri = template["Resources"][LAYER_ID]["Properties"]["ContentUri"]
    problems = check_layer(layer_python, PROJECT_ROOT / content_uri / "requirements.txt")
    with tempfile.TemporaryDirectory(prefix="lambda-runtime-") as runtime_dir:
        runtime = Path(runtime_dir)
        _runtime_stand_in(runtime)
        for logical_id in resources_of_type(template, "AWS::Serverless::Function"):
            function_spec(template, logical_id)  # fails loudly on a malformed CodeUri/Handler
            problems.extend(check_function(template, logical_id, layer_python, runtime))
    return problems


def main() -> int:
    problems = check_build()
    if problems:
        print("Build layout check FAILED:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"Build layout check passed: {BUILD_DIR.relative_to(PROJECT_ROOT)} imports like Lambda would.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
