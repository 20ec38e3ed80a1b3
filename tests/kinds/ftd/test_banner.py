"""What an FTD prints on the way in, over SSH (issue 13): the login banner names
the FX-OS build the release runs on, not the FTD's own build, with the
release's copyright year; `expert` prints the shell-deprecation notice."""

from __future__ import annotations

import pytest

from tests.robustness.terminal_lab import PROMPTS, RawTerminal, lab_with, port_of

NOTICE = ("**************************************************************\n"
          "NOTICE - Shell access will be deprecated in future releases\n"
          "         and will be replaced with a separate expert mode CLI.\n"
          "**************************************************************\n")


async def banner_of(tmp_path, **dut) -> str:
    async with lab_with("ftd", tmp_path / "state", **dut) as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS["ftd"])
        await term.close()
    return term.greeting.decode().replace("\r\n", "\n")


@pytest.mark.parametrize(("dut", "os_line", "model_line", "year"), [
    # a public FTDv 7.4.1-172 SSH banner, verbatim
    ({}, "Cisco Firepower Extensible Operating System (FX-OS) v2.14.1 (build 131)",
     "Cisco Firepower Threat Defense for VMware v7.4.1 (build 172)", "2023"),
    ({"model": "SF-3120", "version": "7.6.0-113"}, "Cisco Firepower Extensible Operating System (FX-OS) v2.16.0 "
     "(build 128)", "Cisco Secure Firewall 3120 Threat Defense v7.6.0 (build 113)", "2024"),
    # a patch runs on its release's OS
    ({"model": "FPR-1120", "version": "7.4.1.1-12"}, "Cisco Firepower Extensible Operating System (FX-OS) v2.14.1 "
     "(build 131)", "Cisco Firepower 1120 Threat Defense v7.4.1.1 (build 12)", "2023"),
])
async def test_banner_names_the_os_build(tmp_path, dut, os_line, model_line, year):
    seen = await banner_of(tmp_path, **dut)
    assert f"Copyright 2004-{year}, Cisco and/or its affiliates. All rights reserved.\n" in seen
    assert f"\n\n{os_line}\n{model_line}\n\n> " in seen


async def test_expert_prints_the_deprecation_notice(tmp_path):
    async with lab_with("ftd", tmp_path / "state") as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS["ftd"])
        term.send(b"expert\r")
        out = (await term.until(rb"\$ $")).decode().replace("\r\n", "\n")
        assert out.endswith(f"expert\n{NOTICE}admin@dut:~$ ")
        term.send(b"exit\r")
        await term.until(PROMPTS["ftd"])
        await term.close()
