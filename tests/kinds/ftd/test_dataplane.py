"""The FTD's data plane as its users see it over SSH: the CLI's and the
diagnostic CLI's Lina views of the unit (addresses by model family and HA
role), `show network`, the running configuration, and the diagnostic CLI's
configuration mode. Labs on virtual time."""

from __future__ import annotations

import re

import pytest

from simulator.lab import Lab
from tests.conftest import connect, open_terminal, ssh_port
from tests.kinds.ftd.test_ha import run_until

DIAG = r"ftd-1(\(config\))?[>#] $"


async def run(port: int, command: str) -> str:
    async with await connect(port) as conn:
        return (await conn.run(command)).stdout.replace("\r\n", "\n")


async def test_cli_prints_the_units_data_plane(lab):
    port = ssh_port(lab)
    brief = await run(port, "show interface ip brief")
    assert re.search(r"^GigabitEthernet0/0\s+203\.0\.113\.1\s+YES CONFIG up\s+up$", brief, re.M)
    assert re.search(r"^Diagnostic0/0\s+unassigned\s+YES unset\s+up\s+up$", brief, re.M)
    assert "C        192.168.1.0 255.255.255.0 is directly connected, inside" in await run(port, "show route")
    assert "outside 203.0.113.254 " in await run(port, "show arp")
    assert "Success rate is 100 percent (5/5)" in await run(port, "ping 192.168.1.20")
    assert "Success rate is 0 percent (0/5)" in await run(port, "ping 10.99.0.1")
    assert re.fullmatch(r"\d+ in use, \d+ most used\n", await run(port, "show conn count"))
    assert re.fullmatch(r"CPU utilization for 5 seconds = \d+%; 1 minute: \d+%; 5 minutes: \d+%\n",
                        await run(port, "show cpu usage"))
    memory = (await run(port, "show memory")).splitlines()
    assert memory[0].startswith("Free memory:") and memory[-1].endswith("bytes (100%)")
    assert "access-list outside_access_in line 1 extended permit icmp any any echo-reply" \
        in await run(port, "show access-list")


async def test_show_network_is_the_management_interface(lab):
    out = await run(ssh_port(lab), "show network")
    lines = out.splitlines()
    assert lines[0] == "===============[ System Information ]==============="
    assert "Hostname                  : ftd-1" in lines and "Management port           : 8305" in lines
    header = next(line for line in lines if "[ br1 ]" in line)      # FTDv: the br1 bridge
    assert len(header) == 52
    assert re.search(r"^MAC Address               : 00:50:56(:[0-9A-F]{2}){3}$", out, re.M)


async def test_running_config_follows_the_device(lab):
    port = ssh_port(lab)
    await run(port, "configure network hostname edge-fw")
    config = await run(port, "show running-config")
    assert config.startswith(": Saved\n") and config.rstrip().endswith(": end")
    assert "NGFW Version 7.4.1 \n!\nhostname edge-fw\n" in config
    assert "interface GigabitEthernet0/1\n nameif inside\n security-level 100\n ip address 192.168.1.1 " \
        "255.255.255.0\n!" in config
    assert "route outside 0.0.0.0 0.0.0.0 203.0.113.254 1" in config


async def test_a_hardware_model_has_its_own_interfaces(tmp_path):
    profile = {"lab": "hw", "devices": [{"name": "fpr", "model": "FPR-2110", "version": "7.2.5-208"}]}
    async with Lab(profile, state_dir=tmp_path / "state", virtual_time=True, seed=3) as lab:
        port = ssh_port(lab, "fpr")
        brief = await run(port, "show interface ip brief")
        assert re.search(r"^Ethernet1/1\s+203\.0\.113\.1 ", brief, re.M) and "Management1/1" in brief
        assert "==================[ management0 ]===================" in await run(port, "show network")


async def test_ha_units_hold_the_active_and_standby_addresses(tmp_path):
    async with Lab("ftd-ha", state_dir=tmp_path / "state", virtual_time=True, seed=5) as lab:
        pair = lab.pairs["ftd-ha"]
        await run_until(lab, lambda: pair.active is not None and "Standby Ready" in pair.unit_state.values())
        standby = next(name for name in pair.unit_state if name != pair.active)
        active_brief = await run(ssh_port(lab, pair.active), "show interface ip brief")
        standby_brief = await run(ssh_port(lab, standby), "show interface ip brief")
        assert re.search(r"^GigabitEthernet0/0\s+203\.0\.113\.1 ", active_brief, re.M)
        assert re.search(r"^GigabitEthernet0/0\s+203\.0\.113\.2 ", standby_brief, re.M)
        assert re.search(r"^GigabitEthernet0/2\s+10\.255\.255\.\d ", standby_brief, re.M)
        config = await run(ssh_port(lab, pair.active), "show running-config")
        assert " ip address 203.0.113.1 255.255.255.0 standby 203.0.113.2" in config


async def test_diagnostic_cli_configuration_mode(lab):
    term = await open_terminal(ssh_port(lab))
    await term.cmd("system support diagnostic-cli", prompt=DIAG)
    out = await term.cmd("configure terminal", prompt=DIAG)
    assert "ERROR: % Invalid input detected at '^' marker." in out and out.endswith("ftd-1> ")
    term.proc.stdin.write("enable\r")
    await term.read_until("Password: ")
    await term.cmd("", prompt=DIAG)
    assert (await term.cmd("conf t", prompt=DIAG)).endswith("\nftd-1(config)# ")
    assert "38 in use" in await term.cmd("show conn count", prompt=DIAG)
    assert (await term.cmd("exit", prompt=DIAG)).endswith("\nftd-1# ")
    await term.cmd("configure terminal", prompt=DIAG)
    assert (await term.cmd("end", prompt=DIAG)).endswith("\nftd-1# ")
    assert "NGFW Version 7.4.1" in await term.cmd("show running-config", prompt=DIAG)
    await term.cmd("configure terminal", prompt=DIAG)
    term.proc.stdin.write("\x01d")                       # Ctrl-a d leaves from any mode
    assert "Console connection detached." in await term.read_until(r"\n> $")
    await term.close()


@pytest.mark.parametrize("command", ["show network", "show running-config", "show memory"])
async def test_filters_apply_to_the_new_views(lab, command):
    out = await run(ssh_port(lab), f"{command} | include e")
    assert out and all("e" in line for line in out.splitlines())
