"""`show version` per licensing model, over SSH (issue 13): an ASAv is licensed by
Smart Licensing and prints its license state and entitlement where a physical ASA
prints perpetual features and its activation key; both parse with ntc-templates
and genie into the fields a real unit gives."""

from __future__ import annotations

from unittest import mock

import asyncssh
import pytest
from ntc_templates.parse import parse_output

from tests.conftest import Terminal
from tests.kinds.asa.test_asa import PASSWORD


async def show_version(rig, unit) -> str:
    conn = await asyncssh.connect("127.0.0.1", rig.port(unit), username="admin", password=PASSWORD,
                                  known_hosts=None)
    term = Terminal(conn, await conn.create_process(term_type="vt100"))
    try:
        await term.read_until(r"fw> $")
        await term.cmd("terminal pager 0", r"fw> $")
        out = await term.cmd("show version", r"fw> $")
    finally:
        await term.close()
    return "\n".join(out.split("\n")[1:-1])      # between the echo and the prompt


async def test_asav_prints_smart_licensing(rig):
    r = await rig()
    out = await show_version(r, r.a)
    lines = out.split("\n")
    smart = lines.index("License mode: Smart Licensing")
    assert lines[smart + 1:smart + 4] == ["ASAv Platform License State: Licensed",
                                          "Active entitlement: ASAv-STD-2G, enforce mode: Authorized",
                                          "Firewall throughput limited to 2 Gbps"]
    assert "Licensed features for this platform:" in lines
    assert "Failover                          : Active/Standby" in lines
    for physical in ("perpetual", "Running Permanent Activation Key", "Configuration register", "This platform has"):
        assert physical not in out
    assert lines[-4:-1] == ["Image type          : Release", "Key version         : A", ""]
    assert f"Serial Number: {r.a.serial}" in lines
    ntc = parse_output(platform="cisco_asa", command="show version", data=out)[0]
    assert (ntc["license_mode"], ntc["license_state"], ntc["model"]) == ("Smart Licensing", "Licensed", "ASAv30")
    assert ntc["serial"] == [r.a.serial] and ntc["flash"] == "8192MB"
    genie = pytest.importorskip("genie.libs.parser.asa.show_version")
    parsed = genie.ShowVersion(device=mock.Mock()).parse(output=out)["version"]
    assert parsed["license_mode"] == "Smart Licensing" and parsed["license_state"] == "Licensed"
    assert parsed["entitlement"] == "ASAv-STD-2G, enforce mode: Authorized" and parsed["key_version"] == "A"
    assert parsed["licensed_features"]["failover"] == {"status": "Active/Standby"}


async def test_a_physical_asa_keeps_its_activation_key(rig):
    r = await rig(model="ASA5516-X", version="9.16(4)")
    out = await show_version(r, r.a)
    assert "Maximum Physical Interfaces       : Unlimited      perpetual" in out
    assert "Running Permanent Activation Key: 0x" in out and "This platform has an ASA5516 Security Plus license." in out
    assert "License mode" not in out
    assert parse_output(platform="cisco_asa", command="show version", data=out)[0]["license_mode"] == ""
