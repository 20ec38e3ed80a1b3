"""FMC model objects as FMC REST API objects: device records, HA pair
containers, task statuses, domains, and the paged list envelope."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from simulator.kinds.fmc.facts import fmc
from simulator.kinds.fmc.health import alerts as health_alerts
from simulator.kinds.fmc.health import fault_alert
from simulator.kinds.fmc.model import Backup, FmcDevice, Task
from simulator.kinds.fmc.upgrades import UpgradePackage
from simulator.kinds.ftd import facts as ftd_facts


def base_url(request: web.Request) -> str:
    return f"https://{request.host}"


def self_link(request: web.Request, path: str) -> dict[str, str]:
    return {"self": base_url(request) + path}


def domain_ref(device: FmcDevice, uuid: str) -> dict[str, str]:
    name = next((n for n, u in device.domains if u == uuid), "Global")
    return {"name": name, "id": uuid, "type": "Domain"}


def page(request: web.Request, full: list[dict[str, Any]], offset: int, limit: int, expanded: bool) -> dict[str, Any]:
    """The list envelope: `items` (left out when empty), `paging` with full
    `next`/`prev` URLs that carry their own offset, limit and expanded."""
    count = len(full)
    chosen = full[offset:offset + limit]
    items = chosen if expanded else [{k: item[k] for k in ("id", "type", "name", "links") if k in item}
                                     for item in chosen]

    def url(at: int) -> str:
        query = {**request.query, "offset": str(at), "limit": str(limit)}
        if expanded:
            query["expanded"] = "true"
        return f"{base_url(request)}{request.path}?{urlencode(query)}"

    paging: dict[str, Any] = {"offset": offset, "limit": limit, "count": count,
                              "pages": -(-count // limit) if count else 0}
    if offset + limit < count:
        paging["next"] = [url(offset + limit)]
    if offset > 0:
        paging["prev"] = [url(max(0, offset - limit))]
    body: dict[str, Any] = {"links": {"self": url(offset)}, "paging": paging}
    if items:
        body["items"] = items
    return body


def health(device: Any) -> str:
    """The record's healthStatus: green while the device runs its applications and no
    upgrade-related health test alerts (time synchronisation, HA), yellow otherwise;
    red under a `health` fault (a critical test) or while its applications are down."""
    if fault_alert(device, count=False):
        return "red"
    if device.apps_up:
        return "yellow" if health_alerts(device) else "green"
    return "yellow" if device.services_up else "red"


def device_record(request: web.Request, fmc_device: FmcDevice, domain: str, device: Any) -> dict[str, Any]:
    path = f"/api/fmc_config/v1/domain/{domain}/devices/devicerecords/{device.uuid}"
    info = ftd_facts.ftd().models[device.model]
    train = device.train
    metadata: dict[str, Any] = {
        "readOnly": {"state": False},
        "deviceSerialNumber": device.serial,
        "domain": domain_ref(fmc_device, fmc_device.domain_of(device)),
        "isPartOfContainer": device.ha is not None and not device.ha.broken,
        "isMultiInstance": False,
        "lspVersion": train.lsp,
        "vdbVersion": train.vdb,
        "sruVersion": fmc_device.release.sru,
        "isSnort3": True,
        "inventoryData": {},
    }
    pair = device.ha
    if pair is not None and not pair.broken:
        metadata["containerDetails"] = {"id": fmc_device.pair_id(pair), "name": pair.name, "type": "DeviceHAPair"}
    host = device.host
    if host is not None:
        metadata["chassisData"] = {"securityModuleNo": str(device.host_slot), "chassisUrl": host.name,
                                   "securityModuleSN": device.serial, "chassisSerialNo": host.serial}
    return {
        "id": device.uuid, "type": "Device", "name": device.name, "links": self_link(request, path),
        "description": "NOT SUPPORTED", "hostName": device.name,
        "model": info.description, "modelId": "A", "modelNumber": str(info.type_id), "modelType": "Sensor",
        "sw_version": device.ver.numbers, "healthStatus": health(device),
        "ftdMode": "ROUTED", "snortEngine": "SNORT3", "keepLocalEvents": False, "prohibitPacketTransfer": False,
        "license_caps": ["MALWARE", "URLFilter", "THREAT"],
        "metadata": metadata,
    }


def unit_status(pair: Any, unit: Any) -> dict[str, Any]:
    state = pair.unit_state[unit.name]
    return {"currentStatus": {"Active": "Active", "Standby Ready": "Standby"}.get(state, state),
            "device": {"id": unit.uuid, "name": unit.name, "type": "Device"}}


def ha_record(request: web.Request, fmc_device: FmcDevice, domain: str, pair: Any) -> dict[str, Any]:
    pair_id = fmc_device.pair_id(pair)
    path = f"/api/fmc_config/v1/domain/{domain}/devicehapairs/ftddevicehapairs/{pair_id}"
    primary, secondary = pair.primary, pair.secondary
    info = ftd_facts.ftd().models[primary.model]
    return {
        "id": pair_id, "type": "DeviceHAPair", "name": pair.name, "links": self_link(request, path),
        "primary": {"id": primary.uuid, "type": "Device", "name": primary.name},
        "secondary": {"id": secondary.uuid, "type": "Device", "name": secondary.name},
        "ftdHABootstrap": {"isEncryptionEnabled": False, "useSameLinkForFailovers": True},
        "model": info.description, "modelId": "A", "modelNumber": str(info.type_id), "modelType": "Sensor",
        "sw_version": primary.ver.numbers, "healthStatus": health(primary),
        "metadata": {"primaryStatus": unit_status(pair, primary), "secondaryStatus": unit_status(pair, secondary),
                     "domain": domain_ref(fmc_device, domain), "readOnly": {"state": False}},
    }


def task_ref(request: web.Request, domain: str, task: Task) -> dict[str, Any]:
    return {"id": task.id, "type": "TaskStatus",
            "links": self_link(request, f"/api/fmc_config/v1/domain/{domain}/job/taskstatuses/{task.id}")}


def task_status(request: web.Request, domain: str, task: Task) -> dict[str, Any]:
    return {**task_ref(request, domain, task), "name": task.name, "taskType": task.task_type,
            "status": task.status, "message": task.message, "description": task.message,
            "subTasks": task.sub_tasks}


def server_version(request: web.Request, device: FmcDevice) -> dict[str, Any]:
    release = device.release
    return {"serverVersion": device.version_text, "vdbVersion": release.vdb, "sruVersion": release.sru,
            "lspVersion": release.lsp, "geoVersion": release.geo, "type": "ServerVersion"}


def domain_item(request: web.Request, name: str, uuid: str) -> dict[str, Any]:
    return {"name": name, "uuid": uuid, "id": uuid, "type": "Domain",
            "links": self_link(request, f"/api/fmc_platform/v1/info/domain/{uuid}")}


def limits() -> tuple[int, int]:
    api = fmc().api
    return api.page_default, api.page_max


def package(request: web.Request, package: UpgradePackage) -> dict[str, Any]:
    return {"id": package.id, "name": package.name, "type": "UpgradePackage",
            "links": self_link(request, f"/api/fmc_platform/v1/updates/upgradepackages/{package.id}")}


def applicable(request: web.Request, fmc_device: FmcDevice, package: UpgradePackage, device: Any) -> dict[str, Any]:
    link = self_link(request, f"/api/fmc_platform/v1/updates/upgradepackages/{package.id}/applicabledevices/{device.uuid}")
    if device is fmc_device:        # its own package: the management center itself
        return {"id": device.uuid, "name": device.name, "type": "Device", "links": link,
                "upgradePackage": {"id": package.id, "type": "UpgradePackage"},
                "model": fmc().models[device.model].platform, "modelType": "FMC",
                "sw_version": device.ver.numbers, "isPartOfContainer": False}
    info = ftd_facts.ftd().models[device.model]
    pair = device.ha if device.ha is not None and not device.ha.broken else None
    return {"id": device.uuid, "name": device.name, "type": "Device",
            "upgradePackage": {"id": package.id, "type": "UpgradePackage"},
            "model": info.description, "modelId": "A", "modelNumber": str(info.type_id), "modelType": "Sensor",
            "sw_version": device.ver.numbers, "healthStatus": health(device),
            "isPartOfContainer": pair is not None, **({"containerType": "DeviceHAPair"} if pair else {}),
            "links": self_link(request, f"/api/fmc_platform/v1/updates/upgradepackages/{package.id}"
                                        f"/applicabledevices/{device.uuid}")}


def backup_file(request: web.Request, domain: str, backup: Backup) -> dict[str, Any]:
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(backup.created))
    return {"id": backup.id, "name": backup.name, "type": "BackupFile", "createdTime": when,
            "device": {"id": backup.device_id, "name": backup.device_name, "type": "Device"},
            "links": self_link(request, f"/api/fmc_config/v1/domain/{domain}/backup/files/{backup.id}")}
