"""Every ntc-templates template for `cisco_fxos` against a simulated FXOS
chassis (run by `simulator up` as a user runs it): a command matching each,
run over SSH, must parse to rows whose fields are the chassis' own state.
genie has no `fxos` parsers (test_parsers_ftd.py checks that it stays so).
Commands absent on purpose are listed with the reason (docs/fidelity/fxos.md)."""

from __future__ import annotations

import paramiko
import pytest
from ntc_templates.parse import parse_output

from tests.conftest import end_lab, start_lab
from tests.interop.test_parsers_asa import _template_matches
from tests.interop.test_parsers_ftd import _ntc_templates

pytestmark = pytest.mark.clients

# template -> the command line the check runs
NTC: dict[str, str] = {
    "cisco_fxos_show_system_firmware.textfsm": "show system firmware",
}
NTC_ABSENT: dict[str, str] = {}


def _exec(ssh: dict, command: str) -> str:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(ssh["host"], port=ssh["port"], username=ssh["username"], password=ssh["password"],
                   look_for_keys=False, allow_agent=False)
    try:
        _, stdout, _ = client.exec_command(command, timeout=30)
        return stdout.read().decode().replace("\r\n", "\n")
    finally:
        client.close()


@pytest.fixture(scope="module")
def chassis(tmp_path_factory) -> tuple[dict, dict[str, str]]:
    """The chassis' endpoints entry and each command's output."""
    endpoints, proc = start_lab("fxos-4100-standalone", tmp_path_factory.mktemp("fxos-parsers"))
    try:
        device = next(d for d in endpoints["devices"] if d["kind"] == "fxos")
        return device, {c: _exec(device["ssh"], c) for c in NTC.values()}
    finally:
        end_lab(proc)


def test_ntc_templates_cisco_fxos_coverage(chassis):
    device, outputs = chassis
    templates = _ntc_templates("cisco_fxos")
    names = {t for t, _ in templates}
    assert len(names) == 1 and set(NTC) | set(NTC_ABSENT) == names
    failed = []
    for template, regex in templates:
        command = NTC[template]
        assert _template_matches(regex, command), template
        rows = parse_output(platform="cisco_fxos", command=command, data=outputs[command])
        if rows != [{"version": device["version"], "startup_version": device["version"]}]:
            failed.append(f"{command}: {rows}")
    print(f"ntc-templates cisco_fxos: {len(NTC) - len(failed)}/{len(NTC)} parsed")
    assert not failed, "\n".join(failed)
