"""The Lina data plane in the ASA's words: interfaces, routes, ARP, ping, NAT,
access lists and ASP drops, from a unit's interfaces and the defaults of
network.yaml. It needs only a `Unit` (what an ASA, or an FTD's diagnostic CLI,
knows of itself), so another kind can print the same views."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from simulator.facts import read_yaml


@cache
def net_data() -> dict[str, Any]:
    return read_yaml("network.yaml", __package__)


def fmt(key: str, **values: Any) -> str:
    return str(net_data()["templates"][key]).format(**values)


@dataclass
class Interface:
    name: str                   # hardware name: GigabitEthernet0/0
    nameif: str                 # "" when the interface has none
    ip: str | None
    mask: str | None
    level: int
    mac: str
    number: int                 # the control point's interface number
    up: bool
    standby: str | None = None  # the mate's address, on failover pairs


class Unit(Protocol):
    """What the views need of a device."""

    serial: str
    model: str

    def interfaces(self) -> list[Interface]: ...

    def uptime(self) -> float: ...


def stable(unit: Unit, key: str) -> float:
    """A factor in [0.8, 1.2) fixed per unit and key (counters differ between units, not between runs)."""
    digest = hashlib.sha1(f"{unit.serial}:{key}".encode()).digest()
    return 0.8 + (int.from_bytes(digest[:4], "big") % 4000) / 10000


def mac_of(unit: Unit, key: str) -> str:
    digest = hashlib.sha1(f"{unit.serial}:{key}".encode()).hexdigest()
    return f"{digest[0:4]}.{digest[4:8]}.{digest[8:12]}"


def _up(iface: Interface) -> tuple[str, str]:
    return ("up", "up") if iface.up else ("administratively down", "down")


# -- interfaces ------------------------------------------------------------------------------------
def interface_ip_brief(unit: Unit) -> str:
    rows = [fmt("brief_head")]
    for i in unit.interfaces():
        status, proto = _up(i)
        rows.append(fmt("brief_row", name=i.name, ip=i.ip or "unassigned", method="CONFIG" if i.ip else "unset",
                        status=status, proto=proto).rstrip())
    return "\n".join(rows)


def nameif(unit: Unit) -> str:
    rows = [fmt("nameif_head")]
    rows += [fmt("nameif_row", name=i.name, nameif=i.nameif, level=i.level) for i in unit.interfaces() if i.nameif]
    return "\n".join(rows)


def counters(unit: Unit, iface: Interface) -> dict[str, int]:
    """Packets and bytes since boot: the nameif's rates x uptime x the unit's factor."""
    traffic = net_data()["traffic"].get(iface.nameif if iface.nameif in net_data()["traffic"] else "", None)
    if not iface.up or not iface.nameif:
        return {"pkts_in": 0, "bytes_in": 0, "pkts_out": 0, "bytes_out": 0, "bcast": 0, "dropped": 0,
                "pps_in": 0, "pps_out": 0, "bps_in": 0, "bps_out": 0}
    traffic = traffic or net_data()["traffic"]["failover"]
    factor, up = stable(unit, iface.name), unit.uptime()
    pps_in, pps_out = int(traffic["pps_in"] * factor), int(traffic["pps_out"] * factor)
    size = traffic["size"]
    return {"pkts_in": int(pps_in * up), "bytes_in": int(pps_in * up * size), "pkts_out": int(pps_out * up),
            "bytes_out": int(pps_out * up * size), "bcast": int(up / 30), "dropped": int(up / 600),
            "pps_in": pps_in, "pps_out": pps_out, "bps_in": pps_in * size, "bps_out": pps_out * size}


def _address(iface: Interface) -> str:
    return f"{iface.ip}, subnet mask {iface.mask}" if iface.ip else "unassigned"


def _interface_block(unit: Unit, iface: Interface, nic: str, detail: bool) -> list[str]:
    status, proto = _up(iface)
    values = counters(unit, iface)
    lines = [fmt("interface_head", name=iface.name, nameif=iface.nameif, status=status, proto=proto, nic=nic),
             fmt("interface_addr", mac=iface.mac, mtu=1500 if iface.nameif else "not set", ip=_address(iface)),
             fmt("interface_counters", **values)]
    if iface.nameif:
        lines.append(fmt("interface_traffic", nameif=iface.nameif, **values))
    if detail:
        lines.append(fmt("interface_detail", number=iface.number,
                         config="active" if iface.nameif else "not active"))
    return lines


def show_interface(unit: Unit, detail: bool = False) -> str:
    nic = net_data()["nic"].get(unit.model, "i82540EM rev03")
    lines: list[str] = []
    for iface in unit.interfaces():
        lines += _interface_block(unit, iface, nic, detail)
    return "\n".join(lines)


def interface_summary(unit: Unit) -> str:
    lines = []
    for i in unit.interfaces():
        status, proto = _up(i)
        lines.append(fmt("summary_head", name=i.name, nameif=i.nameif, status=status, proto=proto))
        lines.append(fmt("summary_body", mac=i.mac, mtu=1500 if i.nameif else "not set", ip=_address(i)))
    return "\n".join(lines)


def memory_counts(unit: Unit, total: int, used: tuple[float, float]) -> str:
    """`show memory`'s byte counts: a share of `total` in use within `used`, fixed per unit."""
    low, high = used
    in_use = int(total * (low + (high - low) * (stable(unit, "memory") - 0.8) / 0.4))
    used_pct = round(100 * in_use / total) if total else 0
    return fmt("memory_counts", free=total - in_use, free_pct=100 - used_pct, used=in_use, used_pct=used_pct,
               total=total)


# -- routing ------------------------------------------------------------------------------------------
def _connected(unit: Unit) -> list[tuple[Interface, ipaddress.IPv4Network]]:
    return [(i, ipaddress.IPv4Network(f"{i.ip}/{i.mask}", strict=False))
            for i in unit.interfaces() if i.ip and i.mask and i.up]


def show_route(unit: Unit) -> str:
    routes = net_data()["routes"]
    default = next((r for r in routes if r["network"] == "0.0.0.0"), None)
    gateway = (f"Gateway of last resort is {default['gateway']} to network 0.0.0.0" if default
               else "Gateway of last resort is not set")
    lines = [fmt("route_head"), gateway, ""]
    for r in routes:
        lines.append(fmt("route_static", star="*" if r is default else "", **r))
    for iface, net in _connected(unit):
        lines.append(fmt("route_connected", code="C", network=net.network_address, mask=net.netmask,
                         interface=iface.nameif))
        lines.append(fmt("route_connected", code="L", network=iface.ip, mask="255.255.255.255",
                         interface=iface.nameif))
    return "\n".join(lines) + "\n"


def show_arp(unit: Unit) -> str:
    data = net_data()
    named = {iface.nameif for iface, _net in _connected(unit)}
    rows = [fmt("arp_row", interface=n["interface"], address=n["address"], mac=mac_of(unit, n["address"]),
                 age=int(unit.uptime() + n["offset"]) % data["arp_timeout"])
            for n in data["arp"] if n["interface"] in named]
    return "\n".join(rows)


def reachable(unit: Unit, target: str) -> bool:
    """A unit's own address, a host on a connected subnet or, through the default route, anywhere
    outside the private ranges; a private address no route covers is not."""
    address = ipaddress.IPv4Address(target)
    if any(address in net for _iface, net in _connected(unit)):
        return True
    for r in net_data()["routes"]:
        if r["network"] != "0.0.0.0" and address in ipaddress.IPv4Network(f"{r['network']}/{r['mask']}"):
            return True
    has_default = any(r["network"] == "0.0.0.0" for r in net_data()["routes"])
    return has_default and not (address.is_private or address.is_reserved or address.is_loopback)


def ping(unit: Unit, target: str) -> str:
    try:
        ipaddress.IPv4Address(target)
    except ValueError:
        return fmt("ping_unresolved")
    p = net_data()["ping"]
    head = fmt("ping_head", count=p["count"], size=p["size"], target=target, timeout=p["timeout"])
    if reachable(unit, target):
        return "\n".join([head, "!" * p["count"], fmt("ping_ok", count=p["count"], rtt="/".join(map(str, p["rtt"])))])
    return "\n".join([head, "." * p["count"], fmt("ping_fail", count=p["count"])])
