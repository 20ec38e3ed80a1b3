"""What the ASA prints: `show` outputs, prompts, the login banner and the
configuration as text, from the templates of cli.yaml and the model's state."""

from __future__ import annotations

import hashlib
import time
from functools import cache
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.asa.facts import asa_data
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.asa.status import AsaUnit
from simulator.kinds.asa.versions import AsaVersion
from simulator.kinds.lina import services, vpn
from simulator.kinds.lina.config import object_lines, policy_lines


@cache
def cli_data() -> dict[str, Any]:
    return read_yaml("kinds/asa/cli.yaml")


def text(key: str, **values: Any) -> str:
    """A template of cli.yaml, filled in."""
    return str(cli_data()["templates"][key]).format(**values)


# -- time formats ------------------------------------------------------------------------------
def _tm(t: float) -> time.struct_time:
    return time.gmtime(t)


def stamp_short(t: float) -> str:
    """`19:14:57 UTC Oct 17 2018` (failover times, last login)."""
    tm = _tm(t)
    return f"{time.strftime('%H:%M:%S', tm)} UTC {time.strftime('%b', tm)} {tm.tm_mday} {tm.tm_year}"


def stamp_clock(t: float) -> str:
    """`15:29:49.359 UTC Mon Feb 12 2024` (`show clock`, configuration last modified)."""
    tm = _tm(t)
    ms = int((t % 1) * 1000)
    return (f"{time.strftime('%H:%M:%S', tm)}.{ms:03d} UTC {time.strftime('%a %b', tm)} {tm.tm_mday} "
            f"{tm.tm_year}")


def stamp_dir(t: float) -> str:
    """`06:43:00 Jun 30 2018` (`dir`)."""
    return time.strftime("%H:%M:%S %b %d %Y", _tm(t))


def uptime(seconds: float) -> str:
    secs = int(max(0, seconds))
    days, rest = divmod(secs, 86400)
    hours, rest = divmod(rest, 3600)
    mins, secs = divmod(rest, 60)
    years, days = divmod(days, 365)
    plural = lambda n, word: f"{n} {word}{'s' if n != 1 else ''}"  # noqa: E731
    if years:
        return f"{plural(years, 'year')} {plural(days, 'day')}"
    if days:
        return f"{plural(days, 'day')} {plural(hours, 'hour')}"
    if hours:
        return f"{plural(hours, 'hour')} {plural(mins, 'min')}"
    return f"{plural(mins, 'min')} {plural(secs, 'sec')}"


# -- views -------------------------------------------------------------------------------------
def prompt_base(device: AsaDevice) -> str:
    """The prompt without its mode suffix: `host`, or `host/pri/act` with `prompt hostname priority state`."""
    parts = device.running.get("prompt") or ["hostname"]
    pair = device.ha
    out = []
    for part in parts:
        if part == "hostname":
            out.append(device.hostname)
        elif part == "domain" and device.running.get("domain"):
            out.append(device.running["domain"])
        elif part == "priority":
            role = (device.running.get("failover") or {}).get("unit", "primary")
            out.append("pri" if role == "primary" else "sec")
        elif part == "state":
            if pair is None:
                out.append("actNoFailover")
            else:
                out.append("act" if pair.is_active(device) else "stby")
    return "/".join(out) or device.hostname


def banner(device: AsaDevice, user: str, peer: str, count: int, failed: int,
           previous: tuple[float, str] | None) -> str:
    last = f"  Last login: {stamp_short(previous[0])} from {previous[1]}" if previous else ""
    return text("banner", user=user, hostname=device.hostname, logins=count, last=last, failed=failed)


def mac_address(device: AsaDevice, index: int) -> str:
    """The MAC address of interface `index` (stable per unit)."""
    digest = hashlib.sha1(f"{device.serial}:{index}".encode()).hexdigest()
    return f"{digest[0:4]}.{digest[4:8]}.{digest[8:12]}"


def compiled(version: AsaVersion) -> str:
    """When a release was built (`Compiled on ...`)."""
    data = asa_data()
    return data.compiled.get(version.train, data.compiled["default"])


def compiled_year(version: AsaVersion) -> str:
    """The year of the build (`Mon 01-Jan-24 00:00 GMT` -> 2024), for its copyright line."""
    return "20" + compiled(version).split()[1].split("-")[2]


def show_version(device: AsaDevice) -> str:
    info, ver = device.info, device.ver
    out = text("show_version_head", version=device.version)
    if info.ssp:
        out += f"SSP Operating System Version {info.ssp}\n"
    now = device.ctx.clock.now()
    out += text("show_version_body", asdm=device.asdm_version,
                compiled=compiled(ver), image=device.image,
                hostname=device.hostname, uptime=uptime(now - device.booted_at))
    pair = device.ha
    if pair is not None:
        since = min(u.booted_at for u in pair.units.values())
        out += f"failover cluster up {uptime(now - since)}\n"
    out += f"\nHardware:   {info.hardware}\n"
    if info.model_id:
        out += f"Model Id:   {info.model_id}\n"
    for line in (info.storage, info.bios):
        if line:
            out += line + "\n"
    out += "\n\n"
    for i, name in enumerate(info.interfaces):
        kind = "Int" if name.startswith("Internal") else "Ext"
        out += f"{i:>2}: {kind}: {name:<20}: address is {mac_address(device, i)}, irq {11 if i < 4 else 0}\n"
    modified_by, modified_at = device.modified_by
    if info.smart is not None:
        out += text("show_version_smart", entitlement=info.smart.entitlement, throughput=info.smart.throughput,
                    serial=device.serial, modified_by=modified_by, modified_at=stamp_clock(modified_at))
        return out.rstrip("\n")
    keys = [hashlib.md5(f"{device.serial}{i}".encode()).hexdigest()[:8] for i in range(5)]
    out += text("show_version_licenses", license=info.license, serial=device.serial,
                key1=keys[0], key2=keys[1], key3=keys[2], key4=keys[3], key5=keys[4],
                modified_by=modified_by, modified_at=stamp_clock(modified_at))
    return out.rstrip("\n")


def curpriv(user: str, mode: str) -> str:
    level, name = {"user": (1, "UNPR"), "exec": (15, "PRIV")}.get(mode, (15, "CONF"))
    return text("curpriv", user=user, level=level, mode=name).rstrip("\n")


def _failover_values(device: AsaDevice) -> tuple[dict[str, Any], bool]:
    pair = device.ha
    mate = pair.peer_of(device)
    fo = asa_data().failover
    seen = pair.link_up and mate.state == "online"
    cfg = device.running.get("failover") or {}
    up = int(device.ctx.clock.now() - device.booted_at)
    return {
        "role": pair.role_of(device), "link_name": cfg.get("lan_name", fo.link_name),
        "link_interface": cfg.get("lan_interface", device.info.failover_interface),
        "link": "up" if pair.link_up else "down", "unit_poll": fo.unit_poll, "unit_hold": fo.unit_hold,
        "interface_poll": fo.interface_poll, "interface_hold": fo.interface_hold,
        "monitored": 2, "monitored_max": device.info.monitored_max, "ours": device.version,
        "mate": mate.version if seen else "Unknown", "our_serial": device.serial,
        "mate_serial": mate.serial if seen else "Unknown",
        "general_x": up * 3, "general_r": up * 3 if seen else 0, "sys_x": up, "sys_r": up if seen else 0,
        "tcp_x": up * 2, "tcp_r": up * 2 if seen else 0, "udp_x": up // 2, "udp_r": up // 2 if seen else 0,
        "arp_x": up // 60, "arp_r": up // 60 if seen else 0, "vpn_x": pair.vpn_tunnels * 4,
        "vpn_r": pair.vpn_tunnels * 4 if seen else 0, "vpn_err": 0, "recv_max": 23, "xmit_max": 32,
    }, seen


def _addresses(device: AsaDevice, active: bool) -> list[tuple[str, str]]:
    addresses = asa_data().failover.addresses
    index = 0 if active else 1
    return [(name, getattr(addresses, name)[index]) for name in ("outside", "inside", "management")]


def _active_time(device: AsaDevice, group: int) -> int:
    pair = device.ha
    since = pair.member(group, device).active_since
    return int(device.ctx.clock.now() - since) if since is not None else 0


def _host_block_as(device: AsaDevice, unit: AsaDevice, this: bool, seen: bool) -> list[str]:
    pair = device.ha
    state = pair.as_seen_by(device, 1, unit)
    label = "This host" if this else "Other host"
    lines = [f"        {label}: {pair.role_of(unit)} - {state} ",
             f"                Active time: {_active_time(unit, 1)} (sec)"]
    if this or seen:
        info = unit.info
        lines.append(f"                slot 0: {info.slot_model} hw/sw rev ({info.hw_rev}/{unit.version}) "
                     f"status (Up Sys)")
        for name, address in _addresses(unit, pair.is_active(unit, 1)):
            monitored = "Not-Monitored" if name == "management" else "Monitored"
            lines.append(f"                  Interface {name} ({address}): Normal ({monitored})")
    else:
        for name, _address in _addresses(unit, False):
            lines.append(f"                  Interface {name} (0.0.0.0): Unknown (Waiting)")
    return lines


def _host_block_aa(device: AsaDevice, unit: AsaDevice, this: bool, seen: bool) -> list[str]:
    pair = device.ha
    lines = [f"{'This host' if this else 'Other host'}: {pair.role_of(unit)}"]
    for g in pair.groups:
        state = pair.as_seen_by(device, g, unit)
        lines += [f"Group {g} State: {state}", f"Active time: {_active_time(unit, g)} (sec)"]
    lines.append(" ")
    if this or seen:
        info = unit.info
        lines.append(f"slot 0: {info.slot_model} hw/sw rev ({info.hw_rev}/{unit.version}) status (Up Sys)")
        contexts = {1: "admin", 2: "ctx2"}
        for g in pair.groups:
            active = pair.is_active(unit, g)
            for name, address in _addresses(unit, active)[:2]:
                lines.append(f"{contexts[g]} Interface {name} ({address}): Normal (Monitored)")
    else:
        for g, context in ((1, "admin"), (2, "ctx2")):
            for name in ("outside", "inside"):
                lines.append(f"{context} Interface {name} (0.0.0.0): Unknown (Waiting)")
    lines.append(" ")
    return lines


def show_failover(device: AsaDevice) -> str:
    pair = device.ha
    if pair is None:
        return text("failover_off", monitored=2, monitored_max=device.info.monitored_max).rstrip("\n")
    values, seen = _failover_values(device)
    mate = pair.peer_of(device)
    if pair.mode == "active-active":
        out = text("failover_head_aa", **values)
        for g in pair.groups:
            if pair.last_failover[g] is not None:
                out += f"Group {g} last failover at: {stamp_short(pair.last_failover[g])}\n"
        out += " \n"
        out += "\n".join(_host_block_aa(device, device, True, seen) + _host_block_aa(device, mate, False, seen))
        out += "\n" + text("failover_stats_aa", **values)
        return out.rstrip("\n")
    out = text("failover_head", **values)
    last = pair.last_failover[1]
    if last is not None:            # the line is there once a failover happened
        out += f"Last Failover at: {stamp_short(last)}\n"
    out += "\n".join(_host_block_as(device, device, True, seen) + _host_block_as(device, mate, False, seen))
    out += "\n\n" + text("failover_stats", **values)
    return out.rstrip("\n")


def show_failover_state(device: AsaDevice) -> str:
    pair = device.ha
    if pair is None:
        return text("failover_off", monitored=2, monitored_max=device.info.monitored_max).rstrip("\n")
    mate = pair.peer_of(device)

    def reason(unit: AsaDevice) -> tuple[str, str]:
        failure = pair.last_failure.get(unit.name)
        return ("None", "") if not failure else (failure[0], stamp_short(failure[1]))

    out = text("failover_state_head")
    for label, unit in (("This host  -", device), ("Other host -", mate)):
        why, when = reason(unit)
        out += f"{label}   {pair.role_of(unit)}\n"
        for g in pair.groups:
            state = pair.as_seen_by(device, g, unit)
            lead = "               " if pair.mode == "active-standby" else f"    Group {g}    "
            out += f"{lead}{state:<14} {why:<24} {when}".rstrip() + "\n"
    config = "Sync Done" if pair.config_status == "IN_SYNC" else "Sync Skipped"
    if not pair.is_active(device) and config == "Sync Done":
        config = "Sync Done - STANDBY"
    comm = "Mac set" if pair.link_up else "Mac set, Peer not reachable"
    out += text("failover_state_tail", config_state=config, comm_state=comm)
    return out.rstrip("\n")


def config_text(device: AsaDevice, config: dict[str, Any], saved: bool) -> str:
    """The configuration as `show running-config` prints it (`: Saved` when it is the saved one)."""
    info = device.info
    lines = [": Saved" if saved else ":", "", ":", f": Serial Number: {device.serial}",
             f": Hardware:   {info.hardware}", ":", f"ASA Version {device.version} ", "!",
             f"hostname {config['hostname']}"]
    if config.get("domain"):
        lines.append(f"domain-name {config['domain']}")
    lines += ["enable password ***** pbkdf2", "names", *object_lines(), "no mac-address auto", ""]
    fo = config.get("failover")
    addresses = asa_data().failover.addresses
    for name, interface in info.data_interfaces.items():
        ip = getattr(addresses, name)
        level = {"outside": 0, "inside": 100, "management": 0}[name]
        lines += [f"interface {interface}", f" nameif {name}", f" security-level {level}",
                  f" ip address {ip[0]} 255.255.255.0" + (f" standby {ip[1]} " if fo else ""), "!"]
    if fo:
        lines += [f"interface {fo['lan_interface']}", " description LAN/STATE Failover Interface", "!"]
    lines += [f"boot system {entry}" for entry in config["boot_system"]]
    lines += ["ftp mode passive", "pager lines 24", "logging enable", "logging buffered informational",
              "mtu outside 1500", "mtu inside 1500", *policy_lines(AsaUnit(device))]
    if fo:
        lines += failover_lines(config)
    lines += [*vpn.config_lines(), *services.config_lines()]
    lines += list(config.get("lines", []))
    if config.get("prompt"):
        lines.append("prompt " + " ".join(config["prompt"]) + " ")
    body = "\n".join(lines)
    return body + f"\nCryptochecksum:{checksum(body).replace(' ', '')}\n: end"


def failover_lines(config: dict[str, Any]) -> list[str]:
    fo = config.get("failover")
    if not fo:
        return []
    lines = ["failover", f"failover lan unit {fo['unit']}",
             f"failover lan interface {fo['lan_name']} {fo['lan_interface']}", "failover replication http",
             f"failover link {fo['lan_name']} {fo['lan_interface']}",
             f"failover interface ip {fo['lan_name']} {fo['ip'][0]} {fo['ip'][1]} standby {fo['ip'][2]}"]
    for g, cfg in sorted((fo.get("groups") or {}).items()):
        lines.append(f"failover group {g}")
        if cfg.get("unit") == "secondary":
            lines.append("  secondary")
        if cfg.get("preempt") is not None:
            lines.append("  preempt" + (f" {cfg['preempt']}" if cfg["preempt"] else ""))
    return lines


def checksum(body: str) -> str:
    digest = hashlib.md5(body.encode()).hexdigest()
    return " ".join(digest[i:i + 8] for i in range(0, 32, 8))


def dir_listing(device: AsaDevice, name: str | None = None) -> str:
    """`dir disk0:` (everything) or `dir disk0:/<file>` (that file)."""
    rows = ["", f"Directory of disk0:/{name or ''}", ""]
    total_size = 0
    count = 0
    for entry in device.disk.listing():
        if name is not None and entry.name != name:
            continue
        rows.append(f"{entry.ident:<7}{'drwx' if entry.is_dir else '-rwx'}  {entry.size:<13}"
                    f"{stamp_dir(entry.mtime)}  {entry.name}")
        if not entry.is_dir:
            total_size += entry.size
            count += 1
    total, free = device.disk.total, device.disk.free
    rows += ["", f"{count} file(s) total size: {total_size} bytes",
             f"{total} bytes total ({free} bytes free/{free * 100 // total}% free)"]
    return "\n".join(rows)


def bootvar(device: AsaDevice) -> str:
    return text("bootvar", boot=";".join(device.startup["boot_system"]),
                current=";".join(device.running["boot_system"])).rstrip("\n")
