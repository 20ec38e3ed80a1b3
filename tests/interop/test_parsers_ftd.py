"""Every ntc-templates template for `cisco_ftd` against the simulated FTD: a
command matching each, run over SSH with netmiko's `cisco_ftd` on the FTD CLI
(`> `), must parse to at least one row with its key fields filled. The FTD's
Lina prints the ASA's layouts, so the `cisco_asa` templates and genie `asa`
parsers of the commands the FTD shares are run too, on the CLI and on the
diagnostic CLI (`host#`). genie has no `ftd` or `fxos` parsers; the test says
so, and fails the day it gets some. Commands absent on purpose, or pending
another part of the simulator, are listed with the reason (docs/fidelity/ftd-cli.md §8)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx
import ntc_templates
import pytest
from netmiko import ConnectHandler
from ntc_templates.parse import parse_output

from tests.conftest import end_lab, start_lab
from tests.interop.test_parsers_asa import _genie_parse, _template_matches

pytestmark = pytest.mark.clients

# template -> (the command line the check runs, the key fields each row must have non-empty)
NTC: dict[str, tuple[str, tuple[str, ...]]] = {
    "cisco_asa_show_arp.textfsm": ("show arp", ("interface", "ip_address", "mac_address", "age")),
    "cisco_asa_ping.textfsm": ("ping 192.168.1.20", ("success_pct", "response_stream", "rtt_avg")),
    "cisco_ftd_show_vpn-sessiondb_anyconnect.textfsm": (
        "show vpn-sessiondb anyconnect", ("username", "index", "assigned_ip", "public_ip", "tunnel_zone")),
}

# cisco_asa templates of commands the FTD CLI and its diagnostic CLI share with the ASA
# (the FTD prints Lina's layout): template -> (command, key fields).
ASA_SHARED: dict[str, tuple[str, tuple[str, ...]]] = {
    "cisco_asa_show_access-list.textfsm": ("show access-list", ("acl_name", "line_num", "action")),
    "cisco_asa_show_asp_drop.textfsm": ("show asp drop", ("last_cleared",)),
    "cisco_asa_show_interface.textfsm": ("show interface", ("interface", "link_status", "mac_address")),
    "cisco_asa_show_interface_detail.textfsm": ("show interface detail", ("interface", "link_status")),
    "cisco_asa_show_interface_ip_brief.textfsm": ("show interface ip brief", ("interface", "ip_address", "status")),
    "cisco_asa_show_nat.textfsm": ("show nat", ("line_number", "source_interface", "translate_hits")),
    "cisco_asa_show_resource_usage.textfsm": ("show resource usage", ("resource", "current", "context")),
    "cisco_asa_show_route.textfsm": ("show route", ("protocol", "network", "nexthopif")),
    "cisco_asa_show_running-config_access-group.textfsm": ("show running-config access-group",
                                                           ("access_list", "interface")),
    "cisco_asa_show_running-config_object_network.textfsm": ("show running-config object network", ("name",)),
    "cisco_asa_show_xlate.textfsm": ("show xlate", ("source_intf", "destination_intf")),
    "cisco_asa_show_crypto_ikev1_sa_detail.textfsm": ("show crypto ikev1 sa detail", ("peer", "state")),
    "cisco_asa_show_crypto_ipsec_sa.textfsm": ("show crypto ipsec sa", ("interface", "current_peer")),
    "cisco_asa_show_vpn-sessiondb.textfsm": ("show vpn-sessiondb", ("vpn_session_name", "device_total_vpn_capacity")),
    "cisco_asa_show_vpn-sessiondb_detail_l2l.textfsm": ("show vpn-sessiondb detail l2l",
                                                        ("connection", "protocol", "encryption_method")),
    "cisco_asa_show_ospf_interface_brief.textfsm": ("show ospf interface brief", ("interface", "area", "state")),
    "cisco_asa_show_ospf_neighbor.textfsm": ("show ospf neighbor", ("neighbor_id", "state", "interface")),
    "cisco_asa_show_bgp_summary.textfsm": ("show bgp summary", ("bgp_neigh", "neigh_as", "state_pfxrcd")),
}
# genie asa parsers of commands the FTD shares: parser command -> command line
GENIE_SHARED: dict[str, str] = {
    "show arp": "show arp",
    "show asp drop": "show asp drop",
    "show interface detail": "show interface detail",
    "show interface ip brief": "show interface ip brief",
    "show interface summary": "show interface summary",
    "show nameif": "show nameif",
    "show resource usage": "show resource usage",
    "show route": "show route",
    "show crypto ikev2 sa": "show crypto ikev2 sa",
    "show service-policy": "show service-policy",
    "show vpn-sessiondb {summary}": "show vpn-sessiondb summary",
}


def _ntc_templates(platform: str) -> list[tuple[str, str]]:
    """(template, command regex) of every line of ntc's index whose platform pattern takes `platform`."""
    index = Path(os.path.dirname(ntc_templates.__file__)) / "templates" / "index"
    found = []
    for line in index.read_text().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4 and not line.startswith("#") and re.fullmatch(parts[2], platform):
            found.append((parts[0], parts[3]))
    return found


def genie_os_folders() -> set[str]:
    """genie's parser folders for the Firepower operating systems (none today)."""
    import genie.libs.parser as parsers
    return {p.name for p in Path(parsers.__file__).parent.iterdir() if p.is_dir() and p.name in ("fxos", "ftd")}


def _diag(conn: Any, command: str) -> str:
    return conn.send_command(command, expect_string=r"ftd-1#", read_timeout=30)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, dict[str, str]]:
    """Each command run once on the FTD CLI and once in the diagnostic CLI (privileged)."""
    endpoints, proc = start_lab("ftd-standalone", tmp_path_factory.mktemp("ftd-parsers"))
    try:
        # a unit with some uptime: counters, remote-access sessions logged in
        httpx.post(endpoints["control"]["url"] + "/api/clock/advance", json={"seconds": 3 * 3600}).raise_for_status()
        ssh = endpoints["devices"][0]["ssh"]
        conn = ConnectHandler(device_type="cisco_ftd", host=ssh["host"], port=ssh["port"],
                              username=ssh["username"], password=ssh["password"])
        try:
            commands = sorted({c for c, _ in [*NTC.values(), *ASA_SHARED.values()]} | set(GENIE_SHARED.values()))
            cli = {c: conn.send_command(c, read_timeout=30) for c in commands}
            # netmiko's enable() waits for a prompt an FTD never prints (test_lab_clients.py): by hand
            conn.send_command("system support diagnostic-cli", expect_string=r"ftd-1>")
            conn.send_command("enable", expect_string=r"Password:")
            conn.send_command("", expect_string=r"ftd-1#")
            conn.set_base_prompt()      # what enable() does last: the `ftd-1#` line is then stripped
            diag = {c: _diag(conn, c) for c in commands}
        finally:
            conn.disconnect()
    finally:
        end_lab(proc)
    return {"cli": cli, "diag": diag}


def _parse_failures(platform: str, table: dict[str, tuple[str, tuple[str, ...]]], out: dict[str, str]) -> list[str]:
    failed = []
    for template, (command, keys) in table.items():
        try:
            rows = parse_output(platform=platform, command=command, data=out[command])
        except Exception as error:      # a template that errors on our text: a failure to report
            failed.append(f"{template}: {error}")
            continue
        if not any(all(row.get(k) for k in keys) for row in rows):
            failed.append(f"{template}: {rows[:2]}")
    return failed


def test_ntc_templates_cisco_ftd_coverage(outputs):
    templates = _ntc_templates("cisco_ftd")
    names = {t for t, _ in templates}
    assert len(names) == 3 and set(NTC) == names
    for template, regex in templates:
        if template in NTC:
            assert _template_matches(regex, NTC[template][0]), template
    failed = _parse_failures("cisco_ftd", NTC, outputs["cli"])
    print(f"ntc-templates cisco_ftd: {len(NTC) - len(failed)}/{len(NTC)} parsed on the FTD CLI")
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("cli", ["cli", "diag"])
def test_cisco_asa_templates_of_shared_commands(outputs, cli):
    """The FTD's Lina output in the ASA's layout, on both CLIs (no prompt or FTD
    header line in the way)."""
    asa = {t for t, _ in _ntc_templates("cisco_asa")}
    assert set(ASA_SHARED) <= asa
    # the cisco_ftd index reuses cisco_asa templates (arp, ping); its own (vpn-sessiondb) reads the FTD's Tunnel Zone
    reused = {t: v for t, v in NTC.items() if t.startswith("cisco_asa_")}
    failed = _parse_failures("cisco_asa", {**ASA_SHARED, **reused}, outputs[cli])
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("cli", ["cli", "diag"])
def test_genie_asa_parsers_of_shared_commands(outputs, cli):
    assert not genie_os_folders(), "genie has Firepower parsers now: add them to this check"
    failed = []
    for command, line in GENIE_SHARED.items():
        try:
            if not _genie_parse(command, outputs[cli][line]):
                failed.append(f"{command}: empty")
        except Exception as error:
            failed.append(f"{command}: {type(error).__name__}: {error}")
    assert not failed, "\n".join(failed)


def test_parsed_fields_are_the_units_own(outputs):
    """The rows carry the FTD's state: its neighbours on its named interfaces, the ping it ran."""
    arp = parse_output(platform="cisco_ftd", command="show arp", data=outputs["cli"]["show arp"])
    assert {(r["interface"], r["ip_address"]) for r in arp} >= {("outside", "203.0.113.254"),
                                                                ("inside", "192.168.1.254")}
    ping = parse_output(platform="cisco_ftd", command="ping", data=outputs["cli"]["ping 192.168.1.20"])
    assert ping[0]["destination"] == "192.168.1.20" and ping[0]["success_pct"] == "100"
    brief = parse_output(platform="cisco_asa", command="show interface ip brief",
                         data=outputs["diag"]["show interface ip brief"])
    assert {r["interface"]: r["ip_address"] for r in brief}["GigabitEthernet0/0"] == "203.0.113.1"
