"""FTD model objects rendered as Device Manager API objects (the field names
of the FDM API specification; see ../shared/reference/rest-apis.md §1)."""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from simulator.kinds.ftd import facts as ftd_facts
from simulator.kinds.ftd.config import Change, Deployment
from simulator.kinds.ftd.files import UPDATES_DIR
from simulator.kinds.ftd.ha import ha_data
from simulator.kinds.ftd.model import FtdDevice, Job, Readiness
from simulator.kinds.ftd.versions import PackageName, Version


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(t: float | None) -> int:
    """FDM's job times: epoch milliseconds, -1 when not (yet) set."""
    return -1 if t is None else int(t * 1000)


def short_version(*parts: Any) -> str:
    """An object's `version` (its optimistic-lock tag): changes when the object does."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


def upload_status(filename: str) -> dict[str, Any]:
    path = f"{UPDATES_DIR}/{filename}"
    return {"version": short_version(filename), "name": path, "fileName": path, "id": filename,
            "type": "fileuploadstatus"}


def _upgrade_from(target: str | None) -> str | None:
    """The oldest release the package installs on: the oldest train whose
    upgrade paths reach the target's train (or the target's own train.0)."""
    if not target:
        return None
    data = ftd_facts.ftd()
    version = Version.parse(target)
    train = data.train_of(version.numbers)
    if version.maintenance:
        return f"{train}.0"
    sources = [t for t, targets in data.upgrade_paths.items() if train in targets and t != train]
    oldest = min(sources, key=lambda t: tuple(int(p) for p in t.split(".")), default=train)
    return oldest if oldest.count(".") == 2 else f"{oldest}.0"


def upgrade_file(device: FtdDevice) -> dict[str, Any]:
    package = device.package
    assert package is not None and device.package_id is not None
    try:
        kind: str | None = PackageName.parse(package.filename).kind
    except ValueError:
        kind = package.kind
    # Every package kind ends in a reboot on this model (hotfixes included).
    return {"version": short_version(device.package_id), "user": device.username,
            "uploadDate": iso(device.package_uploaded), "fileSize": package.file_bytes,
            "upgradeFileName": package.filename, "updateVersion": package.version,
            "upgradeFrom": _upgrade_from(package.version), "rebootRequired": True,
            "upgradeType": kind, "id": device.package_id, "type": "upgradefile"}


def readiness_status(device: FtdDevice, ready: Readiness) -> dict[str, Any]:
    now = device.ctx.clock.now()
    total = ftd_facts.ftd().readiness_scripts
    if ready.state == "IN_PROGRESS":
        done = min(1.0, (now - ready.started) / ready.duration) if ready.duration else 0.0
        percent, remaining, executed = int(done * 100), int(max(0.0, ready.started + ready.duration - now)), int(done * total)
        message = "Upgrade readiness check is in progress."
    else:
        percent, remaining, executed = 100, 0, total
        message = "Upgrade readiness check completed successfully." if ready.state == "SUCCESS" else "; ".join(ready.messages)
    target = device.package.version if device.package and device.package.filename == ready.package else None
    return {"state": ready.state, "filename": ready.package, "baseVersion": device.version,
            "targetVersion": target, "message": message, "progressPercent": percent,
            "startTime": iso(ready.started), "endTime": iso(ready.finished),
            "timeRemainingInSeconds": remaining,
            "elapsedTimeInSeconds": int((ready.finished or now) - ready.started),
            "totalScripts": total, "executedScripts": executed,
            "failedScripts": len(ready.messages) if ready.state == "FAILED" else 0,
            "id": "default", "type": "upgradereadinesscheckstatus"}


def upgrade_status(device: FtdDevice, job: Job | None) -> dict[str, Any]:
    if job is None:
        return {"state": None, "upgradePackageFilename": None, "updateType": None, "baseVersion": None,
                "targetVersion": None, "canCancel": False, "canRetry": False, "cancelOnFailure": None,
                "message": "No upgrade has been run on this device.", "detailedFailure": None,
                "progressPercent": 0, "timeRemainingInSeconds": 0, "startTime": None, "endTime": None,
                "id": "default", "type": "upgradestatus"}
    # A cancel (rollback) in progress is still a running job to the API.
    phase = device.job_phase
    state = "IN_PROGRESS" if job.state == "CANCELLED" and phase != "done" else job.state
    message = job.message
    if state == "IN_PROGRESS" and phase in ("install", "rollback") and job.script:
        message = f"{job.message}... ({job.script})"
    return {"state": state, "upgradePackageFilename": job.package or None, "updateType": job.update_type,
            "baseVersion": job.base_version, "targetVersion": job.target_version,
            "canCancel": device.may_cancel(), "canRetry": device.may_retry(), "cancelOnFailure": job.auto_cancel,
            "message": message, "detailedFailure": job.detail, "progressPercent": job.percent,
            "timeRemainingInSeconds": device.remaining_seconds(), "startTime": iso(job.started),
            "endTime": iso(job.finished), "id": "default", "type": "upgradestatus"}


def revert_info(device: FtdDevice) -> dict[str, Any]:
    snap = device.revert
    assert snap is not None
    return {"revertVersion": snap.version, "spaceUsedByRevert": snap.size_kb, "timestamp": iso(snap.taken),
            "id": "default", "type": "upgraderevertinfo"}


def system_info(device: FtdDevice, host: str) -> dict[str, Any]:
    train, info = device.train, device.info
    sru = train.lsp.removeprefix("lsp-rel-")
    return {
        "ipv4": host, "ipv6": None, "softwareVersion": device.version,
        "sspOsVersion": device.fxos_version or (device.ssp_version if info.os == "fxos" else None),
        "vdbVersion": {"vdbCurrentVersion": train.vdb, "vdbCurrentBuild": "0", "type": "vdbversion"},
        "sruVersion": {"sruVersion": sru, "lspVersions": [train.lsp], "type": "sruversion"},
        "snortVersion": {"snortVersion": "3", "type": "snortversion"},
        # buildVersion: community.network's FDM modules pick their filter syntax by it (>= 6.4.0: fts~)
        "databaseInfo": {"softwareVersion": device.version, "buildVersion": device.version, "type": "databaseinfo"},
        "platformModel": info.description, "modelId": str(info.type_id), "modelNumber": device.model,
        "currentTime": epoch_ms(device.local_time()), "serialNumber": device.serial,
        "applianceUuid": device.uuid, "managementInterfaceName": "Management0/0",
        "systemUptime": epoch_ms(device.booted_at), "hotfixes": list(device.hotfixes),
        "id": "default", "type": "systeminformation",
    }


def hostname(device: FtdDevice) -> dict[str, Any]:
    name = device.candidate["hostname"]
    return {"version": short_version(name), "hostname": name, "id": device.hostname_id,
            "type": "devicehostname"}


def network(obj_id: str, obj: dict[str, Any]) -> dict[str, Any]:
    out = {"version": obj["version"], "name": obj["name"], "description": obj.get("description"),
           "subType": obj["subType"], "value": obj["value"], "isSystemDefined": False,
           "id": obj_id, "type": "networkobject"}
    if obj["subType"] == "FQDN":
        out["dnsResolution"] = "IPV4_AND_IPV6"
    return out


def change(item: Change) -> dict[str, Any]:
    return {"entityId": item.entity_id, "entityType": item.entity_type, "entityName": item.name,
            "actionType": item.action, "type": "baseentitydiff"}


def deployment(item: Deployment) -> dict[str, Any]:
    running = item.state in ("QUEUED", "DEPLOYING")
    return {"statusMessage": item.message or ("Deployment queued" if item.state == "QUEUED" else "Deploying"),
            "cliErrorMessage": None, "state": item.state, "queuedTime": epoch_ms(item.queued),
            "startTime": epoch_ms(item.started), "endTime": -1 if running else epoch_ms(item.finished),
            "statusMessages": [item.message] if item.message else [], "id": item.id,
            "name": "Deployment", "modifiedObjects": {"items": item.changes}, "type": "deploymentstatus"}


_JOB_STATUS = {"QUEUED": "QUEUED", "DEPLOYING": "IN_PROGRESS", "DEPLOYED": "SUCCESS", "DEPLOY_FAILED": "FAILED"}


def deployment_job(item: Deployment, user: str) -> dict[str, Any]:
    return {"jobName": "Deployment", "jobDescription": "Deploy pending changes", "user": user,
            "startDateTime": iso(item.started or item.queued), "endDateTime": iso(item.finished),
            "status": _JOB_STATUS[item.state], "statusMessage": item.message, "scheduleUuid": None,
            "id": item.id, "type": "jobhistorydeployment"}


def ha_status(device: FtdDevice) -> dict[str, Any]:
    """HAStatus: this unit's and its peer's node states, as FDM names them."""
    pair = device.ha
    if pair is None or pair.broken:
        return {"nodeRole": None, "nodeState": "SINGLE_NODE", "peerNodeState": "HA_UNKNOWN_NODE",
                "configStatus": "UNKNOWN", "haHealthStatus": "HEALTHY", "id": "default", "type": "hastatus"}
    names = ha_data()["fdm_node_state"]
    peer = pair.peer_of(device)
    peer_state = pair.unit_state[peer.name] if pair.link_up else "Failed"
    health, _ = pair.health()
    return {"nodeRole": "HA_PRIMARY" if device is pair.primary else "HA_SECONDARY",
            "nodeState": names[pair.unit_state[device.name]], "peerNodeState": names[peer_state],
            "configStatus": pair.config_status, "haHealthStatus": health, "id": "default", "type": "hastatus"}


def ha_configuration(device: FtdDevice) -> dict[str, Any]:
    pair = device.ha
    role = None if pair is None or pair.broken else ("HA_PRIMARY" if device is pair.primary else "HA_SECONDARY")
    address = lambda ip: {"ipAddress": ip, "netmask": "255.255.255.252", "type": "ipv4address"}  # noqa: E731
    return {"version": short_version(role), "name": pair.name if pair else None, "nodeRole": role,
            "failoverInterface": {"name": "failover-link", "hardwareName": "GigabitEthernet0/2",
                                  "type": "physicalinterface"} if role else None,
            "failoverName": "failover-link" if role else None,
            "primaryFailoverIPv4": address("10.255.255.1") if role else None,
            "secondaryFailoverIPv4": address("10.255.255.2") if role else None,
            "statefulFailoverInterface": None, "statefulFailoverName": None,
            "id": device.hostname_id.replace("-", "")[:8] + "-ha", "type": "haconfiguration"}


def ha_job(job_id: str, action: str, now: float) -> dict[str, Any]:
    """Join/Break status: a deployment-like job that finished at once."""
    stamp = epoch_ms(now)
    return {"statusMessage": f"High availability {action} completed", "cliErrorMessage": None,
            "state": "DEPLOYED", "queuedTime": stamp, "startTime": stamp, "endTime": stamp,
            "statusMessages": [], "id": job_id, "name": f"HA {action}", "modifiedObjects": {"items": []},
            "type": f"ha{action}status"}
