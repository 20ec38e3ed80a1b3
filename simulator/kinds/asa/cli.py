"""The Cisco ASA CLI over SSH: `host>` (user EXEC), `host#` (privileged),
`host(config)#`, `host(config-fover-group)#`; the failover prompt suffix
(`host/pri/act#`) when `prompt hostname priority state` is configured.

Handlers translate commands into AsaDevice / AsaFailoverPair calls and model
state into the ASA's text, with the command trees and templates of
data/cli/asa.yaml. `copy` does its transfers here (HTTP(S) with aiohttp, SCP
with asyncssh, disk0: and lab-host files); the model only registers the file.

`run_asa_process(process, device)` runs the CLI on an asyncssh server process
(an interactive shell, or one exec command) - what an SSH surface calls for a
device of kind `asa`.

Enable password: the device's `enable_password` (by default the login
password of the profile, `Admin123`); three wrong answers give `Access denied.`"""

from __future__ import annotations

import asyncio
import copy as copylib
import hashlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncssh

from simulator.facts import read_yaml
from simulator.journal import Event
from simulator.kinds.asa.model import (
    AsaDevice,
    asa_data,
    disk_name,
    say,
    zero_downtime_warning,
)
from simulator.kinds.asa.versions import ImageName
from simulator.kinds.base import Refused
from simulator.terminal.session import Session, Shell
from simulator.terminal.tree import (
    CliError,
    CommandTree,
    Parsed,
    apply_filters,
    split_filters,
)

PROMPT_WORDS = ("hostname", "context", "domain", "slot", "state", "priority", "cluster-unit")
MORE = "<--- More --->"


# -- data --------------------------------------------------------------------------------------
@cache
def cli_data() -> dict[str, Any]:
    return read_yaml("kinds/asa/cli.yaml")


def _merge(*trees: dict[str, Any]) -> dict[str, Any]:
    """Command dictionaries merged: later words add to earlier ones, children merge."""
    out: dict[str, Any] = {}
    for tree in trees:
        for word, spec in (tree or {}).items():
            if word not in out:
                out[word] = copylib.deepcopy(spec)
                continue
            mine = out[word] = dict(out[word] or {})
            for key, value in (spec or {}).items():
                if key in ("children", "options"):
                    mine[key] = _merge(mine.get(key) or {}, value or {})
                else:
                    mine.setdefault(key, value)
    return out


@cache
def trees() -> dict[str, CommandTree]:
    data = cli_data()
    modes = data["modes"]
    base = {"errors": data["errors"], "caret": data["caret"], "filters": data["filters"]}
    exec_ = modes["exec"]
    return {
        "user": CommandTree({**base, "commands": modes["user"]}),
        "exec": CommandTree({**base, "commands": exec_}),
        "config": CommandTree({**base, "commands": _merge(modes["config"], exec_)}),
        "fover_group": CommandTree({**base, "commands": _merge(modes["fover_group"], exec_)}),
    }


def text(key: str, **values: Any) -> str:
    return cli_data()["templates"][key].format(**values)


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


def _mac(device: AsaDevice, index: int) -> str:
    digest = hashlib.sha1(f"{device.serial}:{index}".encode()).hexdigest()
    return f"{digest[0:4]}.{digest[4:8]}.{digest[8:12]}"


def show_version(device: AsaDevice) -> str:
    info, ver = device.info, device.ver
    data = asa_data()
    out = text("show_version_head", version=device.version)
    if info.ssp:
        out += f"SSP Operating System Version {info.ssp}\n"
    now = device.ctx.clock.now()
    out += text("show_version_body", asdm=device.asdm_version,
                compiled=data.compiled.get(ver.train, data.compiled["default"]), image=device.image,
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
        out += f"{i:>2}: {kind}: {name:<20}: address is {_mac(device, i)}, irq {11 if i < 4 else 0}\n"
    modified_by, modified_at = device.modified_by
    keys = [hashlib.md5(f"{device.serial}{i}".encode()).hexdigest()[:8] for i in range(5)]
    out += text("show_version_licenses", license=info.license, serial=device.serial,
                key1=keys[0], key2=keys[1], key3=keys[2], key4=keys[3], key5=keys[4],
                modified_by=modified_by, modified_at=stamp_clock(modified_at))
    return out.rstrip("\n")


def curpriv(user: str, mode: str) -> str:
    level, name = {"user": (1, "UNPR"), "exec": (15, "PRIV")}.get(mode, (15, "CONF"))
    return text("curpriv", user=user, level=level, mode=name).rstrip("\n")


def _failover_values(device: AsaDevice) -> dict[str, Any]:
    pair = device.ha
    mate = pair.peer_of(device)
    fo = asa_data().failover
    seen = pair.link_up and mate.state == "online"
    cfg = device.running.get("failover") or {}
    up = int(device.ctx.clock.now() - device.booted_at)
    return {
        "role": pair.role_of(device), "link_name": cfg.get("lan_name", fo["link_name"]),
        "link_interface": cfg.get("lan_interface", device.info.failover_interface),
        "link": "up" if pair.link_up else "down", "unit_poll": fo["unit_poll"], "unit_hold": fo["unit_hold"],
        "interface_poll": fo["interface_poll"], "interface_hold": fo["interface_hold"],
        "monitored": 2, "monitored_max": device.info.monitored_max, "ours": device.version,
        "mate": mate.version if seen else "Unknown", "our_serial": device.serial,
        "mate_serial": mate.serial if seen else "Unknown",
        "general_x": up * 3, "general_r": up * 3 if seen else 0, "sys_x": up, "sys_r": up if seen else 0,
        "tcp_x": up * 2, "tcp_r": up * 2 if seen else 0, "udp_x": up // 2, "udp_r": up // 2 if seen else 0,
        "arp_x": up // 60, "arp_r": up // 60 if seen else 0, "vpn_x": pair.vpn_tunnels * 4,
        "vpn_r": pair.vpn_tunnels * 4 if seen else 0, "vpn_err": 0, "recv_max": 23, "xmit_max": 32,
    }, seen


def _addresses(device: AsaDevice, active: bool) -> list[tuple[str, str]]:
    addresses = asa_data().failover["addresses"]
    index = 0 if active else 1
    return [(name, addresses[name][index]) for name in ("outside", "inside", "management")]


def _active_time(device: AsaDevice, group: int) -> int:
    pair = device.ha
    since = pair.active_since[group].get(device.name)
    return int(device.ctx.clock.now() - since) if since is not None else 0


def _host_block_as(device: AsaDevice, unit: AsaDevice, this: bool, seen: bool) -> list[str]:
    pair = device.ha
    state = pair.state_of[1][unit.name] if this else pair.as_seen_by(device, 1, unit)
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
        state = pair.state_of[g][unit.name] if this else pair.as_seen_by(device, g, unit)
        lines += [f"Group {g} State: {state}", f"Active time: {_active_time(unit, g)} (sec)"]
    lines.append(" ")
    if this or seen:
        info = unit.info
        lines.append(f"slot 0: {info.slot_model} hw/sw rev ({info.hw_rev}/{unit.version}) status (Up Sys)")
        contexts = {1: "admin", 2: "ctx2"}
        for g in pair.groups:
            active = pair.state_of[g][unit.name] == "Active"
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
            state = pair.state_of[g][unit.name] if unit is device else pair.as_seen_by(device, g, unit)
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
    lines = [": Saved" if saved else ":", "", ":", f": Serial Number: {device.serial}", f": Hardware:   {info.hardware}", ":",
             f"ASA Version {device.version} ", "!", f"hostname {config['hostname']}"]
    if config.get("domain"):
        lines.append(f"domain-name {config['domain']}")
    lines += ["enable password ***** pbkdf2", "names", "no mac-address auto", ""]
    fo = config.get("failover")
    addresses = asa_data().failover["addresses"]
    for name, interface in info.data_interfaces.items():
        ip = addresses[name]
        level = {"outside": 0, "inside": 100, "management": 0}[name]
        lines += [f"interface {interface}", f" nameif {name}", f" security-level {level}",
                  f" ip address {ip[0]} 255.255.255.0" + (f" standby {ip[1]} " if fo else ""), "!"]
    if fo:
        lines += [f"interface {fo['lan_interface']}", " description LAN/STATE Failover Interface", "!"]
    lines += [f"boot system {entry}" for entry in config["boot_system"]]
    lines += ["ftp mode passive", "pager lines 24", "logging enable", "logging buffered informational",
              "mtu outside 1500", "mtu inside 1500"]
    if fo:
        lines += failover_lines(config)
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
    for entry, size, mtime, is_dir in device.files():
        if name is not None and entry != name:
            continue
        ident = (device.path_of(entry).stat().st_ino % 997) + 11
        rows.append(f"{ident:<7}{'drwx' if is_dir else '-rwx'}  {size:<13}{stamp_dir(mtime)}  {entry}")
        if not is_dir:
            total_size += size
            count += 1
    total, free = device.disk_total_bytes, device.disk_free_bytes
    rows += ["", f"{count} file(s) total size: {total_size} bytes",
             f"{total} bytes total ({free} bytes free/{free * 100 // total}% free)"]
    return "\n".join(rows)


def bootvar(device: AsaDevice) -> str:
    return text("bootvar", boot=";".join(device.startup["boot_system"]),
                current=";".join(device.running["boot_system"])).rstrip("\n")


# -- transfers (the surface side of `copy`) ------------------------------------------------------
class TransferError(Exception):
    """A transfer that failed, with the reason the ASA prints in parentheses."""


async def fetch_http(url: str, target: Path, timeout: float) -> int:
    import aiohttp

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            async with http.get(url, ssl=False) as resp:
                if resp.status == 404:
                    raise TransferError("No such file or directory")
                if resp.status in (401, 403):
                    raise TransferError("Permission denied")
                if resp.status != 200:
                    raise TransferError(f"HTTP status {resp.status}")
                size = 0
                with target.open("wb") as out:
                    async for chunk in resp.content.iter_chunked(1 << 16):
                        out.write(chunk)
                        size += len(chunk)
                return size
    except aiohttp.ClientConnectorError:
        raise TransferError("Connection refused") from None
    except asyncio.TimeoutError:
        raise TransferError("Connection timed out") from None
    except aiohttp.ClientError as exc:
        raise TransferError(str(exc) or "I/O error") from None


async def fetch_scp(host: str, port: int, user: str, password: str | None, path: str, target: Path,
                    timeout: float) -> int:
    try:
        async with asyncssh.connect(host, port, username=user, password=password, known_hosts=None,
                                    client_keys=None, agent_path=None, connect_timeout=timeout) as conn:
            await asyncssh.scp((conn, path), str(target))
    except asyncssh.PermissionDenied:
        raise TransferError("Permission denied") from None
    except asyncssh.SFTPError as exc:
        raise TransferError("No such file or directory" if "No such" in str(exc) or exc.code == 2
                            else str(exc.reason)) from None
    except (OSError, asyncssh.Error) as exc:
        reason = "Connection refused" if isinstance(exc, ConnectionRefusedError) else (str(exc) or "I/O error")
        raise TransferError(reason) from None
    return target.stat().st_size


# -- the shell -----------------------------------------------------------------------------------
@dataclass
class AsaContext:
    device: AsaDevice
    user: str = "admin"
    peer: str = "127.0.0.1"
    transfer_timeout: float = 120.0


class _CaptureChannel:
    """A channel that keeps what is written (for `failover exec`); answers questions with Enter."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.answers = 8

    async def read(self) -> str:
        if self.answers <= 0:
            return ""
        self.answers -= 1
        return "\n"

    def write(self, data: str) -> None:
        self.out.append(data)

    def close(self) -> None:
        pass


class AsaShell(Shell):
    def __init__(self, session: Session, ctx: AsaContext, mode: str = "user") -> None:
        super().__init__(session)
        self.ctx = ctx
        self.device = ctx.device
        self.mode = mode
        self.user = ctx.user if mode == "user" else "enable_15"
        self.group: int | None = None
        self.pager = 24
        self.monitor = False

    # -- framing ----------------------------------------------------------------------------------
    @property  # type: ignore[override]
    def tree(self) -> CommandTree:
        return trees()[self.mode]

    @property
    def prompt(self) -> str:
        base = prompt_base(self.device)
        return {"user": f"{base}> ", "exec": f"{base}# ", "config": f"{base}(config)# ",
                "fover_group": f"{base}(config-fover-group)# "}[self.mode]

    def on_device_event(self, event: Event) -> None:
        """Messages the unit prints on its terminals while the session is open."""
        kind = event["kind"]
        if kind == "console" or kind == "syslog" and self.monitor:
            self.session.write(event["text"].rstrip("\n") + "\n")

    async def execute(self, line: str) -> None:
        tree = self.tree
        if line.rstrip().endswith("?"):
            self.session.write(self.help(line.rstrip()[:-1]) + "\n")
            return
        split = split_filters(line)
        if split is None:
            self.session.write(self._error(CliError("unknown", line.index("|")), line) + "\n")
            return
        command, filters = split
        parsed = tree.parse(command)
        if isinstance(parsed, CliError):
            if parsed.kind != "empty":
                self.session.write(self._error(parsed, line) + "\n")
            return
        handler: Callable[..., Any] = getattr(self, f"cmd_{parsed.action.replace('-', '_')}")
        output = await handler(parsed)
        if output:
            await self._page(apply_filters(output, filters) if filters else output)

    def _error(self, error: CliError, line: str) -> str:
        """The ASA's error: a caret under the offending word for invalid input only."""
        if error.kind == "unknown":
            return self.tree.error_text(error, line, self.prompt)
        return self.tree.errors[error.kind].format(word=error.word, line=line.strip())

    async def _page(self, output: str) -> None:
        """Write output, `<--- More --->` every `pager` lines on an interactive terminal."""
        if not output.endswith("\n"):
            output += "\n"
        lines = output.split("\n")[:-1]
        next_char = getattr(self.session, "_next_char", None)
        if not self.session.interactive or self.pager <= 0 or len(lines) <= self.pager or next_char is None:
            self.session.write(output)
            return
        shown, budget = 0, self.pager
        while shown < len(lines):
            chunk = lines[shown:shown + budget]
            self.session.write("\n".join(chunk) + "\n")
            shown += len(chunk)
            if shown >= len(lines):
                return
            self.session.write(MORE)
            key = await next_char()
            self.session.write("\r" + " " * len(MORE) + "\r")
            if key is None or key in ("q", "Q", "\x03"):
                return
            budget = 1 if key in ("\r", "\n") else self.pager

    @property
    def pair(self) -> Any:
        return self.device.ha

    # -- user EXEC -----------------------------------------------------------------------------------
    async def cmd_enable(self, _: Parsed) -> None:
        if self.mode != "user":
            return None
        for attempt in range(3):
            answer = await self.session.ask("Password: ", secret=True)
            if answer is None:
                return None
            if answer == self.device.enable_password:
                self.mode, self.user = "exec", "enable_15"
                return None
            if attempt < 2:
                self.session.write("Invalid password\n")
        self.session.write("Access denied.\n")
        return None

    async def cmd_login(self, _: Parsed) -> None:
        user = await self.session.ask("Username: ")
        if user is None:
            return None
        password = await self.session.ask("Password: ", secret=True)
        if password is None:
            return None
        if user.strip() == self.device.username and password == self.device.password:
            self.mode, self.user = "exec", user.strip()
        else:
            self.session.write("Invalid password\n")
        return None

    async def cmd_disable(self, _: Parsed) -> None:
        self.mode, self.user = "user", self.ctx.user

    async def cmd_exit(self, _: Parsed) -> None:
        self.session.write(text("logoff"))
        self.session.pop()

    async def cmd_help(self, _: Parsed) -> str:
        return self.help("")

    async def cmd_terminal_pager(self, p: Parsed) -> None:
        self.pager = int(p.args["lines"])

    async def cmd_terminal_width(self, _: Parsed) -> None:
        return None

    async def cmd_terminal_monitor(self, _: Parsed) -> None:
        self.monitor = True

    async def cmd_terminal_no_monitor(self, _: Parsed) -> None:
        self.monitor = False

    async def cmd_show_curpriv(self, _: Parsed) -> str:
        return curpriv(self.user, self.mode)

    async def cmd_show_version(self, _: Parsed) -> str:
        return show_version(self.device)

    async def cmd_show_clock(self, _: Parsed) -> str:
        return text("show_clock", time=stamp_clock(self.device.local_time()))

    async def cmd_show_failover(self, _: Parsed) -> str:
        return show_failover(self.device)

    async def cmd_show_failover_state(self, _: Parsed) -> str:
        return show_failover_state(self.device)

    # -- privileged EXEC: information ---------------------------------------------------------------
    async def cmd_show_running(self, _: Parsed) -> str:
        return config_text(self.device, self.device.running, saved=not self.device.config_modified)

    async def cmd_show_startup(self, _: Parsed) -> str:
        return config_text(self.device, self.device.startup, saved=True)

    async def cmd_show_running_failover(self, _: Parsed) -> str:
        return "\n".join(failover_lines(self.device.running))

    async def cmd_show_running_boot(self, _: Parsed) -> str:
        return "\n".join(f"boot system {e}" for e in self.device.running["boot_system"])

    async def cmd_show_running_hostname(self, _: Parsed) -> str:
        return f"hostname {self.device.hostname}"

    async def cmd_show_running_prompt(self, _: Parsed) -> str:
        parts = self.device.running.get("prompt")
        return "prompt " + " ".join(parts) + " " if parts else ""

    async def cmd_show_bootvar(self, _: Parsed) -> str:
        return bootvar(self.device)

    async def cmd_dir(self, p: Parsed) -> str:
        path = p.args.get("path")
        if path and disk_name(path) is None and path.rstrip("/").lower() not in ("disk0:", "flash:"):
            return f"%Error opening {path} (No such file or directory)"
        name = disk_name(path) if path else None
        if name is not None:
            try:
                exists = self.device.path_of(name).exists()
            except Refused:
                exists = False
            if not exists:
                return f"%Error opening disk0:/{name} (No such file or directory)"
        return dir_listing(self.device, name)

    async def cmd_show_logging(self, _: Parsed) -> str:
        entries = [t for _, t in self.device.syslog]
        return text("logging_head", count=len(entries)) + "\n".join(entries)

    async def cmd_clear_logging(self, _: Parsed) -> None:
        self.device.syslog.clear()

    async def cmd_verify_md5(self, p: Parsed) -> str:
        name = disk_name(p.args["path"]) or p.args["path"].lstrip("/")
        try:
            path = self.device.path_of(name)
        except Refused as refused:
            return refused.message
        if not path.is_file():
            return f"%Error opening disk0:/{name} (No such file or directory)"
        digest = hashlib.md5(path.read_bytes()).hexdigest()
        return "!" * 20 + "Done!\n" + text("verify_md5", name=name, digest=digest)

    async def cmd_verify(self, p: Parsed) -> str:
        name = disk_name(p.args["path"]) or p.args["path"].lstrip("/")
        try:
            path = self.device.path_of(name)
        except Refused as refused:
            return refused.message
        if not path.is_file():
            return f"%Error opening disk0:/{name} (No such file or directory)"
        if self.device.image_of(name):
            return f"Verifying file integrity of disk0:/{name}\n" + "!" * 20 + \
                "\nDone!\nDigital signature successfully validated"
        return f"Verifying file integrity of disk0:/{name}\n" + "!" * 20 + "\nDone!\nINFO: No digital signature found"

    # -- configuration mode entry and exit -------------------------------------------------------------
    async def cmd_configure(self, _: Parsed) -> None:
        self.mode = "config"

    async def cmd_end(self, _: Parsed) -> None:
        self.mode, self.group = "exec", None

    async def cmd_config_exit(self, _: Parsed) -> None:
        self.mode = "exec"

    async def cmd_group_exit(self, _: Parsed) -> None:
        self.mode, self.group = "config", None

    def _configure(self, call: Callable[[], Any]) -> str | None:
        """A configuration command: applied, and on a standby unit the replication warning."""
        error = self._refusable(call)
        if error:
            return error
        pair = self.pair
        if pair is not None and pair.is_standby(self.device) and pair.link_up \
                and pair.peer_of(self.device).state == "online":
            return say("standby_config").rstrip("\n")
        return None

    async def cmd_hostname(self, p: Parsed) -> str | None:
        return self._configure(lambda: self.device.set_hostname(p.args["name"]))

    async def cmd_domain_name(self, p: Parsed) -> str | None:
        return self._configure(lambda: self.device.set_domain(p.args["name"]))

    async def cmd_boot_system(self, p: Parsed) -> str | None:
        path = p.args["path"]
        name = disk_name(path)
        if name is None:
            return f"ERROR: {path}: invalid boot image location"
        result = self._configure(lambda: self.device.add_boot_system(path))
        warning = self._zero_downtime_warning(name)
        return "\n".join(t for t in (result, warning) if t) or None

    def _zero_downtime_warning(self, name: str) -> str | None:
        """Booting `name` on a failover unit: will the pair run across the versions?"""
        pair = self.pair
        image = ImageName.parse(name)
        if pair is None or image is None:
            return None
        mate = pair.peer_of(self.device)
        return zero_downtime_warning(mate.version, str(image.version))

    async def cmd_no_boot_system(self, p: Parsed) -> str | None:
        return self._configure(lambda: self.device.remove_boot_system(p.args["path"]))

    async def cmd_clear_boot(self, _: Parsed) -> str | None:
        return self._configure(self.device.clear_boot_system)

    async def cmd_config_line(self, p: Parsed) -> str | None:
        return self._configure(lambda: self.device.add_line(f"asdm image {p.args['path']}"))

    async def cmd_prompt(self, p: Parsed) -> str | None:
        words = p.args["parts"].split()
        for i, word in enumerate(words):
            matches = [w for w in PROMPT_WORDS if w.startswith(word.lower())]
            if len(matches) != 1:
                position = len("prompt ") + p.args["parts"].find(word)
                return trees()["config"].error_text(CliError("unknown", position, word), "prompt " + p.args["parts"],
                                                    self.prompt)
            words[i] = matches[0]
        return self._configure(lambda: self.device.set_prompt(words))

    async def cmd_no_prompt(self, _: Parsed) -> str | None:
        return self._configure(lambda: self.device.set_prompt([]))

    async def cmd_failover_group(self, p: Parsed) -> str | None:
        fo = self.device.running.get("failover")
        if not fo:
            return say("refuse", "no_failover")
        if fo.get("mode") != "active-active":
            return say("refuse", "group_mode")
        self.mode, self.group = "fover_group", int(p.args["group"])
        return None

    async def cmd_preempt(self, p: Parsed) -> str | None:
        delay = int(p.args.get("delay", 0))
        return self._configure(lambda: self.device.set_failover_group(self.group or 1, preempt=delay))

    async def cmd_no_preempt(self, _: Parsed) -> str | None:
        return self._configure(lambda: self.device.set_failover_group(self.group or 1, preempt=None))

    async def cmd_group_primary(self, _: Parsed) -> str | None:
        return self._configure(lambda: self.device.set_failover_group(self.group or 1, unit="primary"))

    async def cmd_group_secondary(self, _: Parsed) -> str | None:
        return self._configure(lambda: self.device.set_failover_group(self.group or 1, unit="secondary"))

    # -- saving -------------------------------------------------------------------------------------------
    def _write_memory(self) -> str:
        error = self._refusable(self.device.write_memory)
        if error:
            return error
        body = config_text(self.device, self.device.startup, saved=True)
        size = len(body)
        return text("write_memory", checksum=checksum(body), size=size, secs=f"{0.1 + size / 20000:.3f}").rstrip("\n")

    async def cmd_write_memory(self, _: Parsed) -> str:
        return self._write_memory()

    async def cmd_write_erase(self, _: Parsed) -> str | None:
        answer = await self.session.ask("Erase configuration in flash memory? [confirm]")
        if answer is None or answer.strip().lower().startswith("n"):
            return None
        return self._refusable(self.device.write_erase) or "[OK]"

    async def cmd_write_standby(self, _: Parsed) -> str:
        pair = self.pair
        if pair is None:
            return say("refuse", "no_failover")
        self.session.write(text("write_standby_begin") + "\n")
        return self._refusable(lambda: pair.write_standby(self.device)) or text("write_standby_end")

    # -- failover -----------------------------------------------------------------------------------------
    def _group(self, p: Parsed) -> int | None:
        return int(p.args["group"]) if "group" in p.args else None

    async def cmd_failover_active(self, p: Parsed) -> str | None:
        pair = self.pair
        if pair is None:
            return say("refuse", "no_failover")
        return self._refusable(lambda: pair.failover_active(self.device, self._group(p)))

    async def cmd_no_failover_active(self, p: Parsed) -> str | None:
        pair = self.pair
        if pair is None:
            return say("refuse", "no_failover")
        return self._refusable(lambda: pair.no_failover_active(self.device, self._group(p)))

    async def cmd_failover_reload_standby(self, _: Parsed) -> str | None:
        pair = self.pair
        if pair is None:
            return say("refuse", "no_failover")
        try:
            return pair.reload_standby(self.device)
        except Refused as refused:
            return refused.message

    async def _failover_exec(self, target: str, command: str) -> str:
        pair = self.pair
        if pair is None:
            return say("refuse", "no_failover")
        mate = pair.peer_of(self.device)
        unit = {"mate": mate, "active": pair.active_unit or self.device}.get(target)
        if target == "standby":
            active = pair.active_unit
            unit = pair.peer_of(active) if active else mate
        if unit is None:
            return say("refuse", "mate_absent")
        if unit is not self.device and (not pair.link_up or unit.state != "online"):
            return say("refuse", "mate_absent")
        return await exec_on(unit, command, user=self.user, peer=self.ctx.peer)

    async def cmd_failover_exec_mate(self, p: Parsed) -> str:
        return await self._failover_exec("mate", p.args["command"])

    async def cmd_failover_exec_active(self, p: Parsed) -> str:
        return await self._failover_exec("active", p.args["command"])

    async def cmd_failover_exec_standby(self, p: Parsed) -> str:
        return await self._failover_exec("standby", p.args["command"])

    # -- reload ---------------------------------------------------------------------------------------------
    async def cmd_reload(self, p: Parsed) -> str | None:
        noconfirm = "noconfirm" in p.flags
        if "save-config" in p.flags:
            self.session.write(self._write_memory() + "\n")
        elif self.device.config_modified and not noconfirm:
            while True:
                answer = await self.session.ask(text("save_question"))
                if answer is None:
                    return None
                choice = answer.strip().lower()[:1]
                if choice == "y":
                    self.session.write(self._write_memory() + "\n")
                    break
                if choice == "n":
                    break
        if not noconfirm:
            answer = await self.session.ask(text("reload_confirm"))
            if answer is None or answer.strip().lower().startswith("n"):
                return None
        self.session.write(text("reload_shutdown"))
        return self._refusable(lambda: self.device.reload(cause="operator"))

    # -- files --------------------------------------------------------------------------------------------------
    async def _ask(self, prompt: str, default: str, confirm: bool) -> str | None:
        if not confirm:
            return default
        answer = await self.session.ask(prompt)
        if answer is None:
            return None
        return answer.strip() or default

    async def cmd_delete(self, p: Parsed, confirm: bool = True, replicate: bool = False) -> str | None:
        name = disk_name(p.args["path"]) or p.args["path"].lstrip("/")
        name = await self._ask(text("ask_delete_name", name=name), name, confirm)
        if name is None:
            return None
        if confirm:
            answer = await self.session.ask(text("ask_delete_confirm", name=name))
            if answer is None or answer.strip().lower().startswith("n"):
                return None
        try:
            self.device.delete_file(name)
        except Refused:
            return f"%Error deleting disk0:/{name} (No such file or directory)"
        pair = self.pair
        if replicate and pair is not None:
            mate = pair.peer_of(self.device)
            if pair.link_up and mate.state == "online":
                self._refusable(lambda: mate.delete_file(name))
        return None

    async def cmd_delete_noconfirm(self, p: Parsed) -> str | None:
        return await self.cmd_delete(p, confirm=False)

    async def cmd_delete_replicate(self, p: Parsed) -> str | None:
        return await self.cmd_delete(p, confirm=True, replicate=True)

    async def cmd_copy_noconfirm(self, p: Parsed) -> str | None:
        return await self.cmd_copy(p, confirm=False)

    async def cmd_copy(self, p: Parsed, confirm: bool = True) -> str | None:
        source, destination = p.args["source"], p.args["destination"]
        lowered = (source.lower(), destination.lower())
        if lowered == ("running-config", "startup-config"):
            if await self._ask(text("ask_source", name="running-config"), "running-config", confirm) is None:
                return None
            if await self._ask(text("ask_destination", name="startup-config"), "startup-config", confirm) is None:
                return None
            return self._write_memory().replace("Building configuration...\n", "").replace("\n[OK]", "")
        if lowered[1] in ("running-config", "startup-config") or lowered[0] in ("running-config", "startup-config"):
            return f"%Error opening {source} (Operation not supported)"
        dest_default = disk_name(destination)
        if dest_default is None and lowered[1].rstrip("/") not in ("disk0:", "flash:"):
            return f"%Error opening {destination} (No such device)"
        return await self._copy_file(source, dest_default, confirm)

    async def _copy_file(self, source: str, dest_name: str | None, confirm: bool) -> str | None:
        device = self.device
        url = urlsplit(source)
        scheme = url.scheme.lower()
        local_disk = disk_name(source)
        write = self.session.write
        if scheme in ("http", "https", "scp"):
            host = url.hostname or ""
            host = await self._ask(text("ask_host", host=host), host, confirm)
            if host is None:
                return None
            user = unquote(url.username or "")
            if scheme == "scp":
                user = await self._ask(text("ask_user", user=user), user, confirm)
                if user is None:
                    return None
            path = unquote(url.path)
            src_name = path.rsplit("/", 1)[-1]
            answer = await self._ask(text("ask_source", name=src_name), src_name, confirm)
            if answer is None:
                return None
            if answer != src_name:
                path = answer if answer.startswith("/") else path.rsplit("/", 1)[0] + "/" + answer
                src_name = path.rsplit("/", 1)[-1]
        elif local_disk is not None or (source.startswith("/") and device.disk_dir.joinpath(source.lstrip("/")).exists()):
            src_name = local_disk or source.lstrip("/")
            path = src_name
            answer = await self._ask(text("ask_source", name=src_name), src_name, confirm)
            if answer is None:
                return None
            src_name = path = answer
            scheme = "disk0"
        elif scheme == "file" or source.startswith("/"):
            path = unquote(url.path) if scheme == "file" else source
            src_name = path.rsplit("/", 1)[-1]
            scheme = "file"
        else:
            return text("copy_error_open", url=source, reason="Protocol not supported")
        dest_name = dest_name or src_name
        dest_name = await self._ask(text("ask_destination", name=dest_name), dest_name, confirm)
        if dest_name is None:
            return None
        if confirm:
            write("\n")
        try:
            target = device.path_of(dest_name)
        except Refused as refused:
            return refused.message
        partial = target.with_name(f".{target.name}.part")
        free = device.disk_free_bytes
        display = source if scheme not in ("http", "https", "scp") else \
            f"{scheme}://{(user + '@') if user else ''}{host}{(':' + str(url.port)) if url.port else ''}{path}"
        try:
            fault = device.transfer_fault(dest_name)
            if scheme in ("http", "https"):
                write(text("accessing", url=display))
                netloc = (f"{url.username}:{url.password}@" if url.username else "") + host + \
                    (f":{url.port}" if url.port else "")
                size = await fetch_http(f"{scheme}://{netloc}{path}", partial, self.ctx.transfer_timeout)
            elif scheme == "scp":
                write(text("accessing", url=display))
                password = url.password
                if password is None:
                    write("\n")
                    password = await self.session.ask("Password: ", secret=True)
                    if password is None:
                        return None
                size = await fetch_scp(host, url.port or 22, user or device.username, password, path, partial,
                                       self.ctx.transfer_timeout)
            elif scheme == "disk0":
                origin = device.path_of(path)
                if not origin.is_file():
                    raise TransferError("No such file or directory")
                write(text("accessing", url=f"disk0:/{path}"))
                shutil.copyfile(origin, partial)
                size = partial.stat().st_size
            else:
                origin = Path(path)
                if not origin.is_file():
                    raise TransferError("No such file or directory")
                write(text("accessing", url=source))
                shutil.copyfile(origin, partial)
                size = partial.stat().st_size
        except TransferError as exc:
            partial.unlink(missing_ok=True)
            return "\n" + text("copy_error_open", url=display, reason=exc)
        except Refused as refused:
            partial.unlink(missing_ok=True)
            return "\n" + refused.message
        if size > free:
            partial.unlink(missing_ok=True)
            return "\n" + say("refuse", "disk_full", name=dest_name)
        bangs = "!" * max(1, min(size // 4096, 60))
        write(bangs + "\n" + text("writing", name=dest_name) + "\n" + bangs + "\n")
        partial.replace(target)
        if fault == "corrupt":
            _corrupt(target)
        device.add_file(dest_name, source=display)
        secs = max(0.01, size / (asa_data().timings["copy_rate_mbps"] * 125000))
        lines = []
        if ImageName.parse(dest_name) is None:
            lines.append(text("no_signature"))
        lines.append(text("copied", size=size, secs=f"{secs:.3f}", rate=int(size / secs)))
        return "\n".join(lines) + "\n"


def _corrupt(path: Path) -> None:
    """A `package.transfer` corrupt fault: the file is cut short and its header spoiled."""
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.write(b"ASA-SIM-IMAGE CORRUPT\n")
        f.truncate(max(32, size // 2))


async def exec_on(device: AsaDevice, command: str, *, user: str = "enable_15", peer: str = "127.0.0.1") -> str:
    """Run one privileged command on `device` and return what it printed (`failover exec`)."""
    channel = _CaptureChannel()
    session = Session(channel, interactive=False,
                      on_command=lambda mode, line: device.ctx.journal.emit(device.name, "command", mode=mode,
                                                                              line=line, via="failover exec"))
    shell = AsaShell(session, AsaContext(device, user=user, peer=peer), mode="exec")
    await session.run_one(shell, command)
    return "".join(channel.out).rstrip("\n")


# -- SFTP/SCP into disk0: (for an SSH surface whose file system root is the unit's disk0: folder) --------
def sftp_path(path: bytes) -> bytes:
    """`disk0:/x.bin`, `flash:x.bin` (as `scp file admin@asa:disk0:/x.bin` sends them) -> `/x.bin`."""
    text_path = path.decode(errors="replace")
    name = disk_name(text_path)
    return ("/" + name).encode() if name is not None else path


def file_arrived(device: AsaDevice, path: Path) -> None:
    """A file written into disk0: by SFTP/SCP: the unit registers it."""
    try:
        relative = path.resolve().relative_to(device.disk_dir.resolve())
    except ValueError:
        return
    device.add_file(str(relative), source="scp")
