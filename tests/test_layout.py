"""The shape of the code, kept by tests: the lab, profiles, control API and
command line know device kinds only through the registry."""

from __future__ import annotations

import ast
from pathlib import Path

from simulator.kinds.base import DeviceBase
from simulator.kinds.registry import KINDS
from simulator.terminal.session import Shell
from simulator.terminal.tree import Node

SIMULATOR = Path(__file__).resolve().parent.parent / "simulator"
KIND_BLIND = [SIMULATOR / "lab.py", SIMULATOR / "profile.py", SIMULATOR / "cli.py",
              *sorted((SIMULATOR / "control").glob("*.py"))]
SHARED_KIND_MODULES = {"simulator.kinds.base", "simulator.kinds.kind", "simulator.kinds.registry",
                       "simulator.kinds.spec"}


def _device_classes() -> set[str]:
    seen, todo = set(), [DeviceBase]
    while todo:
        cls = todo.pop()
        seen.add(cls.__name__)
        todo += cls.__subclasses__()
    return seen


def _kind_branches(path: Path) -> list[str]:
    devices, names = _device_classes(), set(KINDS)
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        where = f"{path.relative_to(SIMULATOR.parent)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance" and len(node.args) == 2:
            classes = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            found += [f"{where}: isinstance on {c.id}" for c in classes if getattr(c, "id", None) in devices]
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for operand in operands:
                values = operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
                found += [f"{where}: compares with kind {v.value!r}" for v in values
                          if isinstance(v, ast.Constant) and v.value in names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("simulator.kinds"):
            if node.module not in SHARED_KIND_MODULES:
                found.append(f"{where}: imports {node.module}")
    return found


def test_lab_profile_control_and_cli_have_no_branch_on_a_kind():
    found = [problem for path in KIND_BLIND for problem in _kind_branches(path)]
    assert found == []


def test_the_check_sees_a_branch_when_there_is_one(tmp_path):
    sample = SIMULATOR / "_sample_for_layout_test.py"
    sample.write_text("from simulator.kinds.ftd.model import FtdDevice\n"
                      "def f(d, spec):\n    return isinstance(d, FtdDevice) or spec.kind == 'asa'\n")
    try:
        assert len(_kind_branches(sample)) == 3
    finally:
        sample.unlink()


# The model side of a kind: what a device is and does, on the lab clock, with no I/O.
MODEL_ROLES = {"base", "spec", "model", "machine", "ha_machine", "facts", "config", "upgrade", "ha", "failover",
               "failover_unit", "failover_rules", "records", "downloads", "disk", "versions"}
SURFACE_SIDE = ("simulator.surfaces", "simulator.terminal", "simulator.transfer", "aiohttp", "asyncssh")
SHELL_ROLES = {"cli", "views", "ha_views", "expert", "context", "api", "api_views", "api_auth", "ssh", "console",
               "kind", "transfer", "worker", "copying"}


def _model_modules() -> list[Path]:
    found = [SIMULATOR / "machines.py", SIMULATOR / "facts.py"]
    for path in sorted((SIMULATOR / "kinds").rglob("*.py")):
        if path.stem in MODEL_ROLES:
            found.append(path)
    return found


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_models_machines_and_facts_import_no_surface_shell_or_network_library():
    found = []
    for path in _model_modules():
        for name in _imports(path):
            if name.startswith(SURFACE_SIDE) or (
                    name.startswith("simulator.kinds.") and name.split(".")[-1] in SHELL_ROLES):
                found.append(f"{path.relative_to(SIMULATOR.parent)} imports {name}")
    assert found == []


def _actions(node: Node) -> set[str]:
    found = {node.action} if node.action else set()
    for child in [*node.children, *node.options]:
        found |= _actions(child)
    return found


def test_every_action_of_every_command_tree_has_its_handler():
    """A tree's `action: x` needs the shell's `cmd_x`, else typing it would be an AttributeError."""
    shells, todo = [], list(Shell.__subclasses__())
    while todo:
        cls = todo.pop()
        shells.append(cls)
        todo += cls.__subclasses__()
    missing, seen = [], 0
    for cls in shells:
        for tree in cls.command_trees():
            for action in _actions(tree.root):
                seen += 1
                if not callable(getattr(cls, f"cmd_{action.replace('-', '_')}", None)):
                    missing.append(f"{cls.__module__}.{cls.__name__}: {action}")
    assert seen > 100 and missing == []
