"""The Lina data plane's dynamic routing in the ASA's words: OSPF neighbours
and interfaces, the BGP summary, the routes they add to `show route`, and the
`router` lines of the running configuration, from the defaults of
routing.yaml. Adjacencies come up at fixed seconds after boot; ages, dead
timers and message counters follow the unit's uptime. Like network.py it
needs only a `Unit`."""

from __future__ import annotations

import ipaddress
from functools import cache
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.lina.network import Interface, Unit


@cache
def routing_data() -> dict[str, Any]:
    return read_yaml("routing.yaml", __package__)


def _iface(unit: Unit, nameif: str) -> Interface | None:
    return next((i for i in unit.interfaces() if i.nameif == nameif and i.ip and i.up), None)


def age(seconds: float) -> str:
    """A route's or a session's age as IOS prints it: `0:12:34`, `4d06h`, `7w0d`."""
    secs = int(max(0, seconds))
    days, rest = divmod(secs, 86400)
    if days >= 7:
        return f"{days // 7}w{days % 7}d"
    if days:
        return f"{days}d{rest // 3600:02d}h"
    return f"{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"


def _ospf_up(unit: Unit) -> float | None:
    """Seconds the adjacencies have been FULL; None before, or with the OSPF interface down."""
    ospf = routing_data()["ospf"]
    up = unit.uptime() - ospf["up_at"]
    return up if up >= 0 and _iface(unit, ospf["interface"]) else None


def _bgp_up(unit: Unit, neighbor: dict[str, Any]) -> float | None:
    if neighbor["up_at"] is None or not _iface(unit, routing_data()["bgp"]["interface"]):
        return None
    up = unit.uptime() - neighbor["up_at"]
    return up if up >= 0 else None


# -- configuration ----------------------------------------------------------------------------------
def config_lines(unit: Unit) -> list[str]:
    """`router ospf` and `router bgp` (before the static routes)."""
    ospf, bgp = routing_data()["ospf"], routing_data()["bgp"]
    lines = [f"router ospf {ospf['process']}"]
    iface = _iface(unit, ospf["interface"])
    if iface and iface.mask:
        net = ipaddress.IPv4Network(f"{iface.ip}/{iface.mask}", strict=False)
        lines.append(f" network {net.network_address} {net.netmask} area {ospf['area']}")
    lines += [" log-adj-changes", "!", f"router bgp {bgp['as']}", " bgp log-neighbor-changes",
              " bgp router-id " + _router_id(unit), " address-family ipv4 unicast"]
    for n in bgp["neighbors"]:
        lines += [f"  neighbor {n['address']} remote-as {n['as']}", f"  neighbor {n['address']} activate"]
    lines += ["  no auto-summary", "  no synchronization", " exit-address-family", "!"]
    return lines


def _router_id(unit: Unit) -> str:
    iface = _iface(unit, routing_data()["bgp"]["interface"])
    return iface.ip if iface and iface.ip else "0.0.0.0"


# -- OSPF -------------------------------------------------------------------------------------------------
def show_ospf_neighbor(unit: Unit) -> str:
    ospf = routing_data()["ospf"]
    rows = ["", "Neighbor ID     Pri   State           Dead Time   Address         Interface"]
    up = _ospf_up(unit)
    if up is not None:
        dead = ospf["dead"] - int(up) % ospf["hello"]
        rows += [f"{n['id']:<15} {n['priority']:>4}   {'FULL/' + n['role']:<15} 0:00:{dead:02d}    "
                 f"{n['address']:<15} {ospf['interface']}" for n in ospf["neighbors"]]
    return "\n".join(rows)


def show_ospf_interface_brief(unit: Unit) -> str:
    ospf = routing_data()["ospf"]
    rows = ["Interface    PID   Area            IP Address/Mask    Cost  State Nbrs F/C"]
    iface = _iface(unit, ospf["interface"])
    if iface:
        count = len(ospf["neighbors"]) if _ospf_up(unit) is not None else 0
        state = "DROTH" if count else "WAIT"
        rows.append(f"{iface.nameif:<12} {ospf['process']:<5} {ospf['area']:<15} {iface.ip}/{iface.mask}    "
                    f"{ospf['cost']:>4}   {state} {count}/{count}")
    return "\n".join(rows)


# -- BGP ----------------------------------------------------------------------------------------------------
def show_bgp_summary(unit: Unit) -> str:
    bgp = routing_data()["bgp"]
    per_net, per_path, per_attr, per_as = bgp["memory"]
    ups = [(n, _bgp_up(unit, n)) for n in bgp["neighbors"]]
    routes = sum(len(n["routes"]) for n, up in ups if up is not None)
    version = routes + 1
    attrs = sum(1 for n, up in ups if up is not None and n["routes"])
    total = routes * (per_net + per_path) + attrs * (per_attr + per_as)
    lines = [f"BGP router identifier {_router_id(unit)}, local AS number {bgp['as']}",
             f"BGP table version is {version}, main routing table version {version}",
             f"{routes} network entries using {routes * per_net} bytes of memory",
             f"{routes} path entries using {routes * per_path} bytes of memory",
             f"{attrs}/{attrs} BGP path/bestpath attribute entries using {attrs * per_attr} bytes of memory",
             f"{attrs} BGP AS-PATH entries using {attrs * per_as} bytes of memory",
             "0 BGP route-map cache entries using 0 bytes of memory",
             "0 BGP filter-list cache entries using 0 bytes of memory",
             f"BGP using {total} total bytes of memory",
             f"BGP activity {routes}/0 prefixes, {routes}/0 paths, scan interval 60 secs", "",
             "Neighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd"]
    for n, up in ups:
        if up is None:
            lines.append(f"{n['address']:<15} 4 {n['as']:>12} {0:<7} {0:<7} {0:>8} {0:>4} {0:>4} never    Idle")
            continue
        keepalives = int(up // bgp["keepalive"])
        lines.append(f"{n['address']:<15} 4 {n['as']:>12} {keepalives + 3:<7} {keepalives + 4:<7} {version:>8} "
                     f"{0:>4} {0:>4} {age(up):<8} {len(n['routes'])}")
    return "\n".join(lines)


# -- routing table ---------------------------------------------------------------------------------------
def route_lines(unit: Unit) -> list[str]:
    """The OSPF and BGP routes of `show route`."""
    ospf, bgp = routing_data()["ospf"], routing_data()["bgp"]
    lines = []
    up = _ospf_up(unit)
    if up is not None:
        lines += [f"{r['code']:<9}{r['network']} {r['mask']} [110/{r['cost']}] via {r['via']}, {age(up)}, "
                  f"{ospf['interface']}" for r in ospf["routes"]]
    for n in bgp["neighbors"]:
        since = _bgp_up(unit, n)
        if since is not None:
            lines += [f"B        {net} {mask} [20/0] via {n['address']}, {age(since)}" for net, mask in n["routes"]]
    return lines


def show_route(unit: Unit, table: str) -> str:
    """network.show_route's table with the dynamic routes after the static ones."""
    lines = table.split("\n")
    at = next((i for i, line in enumerate(lines) if line.startswith(("C ", "L "))), len(lines))
    return "\n".join(lines[:at] + route_lines(unit) + lines[at:])
