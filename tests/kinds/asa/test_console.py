"""The ASA's serial console over telnet, on labs on virtual time: no login
(straight to `hostname>`), the CLI of the SSH sessions, the boot transcript of
a reload, the unit's failover messages, and ROMMON's prompt."""

from __future__ import annotations

import pytest

from simulator.kinds.asa.console import CONSOLE
from simulator.lab import Lab
from tests.surfaces.test_console import TelnetClient, in_order


@pytest.fixture
async def asa_ha(tmp_path):
    async with Lab("asa-ha", state_dir=tmp_path / "state", virtual_time=True, seed=7) as lab:
        yield lab


async def console(lab: Lab, name: str) -> TelnetClient:
    entry = next(d for d in lab.endpoints()["devices"] if d["name"] == name)
    assert entry["console"]["ssh"]["username"] == "console"
    return await TelnetClient.open(entry["console"]["telnet"]["port"])


async def test_the_console_goes_straight_to_the_cli(asa_ha):
    term = await console(asa_ha, "asa-b")
    assert (await term.read_until(r"fw> $")).endswith("fw> ")
    out = await term.cmd("show curpriv", r"fw> $")
    assert "Username : enable_1" in out and "P_UNPR" in out
    term.send("enable\n")
    await term.read_until(r"Password: $")
    await term.cmd("Admin123", r"fw# $")
    assert "This host: Secondary - Standby Ready" in await term.cmd("show failover | include host", r"fw# $")
    await term.close()


async def test_a_reload_on_the_console_prints_the_boot_and_the_rejoin(asa_ha):
    lab = asa_ha
    unit, pair = lab.devices["asa-b"], lab.pairs["asa-ha"]
    term = await console(lab, "asa-b")
    await term.read_until(r"fw> $")
    term.send("enable\n")
    await term.read_until(r"Password: $")
    await term.cmd("Admin123", r"fw# $")
    term.send("reload noconfirm\n")
    await lab.clock.run_until(lambda: unit.state == "reloading")
    await lab.clock.run_until(lambda: pair.unit_state["asa-b"] == "Standby Ready")
    await lab.settle()
    out = await term.read_until(r"End configuration replication from mate\.\n")
    in_order(out, "*** --- START GRACEFUL SHUTDOWN ---", "*** --- SHUTDOWN NOW ---", "Rebooting.....",
             "Loading disk0:/asa9-19-1-smp-k8.bin...", "Cisco Adaptive Security Appliance Software Version 9.19(1)",
             "INFO: Power-On Self-Test complete.", "Cryptochecksum (unchanged):",
             "User enable_1 logged in to fw", "Type help or '?' for a list of available commands.", "fw> ",
             "Beginning configuration replication from mate.", "End configuration replication from mate.")
    assert "fw> " in await term.cmd("", r"fw> $")
    await term.close()


async def test_rommon_when_no_image_boots(tmp_path):
    profile = {"lab": "rommon", "devices": [{"name": "fw1", "kind": "asa", "model": "ASA5555-X",
                                               "version": "9.14(4)", "hostname": "fw1"}]}
    async with Lab(profile, state_dir=tmp_path / "state", virtual_time=True, seed=3) as lab:
        unit = lab.devices["fw1"]
        term = await console(lab, "fw1")
        await term.read_until(r"fw1> $")
        unit.delete_file(unit.image)
        lab.power("fw1", "cycle")
        await lab.clock.run_until(lambda: unit.state == "rommon")
        await lab.settle()
        out = await term.read_until(r"rommon #0> $")
        in_order(out, "Cisco Systems ROMMON Version", "Platform ASA5555 with 16384 Mbytes of main memory",
                 "Use BREAK or ESC to interrupt boot.", "Launching BootLoader...", "Error 15: File not found",
                 "unable to boot an image", "Use ? for help.", "rommon #0> ")
        assert "boot an image" in await term.cmd("?", r"rommon #1> $")
        assert "confreg: not simulated here" in await term.cmd("confreg", r"rommon #2> $")
        term.send("boot\n")
        await lab.clock.run_until(lambda: unit.state == "booting")
        await lab.clock.run_until(lambda: unit.state == "rommon")
        await lab.settle()
        assert "unable to boot an image" in await term.read_until(r"rommon #0> $")
        lab.reimage("fw1")
        await lab.clock.run_until(lambda: unit.state == "online")
        await lab.settle()
        out = await term.read_until(r"ciscoasa> $")
        in_order(out, "Boot configuration file contains 1 entry.", "Loading disk0:/asa9-14-4-smp-k8.bin... Booting...",
                 "Cisco Adaptive Security Appliance Software Version 9.14(4)", "User enable_1 logged in to ciscoasa")
        assert (lab.store.device_fs("fw1") / "asa9-14-4-smp-k8.bin").is_file()
        await term.close()


def test_the_console_texts_name_their_milestones():
    assert not CONSOLE.needs_login
    assert set(CONSOLE.data["milestones"]) >= {"shutdown", "booting", "loading", "no_image", "online", "failure"}
