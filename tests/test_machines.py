"""State machines as tables: the diagrams in docs/machines/ are the code's
(scripts/machines writes them), and a machine binds on its model's class."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.kinds.registry import machine_tables
from simulator.machines import Table, Trigger

DOCS = Path(__file__).resolve().parent.parent / "docs" / "machines"


def test_checked_in_diagrams_are_the_machines():
    tables = machine_tables()
    for table in tables:
        page = DOCS / f"{table.name}.md"
        assert page.exists() and page.read_text() == table.page(), \
            f"{page} differs from the machine's table: run scripts/machines"
    stale = {p.name for p in DOCS.glob("*.md")} - {f"{t.name}.md" for t in tables} - {"README.md"}
    assert not stale, f"diagrams of machines that no longer exist: {sorted(stale)}"


SAMPLE = Table("sample", "Sample", ["off", {"name": "boot", "children": ["os", "apps"], "initial": "os"}, "online"],
               [{"trigger": "power_on", "source": "off", "dest": "boot_os"},
                {"trigger": "os_up", "source": "boot_os", "dest": "boot_apps"},
                {"trigger": "apps_up", "source": "boot_apps", "dest": "online", "conditions": "healthy"}], "off")


def test_a_shared_machine_binds_on_the_class_and_keeps_models_small():
    machine = SAMPLE.machine()

    class Box:
        power_on: Trigger
        may_apps_up: Trigger

        def __init__(self, healthy: bool) -> None:
            self.ok = healthy
            machine.add_model(self, initial="off")

        def healthy(self) -> bool:
            return self.ok

    machine.bind(Box)
    good, bad = Box(True), Box(False)
    assert set(vars(good)) == {"ok", "state"}           # no per-model partials
    assert not machine.models                           # nor a list of models that would outlive their lab
    for box in (good, bad):
        box.power_on()
        box.os_up()
    assert good.may_apps_up() and good.apps_up() and good.state == "online"
    assert not bad.may_apps_up() and not bad.apps_up() and bad.state == "boot_apps"
    assert "boot_apps --> online: apps_up [healthy]" in SAMPLE.mermaid()


def test_a_class_cannot_declare_a_trigger_its_machine_lacks():
    class Wrong:
        reboot: Trigger

    with pytest.raises(TypeError, match="reboot"):
        SAMPLE.machine().bind(Wrong)
