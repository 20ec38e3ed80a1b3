"""An ASA unit as the data-plane views see it (its interfaces from the running
configuration and failover role), and its platform views: inventory, modules,
Smart Licensing, CPU, memory and the failover interface (platform.yaml)."""

from __future__ import annotations

import hashlib
import re
import time
from functools import cache
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.asa.facts import asa_data
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.lina.network import Interface, mac_of, memory_counts, net_data, stable


@cache
def platform_data() -> dict[str, Any]:
    return read_yaml("platform.yaml", __package__)


class AsaUnit:
    """The `Unit` of lina.network for an ASA: a data interface carries the active or the
    standby address of the pair, the failover link its own."""

    def __init__(self, device: AsaDevice) -> None:
        self.device = device
        self.serial = device.serial
        self.model = device.model

    def uptime(self) -> float:
        return self.device.ctx.clock.now() - self.device.booted_at

    def _active(self) -> bool:
        pair = self.device.ha
        return pair is None or pair.is_active(self.device)

    def interfaces(self) -> list[Interface]:
        info, running = self.device.info, self.device.running
        named = {hw: name for name, hw in info.data_interfaces.items()}
        fo = running.get("failover")
        addresses, levels = asa_data().failover.addresses, net_data()["security_levels"]
        out = []
        for number, hw in enumerate(info.interfaces):
            iface = Interface(hw, "", None, None, 0, mac_of(self, hw), number + 3, hw.startswith("Internal"))
            if hw in named:
                ip = getattr(addresses, named[hw])
                mine = 0 if self._active() else 1
                iface.nameif, iface.ip, iface.mask, iface.up = named[hw], ip[mine], net_data()["mask"], True
                iface.level, iface.standby = levels[named[hw]], ip[1 - mine] if fo else None
            elif fo and hw == fo["lan_interface"]:
                mine = 0 if fo["unit"] == "primary" else 2
                iface.nameif, iface.ip, iface.mask, iface.up = fo["lan_name"], fo["ip"][mine], fo["ip"][1], True
            out.append(iface)
        return out


def _serial(device: AsaDevice, item: str) -> str:
    return device.serial if item == "Chassis" else device.info.serial_prefix + \
        hashlib.sha1(f"{device.serial}:{item}".encode()).hexdigest()[:8].upper()


def show_inventory(device: AsaDevice) -> str:
    items = platform_data()["inventory"][device.model]
    rows = [platform_data()["inventory_row"].format(
        name=i["name"], descr=i["descr"], pid=i["pid"].format(model_id=device.info.model_id), vid=i["vid"],
        sn=_serial(device, i["name"])) for i in items]
    return "\n\n".join(rows)


def show_module(device: AsaDevice) -> str:
    chassis = platform_data()["inventory"][device.model][0]
    unit = AsaUnit(device)
    macs = [i.mac for i in unit.interfaces()]
    return platform_data()["module"].format(
        card=chassis["descr"][:44], model=chassis["pid"].format(model_id=device.info.model_id),
        serial=device.serial, mac_first=min(macs), mac_last=max(macs), hw=device.info.hw_rev or "N/A",
        fw="N/A", version=device.version)


def _day(device: AsaDevice, days: float) -> str:
    return time.strftime("%b %d %Y %H:%M:%S UTC", time.gmtime(device.booted_at + days * 86400))


def show_license_all(device: AsaDevice) -> str:
    smart = platform_data()["smart"]
    entitlement = smart["entitlements"].get(device.model, smart["entitlements"]["default"])
    dates = {key: _day(device, smart[key]) for key in
             ("registered", "renewal_next", "expires", "authorized", "communication_next", "deadline")}
    return platform_data()["license_all"].format(
        account=smart["account"], virtual_account=smart["virtual_account"], agent=smart["agent"],
        udi_pid=device.info.slot_model, serial=device.serial, **entitlement, **dates).rstrip("\n")


def _cores(device: AsaDevice) -> int:
    found = re.search(r"\((\d+) cores\)", device.info.hardware)
    return int(found.group(1)) if found else 1


def show_cpu_usage_detailed(device: AsaDevice) -> str:
    """Per core loads fixed per unit and core; the control point runs on core 0."""
    cpu, unit = platform_data()["cpu"], AsaUnit(device)
    lines, totals = [platform_data()["cpu_head"]], []
    low, high = cpu["data_path"]
    for core in range(_cores(device)):
        cells = []
        for window in ("5s", "1m", "5m"):
            dp = low + (high - low) * (stable(unit, f"dp{core}{window}") - 0.8) / 0.4
            cp = cpu["control_point"][1] * stable(unit, f"cp{window}") / 1.2 if core == 0 else 0.0
            cells.append(f"{dp + cp:.1f} ({dp:.1f} + {cp:4.1f})")
            totals.append(dp + cp)
        lines.append(f"Core {core:<7} " + "  ".join(f"{c:<18}" for c in cells).rstrip())
    n = _cores(device)
    avg = [sum(totals[w::3]) / n for w in range(3)]
    return lines[0] + "\n" + "\n".join(lines[1:]) + "\n" + platform_data()["cpu_tail"].format(
        cp5=avg[0] * 2, cp1=avg[1] * 2, cp5m=avg[2] * 2, t5=avg[0], t1=avg[1], t5m=avg[2])


def show_memory(device: AsaDevice) -> str:
    """`show memory`: the RAM of the hardware line, a share of it in use fixed per unit."""
    data, unit = platform_data(), AsaUnit(device)
    found = re.search(r"(\d+) MB RAM", device.info.hardware)
    ram_mb = int(found.group(1)) if found else 0
    parts = [memory_counts(unit, ram_mb * 1024 * 1024, data["memory"]["used"])]
    allowed = data["memory"]["virtual_allowed_mb"].get(device.info.model_id)
    if allowed:
        parts.append(data["memory_virtual"].format(provisioned=ram_mb, allowed=allowed))
    return "\n\n".join(parts + [data["memory_note"]])


def show_failover_interface(device: AsaDevice) -> str:
    """`show failover interface` (genie ShowFailoverInterface): the failover link's addresses."""
    fo = device.running.get("failover")
    if not fo:
        return ""
    mine, other = (0, 2) if fo["unit"] == "primary" else (2, 0)
    return net_data()["templates"]["failover_interface"].format(
        name=fo["lan_name"], interface=fo["lan_interface"], ip=fo["ip"][0], mask=fo["ip"][1],
        mine=fo["ip"][mine], other=fo["ip"][other])
