"""An FTD's data plane (Lina) as its CLI shows it: the unit the shared views of
kinds/lina print (`FtdUnit`: the interfaces of its model family, addressed as
the default configuration and its HA role give them), and the views whose FTD
layout is its own: the running configuration, `show network`, `show cpu`,
`show memory`, `show conn count` (dataplane.yaml)."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.lina import services, vpn
from simulator.kinds.lina.config import object_lines, policy_lines
from simulator.kinds.lina.network import Interface, mac_of, memory_counts, net_data, stable


@cache
def data() -> dict[str, Any]:
    return read_yaml("dataplane.yaml", __package__)


def _fmt(key: str, **values: Any) -> str:
    return str(data()["templates"][key]).format(**values)


def family(device: FtdDevice) -> dict[str, Any]:
    info = device.info
    name = "chassis" if info.logical_device else "virtual" if device.model == "FTDv" else "appliance"
    return data()["families"][name]


class FtdUnit:
    """The `Unit` of kinds/lina for an FTD: outside and inside carry the active or
    the standby address of its HA pair (a standalone unit the active ones); the
    failover link, on a pair, its own."""

    def __init__(self, device: FtdDevice) -> None:
        self.device = device
        self.serial = device.serial
        self.model = device.model

    def uptime(self) -> float:
        return self.device.ctx.clock.now() - self.device.booted_at

    def _mine(self) -> int:
        """0: the active addresses, 1: the standby ones."""
        pair = self.device.ha
        if pair is None or pair.broken:
            return 0
        return 0 if pair.unit_state.get(self.device.name) == "Active" else 1

    def interfaces(self) -> list[Interface]:
        fam, d = family(self.device), data()
        pair = self.device.ha if self.device.ha is not None and not self.device.ha.broken else None
        names: dict[str, str] = dict(zip(fam["data"], d["named"]))
        if pair is not None:
            names[fam["data"][len(d["named"])]] = d["failover_link"]
        levels = net_data()["security_levels"]
        out = []
        for number, hw in enumerate(fam["data"]):
            iface = Interface(hw, "", None, None, 0, mac_of(self, hw), number + 3, False)
            nameif = names.get(hw, "")
            if nameif == d["failover_link"]:
                mine = 0 if pair is not None and self.device is pair.primary else 1
                iface.nameif, iface.ip, iface.mask = nameif, d["addresses"][nameif][mine], d["failover_mask"]
                iface.up = True
            elif nameif:
                ip = d["addresses"][nameif]
                iface.nameif, iface.ip, iface.mask, iface.up = nameif, ip[self._mine()], net_data()["mask"], True
                iface.level = levels[nameif]
                iface.standby = ip[1 - self._mine()] if pair is not None else None
            out.append(iface)
        out.append(Interface(fam["diagnostic"], "diagnostic", None, None, 0, mac_of(self, fam["diagnostic"]),
                             len(out) + 3, True))
        if fam["management"]:
            out.append(Interface(fam["management"], "", None, None, 0, mac_of(self, fam["management"]), 2, True))
        return out


# -- the FTD's own views --------------------------------------------------------------------------
def _checksum(body: str) -> str:
    return hashlib.md5(body.encode()).hexdigest()


def running_config(device: FtdDevice) -> str:
    """`show running-config`: the Lina configuration an FTD prints (ASA syntax, `NGFW Version`)."""
    d, unit = data(), FtdUnit(device)
    lines = [_fmt("config_top", saved=": Saved", serial=device.serial, hardware=device.info.asa_hardware,
                  version=device.ver.numbers, hostname=device.hostname)]
    lines += [*d["config_head"], *object_lines(), "no mac-address auto", ""]
    for iface in unit.interfaces():
        lines.append(f"interface {iface.name}")
        if not iface.nameif:       # a spare data port (shut), or the management port Linux owns
            lines += [" shutdown" if not iface.up else " management-only", " no nameif", " no security-level",
                      " no ip address"]
        elif iface.nameif == "diagnostic":
            lines += [" management-only", " nameif diagnostic", " security-level 0", " no ip address"]
        else:
            standby = f" standby {iface.standby}" if iface.standby else ""
            lines += [f" nameif {iface.nameif}", f" security-level {iface.level}",
                      f" ip address {iface.ip} {iface.mask}{standby}"]
        lines.append("!")
    lines += [*d["config_tail"], *policy_lines(unit), *vpn.config_lines(), *services.config_lines()]
    body = "\n".join(lines)
    return body + "\n" + _fmt("config_end", checksum=_checksum(body))


def _ram_bytes(device: FtdDevice) -> int:
    found = re.search(r"(\d+) MB RAM", device.info.asa_hardware)
    return int(found.group(1) if found else 8192) * 1024 * 1024


def show_memory(device: FtdDevice) -> str:
    mem = data()["memory"]
    return memory_counts(FtdUnit(device), int(_ram_bytes(device) * mem["lina_share"]), mem["used"])


def show_cpu(device: FtdDevice) -> str:
    unit = FtdUnit(device)
    low, high = data()["cpu_percent"]

    def load(window: str) -> int:
        return round(low + (high - low) * (stable(unit, f"cpu{window}") - 0.8) / 0.4)
    return _fmt("cpu", s5=load("5s"), m1=load("1m"), m5=load("5m"))


def show_conn_count(device: FtdDevice) -> str:
    """The `Conns` row of `show resource usage` (kinds/lina), so the two agree."""
    conns = next(r for r in net_data()["resources"] if r[0] == "Conns")
    return _fmt("conn_count", current=conns[1], peak=conns[2])


def show_network(device: FtdDevice) -> str:
    """FTD CLISH `show network`: the management interface Linux owns."""
    fam, mgmt = family(device), data()["management"]
    dns = ("\n" + " " * 28).join(mgmt["dns"])
    tail = mac_of(FtdUnit(device), fam["linux_management"]).replace(".", "")[6:].upper()
    return "\n".join([
        _fmt("network_system", hostname=device.hostname, dns=dns, port=mgmt["port"], gateway=mgmt["gateway"]), "",
        _fmt("network_interface", header=f"[ {fam['linux_management']} ]".center(52, "="),
             mac=":".join([fam["oui"], *(tail[i:i + 2] for i in range(0, 6, 2))]), address=mgmt["address"],
             netmask=mgmt["netmask"], gateway=mgmt["gateway"]), "",
        _fmt("network_proxy")])
