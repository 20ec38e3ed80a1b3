"""The shape of the code, kept by tests: the lab, profiles, control API and
command line know device kinds only through the registry."""

from __future__ import annotations

import ast
from pathlib import Path

from simulator.kinds.base import DeviceBase
from simulator.kinds.registry import KINDS

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
