"""Item 10 of issue 12 (Ctrl-D): at an empty prompt of a nested shell Ctrl-D
does what the real shell does at that level, and only the session's first
shell ends the session with it. bash leaves as `exit` does (root's login
shell says "logout"); Lina (the FTD's diagnostic CLI), the ASA's modes, the
FXOS scopes and `connect` CLIs read it as "delete the character under the
cursor", which at an empty prompt is nothing; the FTD CLI on a module
console goes back to the module."""

from __future__ import annotations

import asyncio

from tests.robustness.terminal_lab import PROMPTS, RawTerminal, lab_with, port_of

CTRL_D = b"\x04"


async def ends(term: RawTerminal) -> None:
    term.send(CTRL_D)
    for _ in range(50):
        if term.ended:
            return
        await term._read(0.1)
    raise AssertionError(f"the session goes on: {term.buffer[-200:]!r}")


async def test_ftd_shells(tmp_path):
    async with lab_with("ftd", tmp_path / "state") as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS["ftd"])
        term.send(b"expert\r")
        await term.until(rb"admin@dut:~\$ $")
        term.send(b"sudo su -\r")
        await term.until(b"Password: ")
        term.send(b"Admin123\r")
        await term.until(rb"root@dut:~# $")
        term.send(CTRL_D)
        assert b"logout\r\nadmin@dut:~$ " in await term.until(rb"admin@dut:~\$ $")
        term.send(CTRL_D)
        await term.until(rb"\r\n> $")                     # back in the CLI, the connection open
        term.send(b"system support diagnostic-cli\r")
        await term.until(rb"dut> $")
        term.send(CTRL_D + b"enable\r\r")
        await term.until(rb"dut# $")
        term.send(CTRL_D + b"show curpriv\r")
        assert b"Current privilege level : 15" in await term.until(rb"dut# $")
        term.send(b"\x01d")
        await term.until(rb"\r\n> $")
        await ends(term)


async def test_asa_modes(tmp_path):
    async with lab_with("asa", tmp_path / "state") as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS["asa"])
        term.send(b"enable\rAdmin123\r")
        await term.until(rb"dut# $")
        term.send(CTRL_D + b"configure terminal\r")
        await term.until(rb"dut\(config\)# $")
        term.send(CTRL_D + b"show curpriv\r")
        assert b"Current privilege level : 15" in await term.until(rb"dut\(config\)# $")
        term.send(b"end\rdisable\r")
        await term.until(rb"dut> $")
        await ends(term)


async def test_fxos_scopes_and_connected_clis(tmp_path):
    async with lab_with("fxos", tmp_path / "state") as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS["fxos"])
        for enter, prompt, leave in ((b"scope system", rb"DUT-A /system # $", b"top"),
                                     (b"connect local-mgmt", rb"DUT-A\(local-mgmt\)# $", b"exit"),
                                     (b"connect fxos", rb"DUT-A\(fxos\)# $", b"exit")):
            term.send(enter + b"\r")
            await term.until(prompt)
            term.send(CTRL_D + b"\r")
            await term.until(prompt)
            term.send(leave + b"\r")
            await term.until(rb"DUT-A# $")
        term.send(b"connect module 1 console\r\r")
        await term.until(rb"Firepower-module1> $")
        term.send(CTRL_D + b"connect ftd\r")
        await term.until(rb"\r\n> $")
        term.send(CTRL_D)                                 # the FTD CLI ends: back on the module
        await term.until(rb"Firepower-module1> $")
        term.send(b"~")
        await term.until(b"telnet> ")
        term.send(b"q\r")
        await term.until(rb"DUT-A# $")
        await ends(term)
        await asyncio.sleep(0)
