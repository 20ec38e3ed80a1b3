"""Every ntc-templates `cisco_asa` template and every genie `asa` parser against
the simulated ASA: a command matching each, run over SSH (netmiko, privilege
15) on the active unit of a failover pair, must parse to at least one row with
its key fields filled. Commands the simulator deliberately lacks are listed
with the reason (docs/fidelity/asa-cli.md, "Parsers"); the coverage is
parsed / (all - absent) and must stay 100%."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import ntc_templates
import pytest
from netmiko import ConnectHandler
from ntc_templates.parse import parse_output

from tests.interop.test_asa_clients import Background
from tests.kinds.asa.test_asa import PASSWORD

pytestmark = pytest.mark.clients

# template -> (the command line the check runs, the key fields each row must have non-empty)
NTC: dict[str, tuple[str, tuple[str, ...]]] = {
    "cisco_asa_dir.textfsm": ("dir disk0:", ("name",)),
    "cisco_asa_ping.textfsm": ("ping 192.168.1.20", ("success_pct", "response_stream")),
    "cisco_asa_show_access-list.textfsm": ("show access-list", ("acl_name", "line_num", "action")),
    "cisco_asa_show_access-list_brief.textfsm": ("show access-list brief", ("acl_name", "line_hash", "counter")),
    "cisco_asa_show_arp.textfsm": ("show arp", ("interface", "ip_address", "mac_address")),
    "cisco_asa_show_asp_drop.textfsm": ("show asp drop", ("last_cleared",)),
    "cisco_asa_show_cpu_usage_detailed.textfsm": ("show cpu usage detailed", ("core", "cpu_5_sec")),
    "cisco_asa_show_failover.textfsm": ("show failover", ("role", "sw_version")),
    "cisco_asa_show_interface.textfsm": ("show interface", ("interface", "link_status", "mac_address")),
    "cisco_asa_show_interface_detail.textfsm": ("show interface detail", ("interface", "link_status")),
    "cisco_asa_show_interface_ip_brief.textfsm": ("show interface ip brief", ("interface", "ip_address", "status")),
    "cisco_asa_show_inventory.textfsm": ("show inventory", ("name", "pid", "sn")),
    "cisco_asa_show_license_all.textfsm": ("show license all", ("smart_status", "registration_status")),
    "cisco_asa_show_logging.textfsm": ("show logging", ("facility", "severity", "mnemonic", "message")),
    "cisco_asa_show_module.textfsm:cisco_asa_show_module_details.textfsm:cisco_asa_show_module_status.textfsm":
        ("show module", ("module",)),
    "cisco_asa_show_name.textfsm": ("show name", ("ip_address", "name")),
    "cisco_asa_show_nat.textfsm": ("show nat", ("line_number", "source_interface", "translate_hits")),
    "cisco_asa_show_resource_usage.textfsm": ("show resource usage", ("resource", "current", "context")),
    "cisco_asa_show_route.textfsm": ("show route", ("protocol", "network", "nexthopif")),
    "cisco_asa_show_running-config_access-group.textfsm": ("show running-config access-group",
                                                           ("access_list", "interface")),
    "cisco_asa_show_running-config_object_network.textfsm": ("show running-config object network", ("name",)),
    "cisco_asa_show_version.textfsm": ("show version", ("version", "hostname")),
    "cisco_asa_show_xlate.textfsm": ("show xlate", ("source_intf", "destination_intf")),
    "cisco_asa_show_running-config_object-group_service.textfsm": ("show running-config object-group service",
                                                                   ("name", "svc_protocol")),
    "cisco_asa_show_object-group_network.textfsm": ("show object-group network", ("name", "type")),
    "cisco_asa_show_running-config_object_service.textfsm": ("show running-config object service",
                                                             ("name", "protocol", "dst_port_start")),
    "cisco_asa_show_running-config_all_crypto_map.textfsm": ("show running-config all crypto map",
                                                             ("map", "seq", "peer")),
    "cisco_asa_show_running-config_crypto_map.textfsm": ("show running-config crypto map", ("map", "seq", "peer")),
    "cisco_asa_show_running-config_crypto_ikev1.textfsm": ("show running-config crypto ikev1",
                                                           ("policy_id", "encryption", "auth_algorithm")),
    "cisco_asa_show_running-config_ipsec.textfsm": ("show running-config ipsec", ("name",)),
    "cisco_asa_show_running-config_tunnel-group.textfsm": ("show running-config tunnel-group", ("name", "type")),
    "cisco_asa_show_crypto_ikev1_sa_detail.textfsm": ("show crypto ikev1 sa detail", ("peer", "state")),
    "cisco_asa_show_crypto_ipsec_sa.textfsm": ("show crypto ipsec sa", ("interface", "current_peer")),
    "cisco_asa_show_asp_table_vpn-context_detail.textfsm": ("show asp table vpn-context detail",
                                                            ("peer_ip", "spi")),
    "cisco_asa_show_vpn-sessiondb.textfsm": ("show vpn-sessiondb", ("vpn_session_name", "device_total_vpn_capacity")),
    "cisco_asa_show_vpn-sessiondb_anyconnect.textfsm": ("show vpn-sessiondb anyconnect",
                                                        ("username", "assigned_ip", "public_ip", "bytes_tx")),
    "cisco_asa_show_vpn-sessiondb_detail_l2l.textfsm": ("show vpn-sessiondb detail l2l",
                                                        ("connection", "protocol", "encryption_method")),
    "cisco_asa_show_ospf_interface_brief.textfsm": ("show ospf interface brief", ("interface", "area", "state")),
    "cisco_asa_show_ospf_neighbor.textfsm": ("show ospf neighbor", ("neighbor_id", "state", "interface")),
    "cisco_asa_show_bgp_summary.textfsm": ("show bgp summary", ("bgp_neigh", "neigh_as", "state_pfxrcd")),
}

# Templates of commands the simulated ASA does not have, and why.
NTC_ABSENT: dict[str, str] = {
    "cisco_asa_show_port-channel_summary.textfsm": "the ASAv has no EtherChannel (a hardware feature)",
}

# genie asa parser command -> the command line the check runs
GENIE: dict[str, str] = {
    "show arp": "show arp",
    "show asp drop": "show asp drop",
    "show crypto ikev2 sa": "show crypto ikev2 sa",
    "show failover": "show failover",
    "show failover interface": "show failover interface",
    "show interface summary": "show interface summary",
    "show interface ip brief": "show interface ip brief",
    "show interface detail": "show interface detail",
    "show inventory": "show inventory",
    "show ip local pool {pool}": "show ip local pool VPN-POOL",
    "show nameif": "show nameif",
    "show resource usage": "show resource usage",
    "show route": "show route",
    "show service-policy": "show service-policy",
    "show traffic": "show traffic",
    "show version": "show version",
    "show vpn load-balancing": "show vpn load-balancing",
    "show vpn-sessiondb {summary}": "show vpn-sessiondb summary",
    "show vpn-sessiondb": "show vpn-sessiondb",
    "show vpn-sessiondb anyconnect": "show vpn-sessiondb anyconnect",
    "show vpn-sessiondb anyconnect {sort} inactivity": "show vpn-sessiondb anyconnect sort inactivity",
}
GENIE_ABSENT: dict[str, str] = {
    "show context": "single-context mode only",
    "show context detail": "single-context mode only",
    "show vpn-sessiondb webvpn": "9.17 removed clientless SSL VPN, so this 9.19 lab has no session to parse; "
                                 "a 9.16 unit's parses (tests/kinds/asa/test_vpn_routing.py)",
}


def _ntc_templates() -> list[tuple[str, str]]:
    """(template file(s), command regex) of every cisco_asa line of ntc's index."""
    index = Path(os.path.dirname(ntc_templates.__file__)) / "templates" / "index"
    found = []
    for line in index.read_text().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4 and re.fullmatch(r"cisco_\(?(asa)", parts[2].split("|")[0]):
            found.append((parts[0], parts[3]))
    return found


def _genie_commands() -> set[str]:
    """The `cli_command`s of genie's asa parsers."""
    import genie.libs.parser.asa as asa
    commands: set[str] = set()
    for path in Path(asa.__file__).parent.glob("show_*.py"):
        for match in re.finditer(r"cli_command\s*=\s*(\[[^\]]*\]|'[^']*'|\"[^\"]*\")", path.read_text()):
            commands |= {a or b for a, b in re.findall(r"'([^']*)'|\"([^\"]*)\"", match.group(1))}
    return commands


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, str]:
    """Each command of the tables run once over SSH on the active unit."""
    bg = Background(tmp_path_factory.mktemp("parsers"))
    try:
        bg.call(bg.rig.clock.advance(3 * 3600))     # a unit with some uptime: counters, logs
        conn = ConnectHandler(device_type="cisco_asa", host="127.0.0.1", port=bg.port("asa-a"),
                              username="admin", password=PASSWORD, secret=PASSWORD)
        try:
            commands = {c for c, _ in NTC.values()} | set(GENIE.values())
            return {c: conn.send_command(c, read_timeout=30) for c in sorted(commands)}
        finally:
            conn.disconnect()
    finally:
        bg.close()


def _template_matches(regex: str, command: str) -> bool:
    """ntc's index regex: `sh[[ow]]` means sh, sho or show."""
    def expand(m: re.Match[str]) -> str:
        return "".join(f"(?:{c}" for c in m.group(1)) + ")?" * len(m.group(1))
    return re.match(re.sub(r"\[\[([^\]]+)\]\]", expand, regex), command) is not None


def test_ntc_templates_cisco_asa_coverage(outputs):
    templates = _ntc_templates()
    names = {t for t, _ in templates}
    assert len(names) == 41 and set(NTC) | set(NTC_ABSENT) == names and not set(NTC) & set(NTC_ABSENT)
    failed = []
    for template, regex in templates:
        if template in NTC_ABSENT:
            continue
        command, keys = NTC[template]
        assert _template_matches(regex, command), (template, command)
        try:
            rows = parse_output(platform="cisco_asa", command=command, data=outputs[command])
        except Exception as error:      # a template that errors on our text: a failure to report
            failed.append(f"{command}: {error}")
            continue
        if not any(all(row.get(k) for k in keys) for row in rows):
            failed.append(f"{command}: {rows[:2]}")
    parsed = len(names) - len(NTC_ABSENT) - len(failed)
    print(f"ntc-templates cisco_asa: {parsed}/{len(names) - len(NTC_ABSENT)} parsed "
          f"({len(NTC_ABSENT)} of {len(names)} deliberately absent)")
    assert not failed, "\n".join(failed)


def _genie_parse(command: str, output: str) -> dict[str, Any]:
    from genie.conf.base import Device
    device = Device("fw", os="asa")
    device.custom.setdefault("abstraction", {})["order"] = ["os"]
    return dict(device.parse(command, output=output))


def test_genie_asa_coverage(outputs):
    commands = _genie_commands()
    assert set(GENIE) | set(GENIE_ABSENT) == commands and not set(GENIE) & set(GENIE_ABSENT)
    failed = []
    for command, line in GENIE.items():
        try:
            parsed = _genie_parse(line, outputs[line])
        except Exception as error:
            failed.append(f"{command}: {type(error).__name__}: {error}")
            continue
        if not parsed:
            failed.append(f"{command}: empty")
    print(f"genie asa: {len(GENIE) - len(failed)}/{len(GENIE)} parsed "
          f"({len(GENIE_ABSENT)} of {len(commands)} deliberately absent)")
    assert not failed, "\n".join(failed)
