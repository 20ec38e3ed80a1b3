"""FTD output rendered from the device model with the templates of
data/cli/ftd.yaml; shared by the FTD CLI, its diagnostic CLI and expert shell."""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.ftd import facts as ftd_facts
from simulator.kinds.ftd.model import FtdDevice, Job
from simulator.terminal.tree import CommandTree


@cache
def cli_data(name: str) -> dict[str, Any]:
    return read_yaml(f"kinds/ftd/{name}.yaml")


@cache
def tree(name: str) -> CommandTree:
    return CommandTree(cli_data(name))


def template(name: str, key: str, **values: Any) -> str:
    return cli_data(name)["templates"][key].format(**values)


def ftd_text(key: str, **values: Any) -> str:
    return template("cli", key, **values)


def stamp(t: float) -> str:
    """`Mon Nov 23 10:33:28 UTC 2026`"""
    return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(t))


def os_line(device: FtdDevice) -> str:
    """The banner's OS line: the FX-OS (or Fire Linux) build the release runs on (facts.yaml os_releases)."""
    v = device.ver
    known = ftd_facts.ftd().os_release(v.numbers)
    if device.info.os == "fxos":
        fx_os = known.fx_os or f"{device.train.fxos}.{v.maintenance} (build {v.build})"
        return f"Cisco Firepower Extensible Operating System (FX-OS) v{fx_os}"
    return f"Cisco Fire Linux OS v{known.fire_linux or f'{v.release.numbers} (build {v.build})'}"


def banner(device: FtdDevice, last_login: str) -> str:
    v = device.ver
    year = ftd_facts.ftd().os_release(v.numbers).copyright or time.gmtime(device.ctx.clock.now()).tm_year
    return ftd_text("banner", last_login=last_login, year=year, os_line=os_line(device),
                    model_line=f"{device.info.description} v{v.numbers} (build {v.build})")


def show_version(device: FtdDevice) -> str:
    v, t = device.ver, device.train
    header = f"[ {device.hostname} ]".center(52, "-")
    return ftd_text("show_version", header=header, description=device.info.description,
                    type_id=device.info.type_id, numbers=v.numbers, build=v.build, uuid=device.uuid,
                    lsp=t.lsp, vdb=t.vdb).rstrip("\n")


def uptime(device: FtdDevice) -> str:
    secs = int(device.ctx.clock.now() - device.booted_at)
    days, rest = divmod(secs, 86400)
    hours, rest = divmod(rest, 3600)
    mins = rest // 60
    parts = [f"{days} days"] if days else []
    parts += [f"{hours} hours"] if hours or days else []
    parts.append(f"{mins} mins")
    return " ".join(parts)


def upgrade_status(device: FtdDevice) -> str:
    job = device.job
    if job is None:
        return ftd_text("status_none")
    phase = device.job_phase
    if job.state == "IN_PROGRESS" and phase in ("readiness", "install", "rollback"):
        return ftd_text("status_running", percent=job.percent, minutes=(device.remaining_seconds() + 59) // 60,
                        message=job.message or "Checking device readiness", script=job.script or "000_start")
    if job.state in ("IN_PROGRESS", "CANCELLED") and phase in ("reboot", "post"):
        return ftd_text("status_rebooting", message=job.message)
    return ftd_text("status_done", message=job.message)


def status_line(entry: list[Any]) -> str:
    t, percent, text = entry
    return ftd_text("status_line", timestamp=stamp(t), percent=percent, text=text)


def status_detail(device: FtdDevice) -> str:
    job = device.job
    if job is None:
        return ftd_text("status_none")
    head = detail_head(job)
    return head + "\n".join(status_line(e) for e in job.log)


def detail_head(job: Job) -> str:
    return ftd_text("status_detail_head", package=job.package or "(revert)", update_type=job.update_type,
                    base=job.base_version, target=job.target_version, state=job.state,
                    auto_cancel="enabled" if job.auto_cancel else "disabled")


def last_upgrade(device: FtdDevice) -> str:
    if not device.history:
        return ftd_text("last_upgrade_none")
    last = device.history[-1]
    return ftd_text("last_upgrade", package=last["package"] or "(revert)", update_type=last["type"],
                    base=last["from"], target=last["to"], result=last["result"],
                    started=stamp(last["started"]), finished=stamp(last["finished"])).rstrip("\n")


def revert_info(device: FtdDevice) -> str:
    snap = device.revert
    if snap is None:
        return ftd_text("revert_info_none")
    return ftd_text("revert_info", version=snap.version, size_kb=snap.size_kb, taken=stamp(snap.taken)).rstrip("\n")


def status_log_name(package: str) -> str:
    """The device's upgrade log folder: the package name cut after the version
    (`Cisco_FTD_Upgrade-7.2.5-208.sh.REL.tar` -> `Cisco_FTD_Upgrade-7.2.5`)."""
    return "-".join(package.split("-", 2)[:2])


def _human(mb: float) -> str:
    return f"{mb / 1024:.1f}G" if mb >= 1024 else f"{int(mb)}M"


def disk(device: FtdDevice) -> str:
    total, free = device.disk_total_mb, device.disk_free_mb
    ngfw = max(total * 0.15, 4096)
    vol = total - ngfw
    vol_used = max(0, vol - free)
    return ftd_text("disk", ngfw_size=_human(ngfw), ngfw_used=_human(ngfw * 0.42), ngfw_free=_human(ngfw * 0.58),
                    ngfw_pct=42, vol_size=_human(vol), vol_used=_human(vol_used), vol_free=_human(free),
                    vol_pct=int(100 * vol_used / vol) if vol else 0).rstrip("\n")


def managers(device: FtdDevice) -> str:
    """`show managers`: the management center and its registration, or local management."""
    manager = device.manager
    if manager is None:
        return ftd_text("managers_local")
    display = manager.display_name or manager.host
    if not manager.registered:
        return ftd_text("managers_pending", host=manager.host, display=display)
    return ftd_text("managers", host=manager.host, display=display, version=manager.version or "",
                    identifier=manager.identifier or "")
