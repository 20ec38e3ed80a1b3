"""docs/adding-a-kind.md is true: the toy kind it builds, file by file, plus its
registry line, is a device the lab serves like any other (SSH login and a
command, a REST call, its entry in the endpoints file, power through the
control API, a bad key reported against its schema)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import asyncssh
import httpx
import pytest

import simulator.kinds
from simulator.kinds import registry
from simulator.lab import Lab
from simulator.profile import ProfileError, load
from tests.conftest import ROOT

DOC = ROOT / "docs" / "adding-a-kind.md"
PROFILE = {"lab": "boxes", "devices": [{"name": "box-1", "kind": "box", "model": "Box-1", "version": "1.0"}]}


def _doc_files() -> dict[str, str]:
    """The doc's code blocks that start with `# file: <path>`."""
    files = {}
    for block in re.findall(r"```(?:python|yaml)\n(.*?)```", DOC.read_text(), flags=re.S):
        first, _, rest = block.partition("\n")
        if first.startswith("# file: "):
            files[first.removeprefix("# file: ")] = rest
    return files


@pytest.fixture
def box_kind(tmp_path, monkeypatch):
    """The doc's folder written out as simulator/kinds/box, and its registry line applied."""
    files = _doc_files()
    assert sorted(Path(p).name for p in files) == ["api.py", "cli.py", "cli.yaml", "facts.yaml", "kind.py",
                                                   "machine.py", "model.py", "ssh.py"]
    for path, text in files.items():
        target = tmp_path / Path(path).relative_to("simulator/kinds")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (tmp_path / "box" / "__init__.py").write_text("")
    monkeypatch.setattr(simulator.kinds, "__path__", [*simulator.kinds.__path__, str(tmp_path)])
    line = re.search(r"# registry: (.*)", DOC.read_text()).group(1)
    namespace: dict[str, object] = {}
    exec(line, namespace)       # the doc's own import line
    kind = namespace["BOX"]
    monkeypatch.setitem(registry.KINDS, "box", kind)
    yield kind
    for name in [m for m in sys.modules if m.startswith("simulator.kinds.box")]:
        del sys.modules[name]


async def test_the_toy_kind_of_the_doc_is_served_like_any_other(box_kind, tmp_path):
    async with Lab(PROFILE, state_dir=tmp_path / "state", virtual_time=True) as lab:
        box = lab.devices["box-1"]
        entry = lab.endpoints()["devices"][0]
        assert entry["kind"] == "box" and entry["serial"] == "BOXBOX-1" and entry["state"] == "online"
        assert "console" not in entry and "ha" not in entry
        ssh = entry["ssh"]
        async with asyncssh.connect(ssh["host"], port=ssh["port"], username=ssh["username"],
                                    password=ssh["password"], known_hosts=None) as conn:
            result = await conn.run("show version")
            assert result.stdout.strip() == "Toy Box Box-1 version 1.0"
            result = await conn.run("show verzion")
            assert "% Unknown command: verzion" in result.stdout
        async with httpx.AsyncClient(verify=False) as client:
            answer = await client.get(entry["https"]["url"] + "/api/status")
            assert answer.json() == {"name": "box-1", "model": "Box-1", "version": "1.0", "state": "online"}
            missing = await client.get(entry["https"]["url"] + "/api/nothing")
            assert missing.status_code == 404 and "error" in missing.json()

        lab.power("box-1", "cycle")
        assert box.state == "booting"
        await lab.settle()
        with pytest.raises(OSError):
            await asyncssh.connect(ssh["host"], port=ssh["port"], username="admin", password="x", known_hosts=None)
        await lab.clock.advance(30)
        await lab.settle()
        assert box.state == "online" and lab.endpoints()["devices"][0]["ssh"]["port"] == ssh["port"]
        states = [e["state"] for e in lab.journal.select(device="box-1", kind="state")]
        assert states == ["off", "booting", "online"]


def test_a_bad_key_in_a_box_entry_is_reported_against_the_box_schema(box_kind):
    with pytest.raises(ProfileError, match=r"devices\[0\]\.console_port: unknown key for kind box"):
        load({**PROFILE, "devices": [{**PROFILE["devices"][0], "console_port": 5000}]})
    with pytest.raises(ProfileError, match=r"devices\[0\]\.model: expected one of Box-1, Box-2"):
        load({**PROFILE, "devices": [{**PROFILE["devices"][0], "model": "Crate"}]})


def test_the_machine_page_of_the_box_is_drawn_from_its_table(box_kind):
    page = box_kind.machines[0].page()
    assert page.startswith("# Toy box") and "booting --> online: booted" in page
