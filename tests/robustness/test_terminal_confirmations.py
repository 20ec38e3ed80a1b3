"""Ctrl-C at a confirmation aborts it on every kind, as on the real boxes:
the shell prints ^C, gives its prompt back, and nothing happens (issue 13;
the ASA's line reader used to take Ctrl-C as Enter and confirm the reload)."""

from __future__ import annotations

import pytest

from tests.robustness.terminal_lab import PROMPTS, RawTerminal, lab_with, port_of

CTRL_C = b"\x03"

# kind: (commands before, the command, its question, the prompt after)
CASES = {
    "ftd reboot": ("ftd", [], b"reboot", rb"Please enter 'YES' or 'NO': $", rb"\n> $"),
    "asa reload": ("asa", [(b"enable", rb"Password: $"), (b"Admin123", rb"dut# $")], b"reload",
                   rb"Proceed with reload\? \[confirm\]$", rb"dut# $"),
    "asa write erase": ("asa", [(b"enable", rb"Password: $"), (b"Admin123", rb"dut# $")], b"write erase",
                        rb"Erase configuration in flash memory\? \[confirm\]$", rb"dut# $"),
    "fxos chassis reboot": ("fxos", [(b"scope chassis 1", rb"/chassis # $")], b"reboot",
                            rb"\(yes/no\):\s*$", rb"/chassis # $"),
    "fxos local-mgmt reboot": ("fxos", [(b"connect local-mgmt", rb"\(local-mgmt\)# $")], b"reboot",
                               rb"\(yes/no\):\s*$", rb"\(local-mgmt\)# $"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_ctrl_c_at_a_confirmation_aborts_it(tmp_path, case):
    kind, before, command, question, after = CASES[case]
    async with lab_with(kind, tmp_path / "state") as lab:
        device = lab.device("dut")
        term = await RawTerminal.open(port_of(lab), PROMPTS[kind])
        for line, prompt in before:
            term.send(line + b"\r")
            await term.until(prompt)
        state, config = device.state, device.snapshot()
        term.send(command + b"\r")
        await term.until(question)
        term.send(CTRL_C)
        assert b"^C" in await term.until(after)
        await lab.clock.advance(600)
        await lab.settle()
        assert device.state == state and device.snapshot() == config
        term.send(b"\r")                            # the session goes on at the same level
        await term.until(after)
        await term.close()
