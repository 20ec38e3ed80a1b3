"""Over real SSH (asyncssh): `root` gets SPS's console menu; Shells > Core
shell is a root shell; Firmware management shows the slots and activates
the previous firmware; System control reboots this node or the other one;
High Availability shows the pair and refuses what its status does not allow
(on virtual time)."""

from __future__ import annotations

import asyncssh
import pytest

from simulator.kinds.sps.packages import inspect_iso, make_iso
from simulator.lab import Lab
from tests.conftest import Terminal, ssh_port

CHOOSE = r"Select an option: $"


@pytest.fixture
async def sps_lab(tmp_path):
    async with Lab("sps-standalone", state_dir=tmp_path / "state", virtual_time=True, seed=3) as running:
        yield running


async def _menu(lab: Lab, version: str = "6.0.3 LTS") -> Terminal:
    conn = await asyncssh.connect("127.0.0.1", ssh_port(lab, "sps-1"), username="root", password="Admin123",
                                  known_hosts=None)
    term = Terminal(conn, await conn.create_process(term_type="vt100"))
    first = await term.read_until(CHOOSE)
    assert f"One Identity Safeguard for Privileged Sessions {version} - sps-1" in first
    assert "1) Shells" in first and "2) Firmware management" in first and "3) System control" in first
    return term


async def test_admin_gets_no_ssh_login_root_gets_the_menu_and_the_core_shell(sps_lab):
    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect("127.0.0.1", ssh_port(sps_lab, "sps-1"), username="admin", password="Admin123",
                               known_hosts=None)
    term = await _menu(sps_lab)
    try:
        assert "1) Core shell" in await term.cmd("1", CHOOSE)
        await term.cmd("1", r"root@sps-1:~# $")
        assert "root" in await term.cmd("whoami", r"root@sps-1:~# $")
        assert "Usage: firmware-install ISO_FILE" in await term.cmd("firmware-install", r"root@sps-1:~# $")
        assert "command not found" in await term.cmd("sps-install", r"root@sps-1:~# $")
        assert "tail: invalid number of lines: 'x'" in await term.cmd("tail -n x /etc/hosts", r"root@sps-1:~# $")
        assert "No such file or directory" in await term.cmd("cd /nowhere", r"root@sps-1:~# $")
        assert "root@sps-1:/# " in await term.cmd("cd /", r"root@sps-1:/# $")
        await term.cmd("cd", r"root@sps-1:~# $")
        assert "Core shell" in await term.cmd("exit", CHOOSE)
        assert "Invalid option: 7" in await term.cmd("7", CHOOSE)
        assert "1) Shells" in await term.cmd("back", CHOOSE)
    finally:
        await term.close()


async def test_activate_the_previous_firmware_and_reboot_from_the_menu(sps_lab, tmp_path):
    device = sps_lab.device("sps-1")
    device.add_firmware(device.free_slot(), inspect_iso(make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path)))
    device.upgrade(2)
    await sps_lab.clock.run_until(lambda: device.state == "online")
    await sps_lab.settle()
    assert device.version == "7.0.2.1"
    term = await _menu(sps_lab, "7.0.2.1 LTS")
    try:
        await term.cmd("Firmware management", CHOOSE)
        shown = await term.cmd("1", CHOOSE)
        assert "1    6.0.3" in shown and "2    7.0.2.1        current, after reboot" in shown
        assert "Firmware 6.0.3 in slot 1 will be activated after reboot." in await term.cmd("2", CHOOSE)
        await term.cmd("Back", CHOOSE)
        await term.cmd("System control", CHOOSE)
        await term.cmd("This node", CHOOSE)
        await term.cmd("Reboot", r"\(y/n\) $")
        assert "going down for reboot" in await term.cmd("y", CHOOSE)
        assert device.state == "shutting_down"
    finally:
        await term.close()
    await sps_lab.clock.run_until(lambda: device.state == "online")
    assert device.version == "6.0.3" and device.current == 1


async def test_a_restarted_lab_keeps_the_slots_and_resumes_a_boot_in_flight(tmp_path):
    state = tmp_path / "state"
    async with Lab("sps-standalone", state_dir=state, virtual_time=True, seed=3) as lab:
        device = lab.device("sps-1")
        device.add_firmware(device.free_slot(), inspect_iso(make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path)))
        device.upgrade(2)
        await lab.clock.run_until(lambda: device.state == "booting")
    async with Lab("sps-standalone", state_dir=state, virtual_time=True, seed=3) as lab:
        device = lab.device("sps-1")
        assert device.state == "booting" and device.after_reboot == 2 and device.slots[2].version == "7.0.2.1"
        await lab.clock.run_until(lambda: device.state == "online")
        assert device.version == "7.0.2.1" and device.current == 2 and device.previous == 1


async def test_the_ha_menu_shows_the_status_and_shuts_the_other_node_down(tmp_path):
    async with Lab("sps-ha", state_dir=tmp_path / "state", virtual_time=True, seed=3) as lab:
        conn = await asyncssh.connect("127.0.0.1", ssh_port(lab, "sps-a"), username="root", password="Admin123",
                                      known_hosts=None)
        term = Terminal(conn, await conn.create_process(term_type="vt100"))
        try:
            assert "4) High Availability" in await term.read_until(CHOOSE)
            await term.cmd("High Availability", CHOOSE)
            shown = await term.cmd("Show status", CHOOSE)
            assert "Status: HA" in shown and "Heartbeat: up" in shown
            assert "Other node  sps-b        slave    HA          firmware 6.0.3" in shown
            await term.cmd("Back", CHOOSE)
            await term.cmd("System control", CHOOSE)
            await term.cmd("Other node", CHOOSE)
            await term.cmd("Shutdown", r"\(y/n\) $")
            assert "other node is going down for shutdown" in await term.cmd("y", CHOOSE)
            await lab.clock.run_until(lambda: lab.device("sps-b").state == "off")
            await term.cmd("Back", CHOOSE)
            await term.cmd("Back", CHOOSE)
            await term.cmd("High Availability", CHOOSE)
            assert "Status: Degraded" in await term.cmd("Show status", CHOOSE)
            refused = await term.cmd("Activate Slave", CHOOSE)
            assert "Activate Slave needs both nodes connected and in sync (HA status: Degraded)" in refused
        finally:
            await term.close()
