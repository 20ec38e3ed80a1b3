"""IPMI over LAN driven by Debian's ipmitool (`-I lanplus`), the lab on virtual
time: power status/on/off/cycle/soft, boot device, serial over LAN showing the
boot, a power-off mid-install bricking an FTD as `simulator power off` does,
a wrong password, and a flood of garbage that stalls no other device."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import struct
import time

import pytest

from simulator.lab import Lab, listeners
from simulator.profile import load
from simulator.surfaces.bmc.ipmi import HANDLERS
from tests.conftest import ssh_port, upload
from tests.surfaces.bmc_helpers import BOXES, Sol, ipmitool, needs_ipmitool

pytestmark = needs_ipmitool


@pytest.fixture
async def boxes(tmp_path):
    async with Lab(BOXES, state_dir=tmp_path / "state", virtual_time=True, seed=3) as lab:
        yield lab


def ipmi_of(lab: Lab, name: str) -> dict:
    return lab.device_endpoints(name)["bmc"]["ipmi"]


def bmc_events(lab: Lab, name: str) -> list[tuple[str, str]]:
    return [(e["surface"], e["action"]) for e in lab.journal.events if e["kind"] == "bmc.power" and e["device"] == name]


async def test_hardware_boxes_get_a_bmc_virtual_and_logical_devices_do_not(boxes):
    entries = {name: boxes.device_endpoints(name) for name in boxes.devices}
    assert {n for n, e in entries.items() if "bmc" in e} == {"fpr4k-1", "sf3110"}
    bmc = entries["sf3110"]["bmc"]
    assert bmc["ipmi"] == {"host": "127.0.0.1", "port": bmc["ipmi"]["port"], "username": "admin",
                           "password": "Admin123"}
    assert bmc["redfish"]["system"] == "/redfish/v1/Systems/sf3110"
    assert bmc["redfish"]["url"].startswith("https://127.0.0.1:")
    # Two IPMI ports and the Redfish service are counted with the lab's listeners.
    without = load({**BOXES, "devices": [{**d, "bmc": False} for d in BOXES["devices"]]})
    assert listeners(load(BOXES))[0] == listeners(without)[0] + 3


async def test_profile_says_which_boxes_have_one_and_their_login(tmp_path):
    profile = {"lab": "opt", "devices": [
        {"name": "ftdv", "model": "FTDv", "version": "7.4.1-172", "bmc": True, "bmc_username": "ADMIN",
         "bmc_password": "ADMIN"},
        {"name": "sf", "model": "SF-3110", "version": "7.4.1-172", "bmc": False}]}
    async with Lab(profile, state_dir=tmp_path / "s", virtual_time=True) as lab:
        assert "bmc" not in lab.device_endpoints("sf")
        ipmi = ipmi_of(lab, "ftdv")
        assert (ipmi["username"], ipmi["password"]) == ("ADMIN", "ADMIN")
        assert await ipmitool(ipmi, "power", "status") == (0, "Chassis Power is on\n")


async def test_power_status_off_on_cycle_on_an_ftd_appliance(boxes):
    ipmi, ftd = ipmi_of(boxes, "sf3110"), boxes.devices["sf3110"]
    assert await ipmitool(ipmi, "power", "status") == (0, "Chassis Power is on\n")
    assert await ipmitool(ipmi, "power", "off") == (0, "Chassis Power Control: Down/Off\n")
    assert ftd.state == "off"
    assert await ipmitool(ipmi, "power", "status") == (0, "Chassis Power is off\n")
    code, out = await ipmitool(ipmi, "chassis", "status")
    assert code == 0 and out.startswith("System Power         : off\n")
    # A cycle or reset of a box that is off is refused (the box stays off).
    code, out = await ipmitool(ipmi, "power", "cycle")
    assert code != 0 and "Command not supported in present state" in out and ftd.state == "off"
    assert await ipmitool(ipmi, "power", "on") == (0, "Chassis Power Control: Up/On\n")
    assert ftd.state == "boot_os"
    await boxes.clock.run_until(lambda: ftd.state == "online")
    assert await ipmitool(ipmi, "power", "cycle") == (0, "Chassis Power Control: Cycle\n")
    assert ftd.state == "boot_os"
    assert bmc_events(boxes, "sf3110") == [("ipmi", "off"), ("ipmi", "cycle"), ("ipmi", "on"), ("ipmi", "cycle")]
    # No graceful shutdown on an FTD appliance's BMC: the box keeps running.
    code, out = await ipmitool(ipmi, "power", "soft")
    assert code != 0 and "Invalid data field in request" in out and ftd.state != "off"
    assert await ipmitool(ipmi, "chassis", "bootdev", "pxe") == (0, "Set Boot Device to pxe\n")
    code, out = await ipmitool(ipmi, "chassis", "bootparam", "get", "5")
    assert code == 0 and "Force PXE" in out


async def test_power_on_of_a_logical_devices_chassis(boxes):
    ipmi, chassis, ftd = ipmi_of(boxes, "fpr4k-1"), boxes.devices["fpr4k-1"], boxes.devices["ftd-ld"]
    await boxes.clock.run_until(lambda: ftd.state == "online")
    assert await ipmitool(ipmi, "power", "off") == (0, "Chassis Power Control: Down/Off\n")
    assert chassis.state == "off" and ftd.state == "off"
    assert await ipmitool(ipmi, "power", "status") == (0, "Chassis Power is off\n")
    assert await ipmitool(ipmi, "power", "on") == (0, "Chassis Power Control: Up/On\n")
    assert await boxes.clock.run_until(lambda: chassis.state == "online" and ftd.state == "online")


async def test_sol_shows_an_ftd_appliance_boot_and_takes_input(boxes):
    ipmi, ftd = ipmi_of(boxes, "sf3110"), boxes.devices["sf3110"]
    await boxes.clock.run_until(lambda: ftd.state == "online")
    sol = await Sol.open(ipmi)
    await sol.wait_for("[SOL Session operational.")
    await sol.type("\r")
    await sol.wait_for("sf3110 login: ")
    assert await ipmitool(ipmi, "power", "cycle") == (0, "Chassis Power Control: Cycle\n")
    await boxes.clock.run_until(lambda: ftd.state == "online")
    await sol.wait_for("Last reset cause: PowerCycleRequest")
    rebooted = sol.output.index("Last reset cause: PowerCycleRequest")
    await sol.wait_for("sf3110 login: ", after=rebooted)
    assert "Platform FPR3110 with 31815 MBytes of main memory" in sol.output[rebooted:]
    assert "Cisco FTD initialization finished successfully." in sol.output[rebooted:]
    assert "\r\n" in sol.output                              # a serial line's line ends
    assert await sol.close() == 0
    # The payload is free again for the next client.
    again = await Sol.open(ipmi)
    await again.wait_for("[SOL Session operational.")
    assert await again.close() == 0


async def test_sol_and_power_of_an_fxos_chassis(boxes):
    ipmi, chassis = ipmi_of(boxes, "fpr4k-1"), boxes.devices["fpr4k-1"]
    await boxes.clock.run_until(lambda: chassis.state == "online")
    sol = await Sol.open(ipmi)
    await sol.wait_for("[SOL Session operational.")
    assert await ipmitool(ipmi, "power", "cycle") == (0, "Chassis Power Control: Cycle\n")
    await boxes.clock.run_until(lambda: chassis.state == "online")
    await sol.wait_for("FPR4K-1-A login: ")
    assert "Platform FPR-4145-SUP with 8192 Mbytes of main memory" in sol.output
    await sol.close()


async def test_an_sps_node_over_ipmi(tmp_path):
    async with Lab("sps-standalone", state_dir=tmp_path / "s", virtual_time=True) as lab:
        ipmi, sps = ipmi_of(lab, "sps-1"), lab.devices["sps-1"]
        assert await ipmitool(ipmi, "power", "status") == (0, "Chassis Power is on\n")
        # A soft power-off is the node's graceful shutdown: it goes down, then the power is off.
        assert await ipmitool(ipmi, "power", "soft") == (0, "Chassis Power Control: Soft\n")
        assert sps.state == "shutting_down"
        assert await lab.clock.run_until(lambda: sps.state == "off")
        assert await ipmitool(ipmi, "power", "status") == (0, "Chassis Power is off\n")
        assert await ipmitool(ipmi, "power", "on") == (0, "Chassis Power Control: Up/On\n")
        # The node's serial console over LAN shows its boot. (ipmitool's own "[SOL Session
        # operational" line sits in its stdio buffer until the console prints: wait for the attach.)
        sol = await Sol.open(ipmi)
        async with asyncio.timeout(10):
            while not any(e["kind"] == "console.attached" and e["device"] == "sps-1" for e in lab.journal.events):
                await asyncio.sleep(0.02)
        assert await lab.clock.run_until(lambda: sps.state == "online")
        await sol.wait_for("sps-1 login: ")
        assert "One Identity Safeguard for Privileged Sessions" in sol.output
        assert await sol.close() == 0
        assert await ipmitool(ipmi, "power", "off") == (0, "Chassis Power Control: Down/Off\n")
        assert sps.state == "off"
        assert await ipmitool(ipmi, "power", "cycle") == (1, "Set Chassis Power Control to Cycle failed: "
                                                             "Command not supported in present state\n")
        assert bmc_events(lab, "sps-1") == [("ipmi", "soft"), ("ipmi", "on"), ("ipmi", "off"), ("ipmi", "cycle")]


async def test_ipmi_power_off_mid_install_bricks_an_ftd(boxes, packages):
    ipmi, ftd = ipmi_of(boxes, "sf3110"), boxes.devices["sf3110"]
    await boxes.clock.run_until(lambda: ftd.state == "online")
    await upload(ssh_port(boxes, "sf3110"), packages("Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar"))
    ftd.start_upgrade()
    await boxes.clock.advance(400)
    assert ftd.installing
    assert await ipmitool(ipmi, "power", "off") == (0, "Chassis Power Control: Down/Off\n")
    assert await ipmitool(ipmi, "power", "on") == (0, "Chassis Power Control: Up/On\n")
    assert await boxes.clock.run_until(lambda: ftd.state == "unusable")
    assert ftd.job is not None and ftd.job.state == "FAILED"
    power = [e for e in boxes.journal.events if e["kind"] == "power" and e["device"] == "sf3110"]
    assert [e["action"] for e in power] == ["off", "on"]


async def test_a_wrong_password_gets_ipmitools_session_error(boxes):
    ipmi = ipmi_of(boxes, "sf3110")
    assert await ipmitool(ipmi, "power", "status", password="wrong") == (
        1, "Error: Unable to establish IPMI v2 / RMCP+ session\n")
    assert await ipmitool({**ipmi, "username": "nobody"}, "power", "off") == (
        1, "Error: Unable to establish IPMI v2 / RMCP+ session\n")
    assert boxes.devices["sf3110"].state != "off"


def _open_session_request(tag: int) -> bytes:
    """An RMCP+ Open Session Request (a new session on the BMC for each source address)."""
    payload = bytes([tag, 0, 0, 0]) + os.urandom(4) + bytes([0, 0, 0, 8, 1, 0, 0, 0, 1, 0, 0, 8, 1, 0, 0, 0,
                                                             2, 0, 0, 8, 1, 0, 0, 0])
    return b"\x06\x00\xff\x07\x06\x10" + b"\x00" * 8 + struct.pack("<H", len(payload)) + payload


async def test_a_flood_of_garbage_stalls_no_other_device(boxes):
    target, other = ipmi_of(boxes, "sf3110"), ipmi_of(boxes, "fpr4k-1")
    rng = random.Random(5)
    senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(50)]
    stop = asyncio.Event()
    sent = 0

    async def flood() -> None:
        nonlocal sent
        while not stop.is_set():
            for sock in senders:
                kind = rng.random()
                packet = (_open_session_request(rng.randrange(256)) if kind < 0.3
                          else b"\x06\x00\xff\x07" + os.urandom(rng.randrange(0, 200)) if kind < 0.6
                          else os.urandom(rng.randrange(1, 1400)))
                sock.sendto(packet, ("127.0.0.1", target["port"]))
                sent += 1
            await asyncio.sleep(0)

    task = asyncio.get_running_loop().create_task(flood())
    try:
        started = time.monotonic()
        assert await ipmitool(other, "power", "status") == (0, "Chassis Power is on\n")
        assert await ipmitool(other, "chassis", "status")
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        await task
        for sock in senders:
            sock.close()
    print(f"flood: {sent} packets while ipmitool took {elapsed:.2f} s")
    assert sent > 5000 and elapsed < 10
    # pyghmi's session table stays bounded however many addresses opened sessions.
    ours = [a for a, ports in HANDLERS.items() if target["port"] in ports]
    assert 0 < len(ours) <= 32
    assert await ipmitool(target, "power", "status") == (0, "Chassis Power is on\n")
