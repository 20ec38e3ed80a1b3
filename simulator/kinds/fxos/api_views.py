"""The chassis as its REST API shows it: objects keyed by class name, each
with a `dn` (shared/reference/rest-apis.md §2). Where the real body is not
known the objects follow that UCS/DME style (camelCase attributes, lowercase
enum values); docs/fidelity/fxos.md §4 lists which."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.kinds.base import Refused
from simulator.kinds.fxos import views
from simulator.kinds.fxos.facts import fxos_data, say
from simulator.kinds.fxos.model import AppInstance, FxosChassis, app_version

FIRMWARE_KINDS = {"mgmt": "sys/mgmt/fw-system", "system": "sys/fw-system", "kernel": "sys/mgmt/fw-kernel",
                  "chassis-manager": "sys/mgmt/fw-chassis-manager"}
INSTALL_STATUS = {"IN_PROGRESS": "in-progress", "COMPLETED": "success", "FAILED": "fail", "CANCELLED": "cancelled"}
DOWNLOAD_FSM = {"Downloading": "DownloadLocal", "Downloaded": "nop", "Failed": "fail"}


def _enum(text: str) -> str:
    return text.strip().lower().replace(" ", "-")


def firmware_running(ch: FxosChassis, kind: str) -> dict[str, Any]:
    return {"dn": FIRMWARE_KINDS[kind], "deployment": "system", "type": kind, "packageVersion": ch.version,
            "version": ch.version, "startupVersion": ch.startup_version}


def distributable(ch: FxosChassis, filename: str) -> dict[str, Any]:
    info = ch.packages[filename]
    name = filename.removesuffix(".SPA")
    return {"dn": f"sys/fw-catalogue/distrib-{name}", "name": name, "fileName": filename,
            "type": "platform-bundle", "version": info.version, "size": str(info.size_kb * 1024),
            "imageStatus": "valid" if not info.problem else "invalid"}


def downloader(ch: FxosChassis, filename: str) -> dict[str, Any]:
    task = ch.downloads[filename]
    return {"dn": f"sys/fw-catalogue/dnld-{filename}", "fileName": filename, "protocol": task.protocol,
            "server": task.server, "port": str(task.port), "user": task.userid, "remotePath": task.path,
            "transferState": _enum(task.state), "fsmProgr": str(task.percent),
            "fsmStatus": DOWNLOAD_FSM[task.state],
            "fsmDescr": views.template("task_current", filename=filename, server=task.server or "local")
            if task.state == "Downloading" else "",
            "fsmRmtInvErrCode": task.error_code or "none", "fsmRmtInvErrDescr": task.error_text,
            "fsmRmtInvRslt": "end-point-failed" if task.state == "Failed" else "not-applicable",
            "downloadedImageSizeKB": str(task.size_kb), "fsmTry": str(task.tries)}


def components(ch: FxosChassis) -> list[dict[str, Any]]:
    names = fxos_data().components
    return [{"dn": f"sys/fw-system/monitor/{names[c.role].rn.format(slot=c.slot)}", "name": c.name,
             "packageVersion": c.package_vers, "upgradeStatus": _enum(c.status)} for c in ch.components]


def install_fsm(ch: FxosChassis) -> dict[str, Any]:
    inst = ch.install
    base = {"dn": "sys/fw-system/fsm", "firmwareMonitor": components(ch)}
    if inst is None:
        return {**base, "currentFsm": "nop", "fsmStatus": "nop", "progress": "100", "descr": "",
                "platformBundleVersion": ch.version, "rmtErrDescr": ""}
    phase = ch.install_phase
    progress = fxos_data().install_phases[phase].progress if phase else 100
    return {**base, "currentFsm": "DeployPlatformBundle" if phase else "nop",
            "fsmStatus": INSTALL_STATUS[inst.state], "progress": str(progress), "stage": phase or "nop",
            "descr": inst.log[-1][1] if inst.log else "", "platformBundleVersion": inst.target,
            "previousVersion": inst.base, "rebootCount": str(inst.reboots), "rmtErrDescr": inst.detail,
            "startTime": views.stamp(inst.started),
            "completionTime": views.stamp(inst.finished) if inst.finished else ""}


def validation(ch: FxosChassis, version: str) -> dict[str, Any]:
    try:
        check = ch.verify_platform(version)
    except Refused as exc:
        if exc.reason == "not_ready":
            raise
        return {"dn": f"sys/fw-system/validate-{version}", "platformBundleVersion": version,
                "validationStatus": "invalid", "descr": exc.message, "incompatibleApps": []}
    descr = check.errors[0] if check.errors else (
        say("apps_incompatible", target=check.target) if check.incompatible else "")
    return {"dn": f"sys/fw-system/validate-{check.target}", "platformBundleVersion": check.target,
            "validationStatus": "valid" if check.ok else "invalid", "descr": descr,
            "firmwareUpgrade": "yes" if check.firmware else "no", "rebootRequired": "yes",
            "incompatibleApps": [{"appName": a["app"], "identifier": a["identifier"], "slotId": a["slot"],
                                  "version": a["version"]} for a in check.incompatible]}


def infra_pack(version: str, status: str) -> dict[str, Any]:
    """The scheduled platform install (sched-platform-fw, cancel-platform-fw)."""
    return {"firmwareInfraPack": [{"dn": "sys/fw-system/infra-pack", "platformBundleVersion": version,
                                   "status": status}]}


def app_instance(ch: FxosChassis, app: AppInstance) -> dict[str, Any]:
    return {"dn": f"slot/{app.slot}/app-inst/{app.app}-{app.identifier}", "appName": app.app,
            "identifier": app.identifier, "slotId": str(app.slot), "adminState": _enum(app.admin_state),
            "operState": _enum(ch.app_oper_state(app)), "runningVersion": app_version(app.device.version),
            "startupVersion": app_version(app.device.version),
            "deployType": "native" if len(ch.modules[app.slot].apps) == 1 else "container",
            "clusterState": "not-applicable", "clusterRole": "none"}


def slot_obj(ch: FxosChassis, slot: int) -> dict[str, Any]:
    return {"dn": f"slot/{slot}", "slotId": str(slot), "adminState": "ok", "logLevel": "info",
            "operState": _enum(ch.slot_oper_state(slot)), "numOfAppInstances": str(len(ch.modules[slot].apps)),
            "smAppInstance": [app_instance(ch, a) for a in ch.modules[slot].apps]}


def logical_device(ch: FxosChassis, slot: int, app: AppInstance) -> dict[str, Any]:
    return {"dn": f"ld/{app.device.name}", "name": app.device.name, "slotId": str(slot), "templateName": "ftd",
            "ldMode": "standalone", "operState": "ok" if ch.app_oper_state(app) == "Online" else "not-ready",
            "errorMsg": ""}


def fault_objs(ch: FxosChassis) -> list[dict[str, Any]]:
    return [{"dn": f"sys/fault-{f['id']}", "id": str(f["id"]), "code": f["code"],
             "severity": f["severity"].lower(), "descr": f["descr"], "lastTransition": views.stamp(f["time"])}
            for f in views.faults(ch)]


# classId -> the objects `GET /api/?classId=` lists
CLASSES: dict[str, Callable[[FxosChassis], list[dict[str, Any]]]] = {
    "smAppInstance": lambda ch: [app_instance(ch, a) for _s, a in ch.apps()],
    "smSlot": lambda ch: [slot_obj(ch, s) for s in ch.modules],
    "smLogicalDevice": lambda ch: [logical_device(ch, s, a) for s, a in ch.apps()],
    "faultInst": fault_objs,
    "firmwareDownloader": lambda ch: [downloader(ch, f) for f in sorted(ch.downloads)],
    "firmwareDistributable": lambda ch: [distributable(ch, f) for f in sorted(ch.packages)],
    "firmwareRunning": lambda ch: [firmware_running(ch, k) for k in FIRMWARE_KINDS],
}
