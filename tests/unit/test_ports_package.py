"""customer_sync.ports loads a concern's module only when one of its ports is first imported from it."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

import customer_sync.ports as ports
from tests.support.fresh_interpreter import run_fresh


def _names_for_type_checkers() -> dict[str, str]:
    """Each name the package's `if TYPE_CHECKING:` block imports, with the module it comes from."""
    tree = ast.parse(inspect.getsource(ports))
    [block] = [
        node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    return {
        alias.name: str(statement.module).rsplit(".", 1)[-1]
        for statement in block.body
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }


def test_type_checkers_and_the_runtime_see_the_same_ports_in_the_same_modules():
    # Given the names type checkers see and the names the package resolves at run time
    # Then they are the same names, each from the same module
    assert _names_for_type_checkers() == ports._MODULE_OF


@pytest.mark.parametrize("name", sorted(ports._MODULE_OF))
def test_each_port_is_the_class_its_module_defines(name: str):
    # When a port is imported from the package
    port = getattr(ports, name)
    # Then it is the very class of its concern's module
    assert port is getattr(importlib.import_module(f"customer_sync.ports.{ports._MODULE_OF[name]}"), name)


def test_a_name_that_is_no_port_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NoSuchPort"):
        ports.NoSuchPort  # noqa: B018


def test_importing_one_port_loads_only_its_concern():
    # Given a fresh interpreter
    # When one port is imported from the package
    probe = (
        "import json, sys\nfrom customer_sync.ports import SigningKeys\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = set(run_fresh(probe))
    # Then only that port's module was loaded, none of the nine other concerns
    assert {name for name in loaded if name.startswith("customer_sync.ports.")} == {
        "customer_sync.ports.ingest"
    }
