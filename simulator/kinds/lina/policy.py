"""The Lina data plane's policy in the ASA's words: names, network objects, NAT
and xlates, access lists, ASP drop counters and resource usage, from the
defaults of network.yaml; counters grow with the unit's uptime. Like
network.py it needs only a `Unit`."""

from __future__ import annotations

import hashlib
from typing import Any

from simulator.kinds.lina.network import Unit, fmt, net_data, stable


def _hours(unit: Unit) -> float:
    return unit.uptime() / 3600


def _hex(*parts: Any) -> str:
    return hashlib.md5(":".join(map(str, parts)).encode()).hexdigest()[:8]


def show_name(_: Unit) -> str:
    return "\n".join(f"name {n['address']} {n['name']}" for n in net_data()["names"])


def config_lines() -> list[str]:
    """What these defaults add to the running configuration (after `names`, before the interfaces)."""
    data = net_data()
    lines = [f"name {n['address']} {n['name']}" for n in data["names"]]
    for obj in data["objects"]:
        lines += [f"object network {obj['name']}",
                  f" host {obj['host']}" if "host" in obj else f" subnet {obj['subnet']}"]
    for name, acl in data["access_lists"].items():
        lines += [f"access-list {name} extended {r['action']} {r['rule']}" + (" log" if r.get("log") else "")
                  for r in acl["rules"]]
    return lines


def policy_lines() -> list[str]:
    """NAT, access groups and routes of the running configuration (after the MTUs)."""
    data = net_data()
    lines = []
    for rule in data["nat"]:
        if rule["section"] == 1:
            lines.append(f"nat ({rule['from']},{rule['to']}) source {rule['type']} {rule['real']} {rule['mapped']}")
        else:
            lines += [f"object network {rule['real']}",
                      f" nat ({rule['from']},{rule['to']}) {rule['type']} {rule['mapped']}"]
    lines += [f"access-group {name} {acl['group']['direction']} interface {acl['group']['interface']}"
              for name, acl in data["access_lists"].items()]
    lines += [f"route {r['interface']} {r['network']} {r['mask']} {r['gateway']} {r['distance']}"
              for r in data["routes"]]
    return lines


def show_running_object_network() -> str:
    return "\n".join(line for line in config_lines() if line.startswith(("object network", " host", " subnet")))


def show_running_access_group() -> str:
    return "\n".join(line for line in policy_lines() if line.startswith("access-group"))


def show_nat(unit: Unit) -> str:
    lines, section = [], 0
    for rule in net_data()["nat"]:
        if rule["section"] != section:
            section, line = rule["section"], 0
            lines.append(fmt("nat_section", kind="Manual" if section == 1 else "Auto", section=section))
        line += 1
        factor = stable(unit, rule["real"])
        lines.append(fmt("nat_rule", line=line, src=rule["from"], dst=rule["to"], type=rule["type"],
                         real=rule["real"], mapped=rule["mapped"], hits=int(rule["hits"] * _hours(unit) * factor),
                         unhits=int(rule["unhits"] * _hours(unit) * factor)))
    return "\n".join(lines)


def show_xlate(unit: Unit) -> str:
    xlates = net_data()["xlates"]
    idle = int(unit.uptime()) % 3600
    rows = [fmt("xlate_head", count=len(xlates), most=len(xlates) + 2)]
    rows += [fmt("xlate_row", src=x["from"], real=x["real"], dst=x["to"], mapped=x["mapped"], flags=x["flags"],
                 idle=f"{idle // 3600}:{idle // 60 % 60:02d}:{idle % 60:02d}") for x in xlates]
    return "\n".join(rows)


def _acl_hits(unit: Unit, name: str, line: int, rule: dict[str, Any]) -> int:
    return int(rule["hits"] * _hours(unit) * stable(unit, f"{name}:{line}"))


def show_access_list(unit: Unit) -> str:
    lines = [fmt("acl_head")]
    for name, acl in net_data()["access_lists"].items():
        rules = acl["rules"]
        lines.append(fmt("acl_list", name=name, count=len(rules), hash=_hex(name)))
        for n, rule in enumerate(rules, 1):
            lines.append(fmt("acl_rule", name=name, line=n, action=rule["action"],
                             rule=rule.get("shown", rule["rule"]), log=" log informational interval 300"
                             if rule.get("log") else "", hits=_acl_hits(unit, name, n, rule),
                             hash=_hex(name, n)))
    return "\n".join(lines)


def show_access_list_brief(unit: Unit, now: float) -> str:
    """Per rule with hits: rule hash, parent hash (0 for a plain rule), hit count and last hit (hex)."""
    lines = []
    for name, acl in net_data()["access_lists"].items():
        rules = acl["rules"]
        lines.append(fmt("acl_list", name=name, count=len(rules), hash=_hex(name)))
        for n, rule in enumerate(rules, 1):
            hits = _acl_hits(unit, name, n, rule)
            if hits:
                lines.append(f"{_hex(name, n)} 00000000 {hits:08x} {int(now):08x}")
    return "\n".join(lines)


def show_asp_drop(unit: Unit) -> str:
    lines = []
    for head, key in (("asp_frame_head", "asp_frame"), ("asp_flow_head", "asp_flow")):
        rows = [(text, name, int(rate * _hours(unit) * stable(unit, name))) for text, name, rate in net_data()[key]]
        lines.append(fmt(head))
        lines += [fmt("asp_row", text=f"{text} ({name})", count=count) for text, name, count in rows if count]
        lines += ["", fmt("asp_tail"), ""]
    return "\n".join(lines).rstrip("\n")


def show_resource_usage(unit: Unit) -> str:
    lines = [fmt("resource_head")]
    for name, current, peak, limit in net_data()["resources"]:
        lines.append(fmt("resource_row", name=name, current=current, peak=peak, limit=limit, denied=0))
    return "\n".join(lines)
