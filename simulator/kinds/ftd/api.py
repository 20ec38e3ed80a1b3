"""The Device Manager (FDM) REST API of a simulated FTD.

Every route is listed once in ROUTES with the operationId of the real API
specification; the spec the device serves (api_spec.yaml) is
checked against this table by the tests, and request bodies against the spec
(api_spec.py). Handlers translate HTTP to model calls and model objects to
FDM JSON (api_views); refusals become FDM's error envelope with the real
status codes (404 unknown id, 422 refused action). Bodies are JSON of at
most JSON_BODY_MAX bytes, but for the upgrade upload (UPLOAD_MAX, streamed)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.http_exceptions
from aiohttp import BodyPartReader, web

from simulator.faults import Fault
from simulator.kinds.base import Refused, transfer_fault
from simulator.kinds.ftd import api_views as views
from simulator.kinds.ftd import facts as ftd_facts
from simulator.kinds.ftd.api_auth import FdmSessions, TokenError
from simulator.kinds.ftd.api_spec import BodyError, check_body, served_spec
from simulator.kinds.ftd.files import make_device_fs, receive_package, updates_dir
from simulator.kinds.ftd.model import FtdDevice
from simulator.surfaces.https import (
    Api,
    ApiError,
    Https,
    Mode,
    Route,
    device_of,
    site_of,
    state_of,
)
from simulator.webserver import parse_json, read_text

API = "/api/fdm/{v}"
USER = web.RequestKey("user", str)
PAGE_LIMIT = 10
UPLOAD_MAX = 4 * 1024**3       # an upgrade package (the largest are about 2.5 GB); JSON bodies: JSON_BODY_MAX


def web_mode(device: FtdDevice) -> Mode:
    """What the device's web server does in its current state (the reference's
    capture of a real 7.6 upgrade): 503 while it shuts down, while its
    applications start after the OS boot and during post-upgrade tasks;
    connections refused while the OS boots, when off, or when unusable."""
    if device.manager is not None:
        return "closed"         # a device a management center manages has no Device Manager
    if device.web_starting:
        return "unavailable"
    return "serve" if device.services_up else "closed"


class FdmState:
    """A device's API state: its token sessions and its HA break jobs."""

    def __init__(self, device: FtdDevice) -> None:
        self.sessions = FdmSessions(device.ctx.clock.now, device.new_id, lambda: (device.username, device.password))
        self.ha_jobs: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        self.sessions.reset()

    def expire_sessions(self) -> int:
        """Every token dies now, as at a reboot (the control API's hook for tests of expiry)."""
        count = len(self.sessions.sessions)
        self.sessions.reset()
        return count


class FdmError(ApiError):
    """An error the API answers in its envelope."""

    def __init__(self, status: int, description: str, key: str = "General", location: str = "") -> None:
        super().__init__(description)
        self.status, self.description, self.key, self.location = status, description, key, location

    def response(self) -> web.Response:
        return web.json_response(error_body(self.description, self.key, self.location), status=self.status)


def fdm_error(status: int, description: str | None) -> FdmError:
    """An error in FDM's envelope for a status the shared middleware meets (no route, a fault, a bug)."""
    if description is None:
        return api_error(status, {404: "no_route", 413: "too_large"}.get(status, "unavailable"))
    return FdmError(status, description)


def api_error(status: int, key: str, kind: str = "General", location: str = "", **values: Any) -> FdmError:
    """An error of the API in its words (facts.yaml texts.api)."""
    return FdmError(status, ftd_facts.ftd().texts["api"][key].format(**values), kind, location)


def error_body(description: str, key: str = "General", location: str = "", code: str | None = None) -> dict:
    return {"error": {"severity": "ERROR", "key": key, "messages": [
        {"description": description, "code": code or key.lower(), "location": location}]}}


# -- request helpers ----------------------------------------------------------------
async def body_text(request: web.Request) -> str:
    """The request body as text; undecodable bytes or an unknown charset are the client's error."""
    try:
        return await read_text(request)
    except (UnicodeDecodeError, LookupError):
        raise api_error(400, "not_utf8", "Validation") from None


async def json_body(request: web.Request, required: bool = True) -> dict[str, Any]:
    """The body, a JSON object that matches the operation's model in the spec (api_spec.check_body)."""
    text = await body_text(request)
    if not text.strip():
        if required:
            raise api_error(422, "no_body", "Validation")
        return {}
    try:
        body = parse_json(text)
    except ValueError as exc:
        raise api_error(400, "malformed_json", "Validation", detail=exc) from None
    if not isinstance(body, dict):
        raise api_error(422, "not_object", "Validation")
    resource = request.match_info.route.resource
    try:
        check_body(request.method, resource.canonical.removeprefix(API) if resource else "", body)
    except BodyError as exc:
        raise api_error(422, exc.key, "Validation", exc.location, **exc.values) from None
    return body


def flag(request: web.Request, name: str, default: bool) -> bool:
    raw = request.query.get(name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise api_error(422, "query_flag", "Validation", name, name=name)
    return raw.lower() == "true"


def singleton(request: web.Request) -> None:
    if request.match_info["objId"] != "default":
        raise api_error(404, "not_found", id=request.match_info["objId"])


def page(request: web.Request, items: list[dict[str, Any]]) -> web.Response:
    """FDM's list envelope, with offset/limit paging."""
    try:
        offset = max(0, int(request.query.get("offset", 0)))
        limit = max(1, int(request.query.get("limit", PAGE_LIMIT)))
    except ValueError:
        raise api_error(422, "paging", "Validation") from None
    base = str(request.url.with_query(None))
    links = lambda at: [f"{base}?offset={at}&limit={limit}"]  # noqa: E731
    return web.json_response({"items": items[offset:offset + limit], "paging": {
        "prev": links(max(0, offset - limit)) if offset > 0 else [],
        "next": links(offset + limit) if offset + limit < len(items) else [],
        "limit": limit, "offset": offset, "count": len(items), "pages": math.ceil(len(items) / limit)}})


def no_content() -> web.Response:
    """204: no body, and the JSON content type every operation of the spec produces."""
    return web.Response(status=204, content_type="application/json")


def refused(exc: Refused) -> FdmError:
    status = 404 if exc.reason == "not_found" else 422
    key = "Validation" if exc.reason in ("duplicate", "invalid") else "General"
    return FdmError(status, exc.message, key)


def upgrade_file_ref(device: FtdDevice, body: dict[str, Any]) -> None:
    """A body may name the upgrade file ({"upgradeFile": {"id", "type"}}): it must be the device's."""
    ref = body.get("upgradeFile")
    if ref is not None and ref["id"] != device.package_id:
        raise api_error(422, "upgrade_file_unknown", "Validation", "upgradeFile.id", id=ref["id"])


# -- discovery and tokens ---------------------------------------------------------------
def api_versions(device: FtdDevice) -> list[str]:
    return [device.train.fdm_api, "latest"]


async def get_versions(request: web.Request) -> web.Response:
    return web.json_response({"supportedVersions": api_versions(device_of(request))})


async def post_token(request: web.Request) -> web.Response:
    try:
        body = parse_json(await read_text(request) or "null")
    except (ValueError, LookupError):      # not JSON (or too deep), not UTF-8, unknown charset
        body = None
    try:
        answer = state_of(request).sessions.grant(body)
    except TokenError as exc:
        return web.json_response({"status_code": exc.status, "message": exc.message}, status=exc.status)
    return web.json_response(answer)


async def get_spec(request: web.Request) -> web.Response:
    return web.json_response({**served_spec(), "host": request.host,
                              "basePath": f"/api/fdm/{device_of(request).train.fdm_api}"})


# -- upgrade files -----------------------------------------------------------------------
async def upload_upgrade(request: web.Request) -> web.Response:
    site, device = site_of(request), device_of(request)
    if not request.content_type.startswith("multipart/"):
        raise api_error(422, "upload_not_multipart", "Validation", "fileToUpload")
    make_device_fs(site.fs_root)
    folder = updates_dir(site.fs_root)
    device.require_package_slot()
    fault = transfer_fault(device)
    try:
        return await _receive_upload(request, device, folder, fault)
    except (ValueError, OSError, aiohttp.ClientError, aiohttp.http_exceptions.HttpProcessingError) as exc:
        raise api_error(422, "upload_unreadable", "Validation", "fileToUpload", detail=exc) from None


async def _receive_upload(request: web.Request, device: FtdDevice, folder: Path, fault: Fault | None) -> web.Response:
    """The one part `fileToUpload`, streamed to a hidden file that becomes the
    package only once the body ended with its closing boundary."""
    reader = await request.multipart()
    part = await reader.next()
    if not isinstance(part, BodyPartReader) or part.name != "fileToUpload":
        raise api_error(422, "upload_field", "Validation", "fileToUpload")
    filename = (part.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    if not filename or filename.startswith(".") or "\0" in filename or len(filename.encode()) > 200:
        raise api_error(422, "upload_name", "Validation", "fileToUpload")
    partial = folder / f".{filename}.part"
    try:
        await _save(part, partial)
        if await reader.next() is not None:
            raise api_error(422, "upload_field", "Validation", "fileToUpload")
    except BaseException:
        partial.unlink(missing_ok=True)     # a transfer cut off leaves nothing behind
        raise
    try:
        device.ctx.journal.emit(device.name, "api.upload", filename=filename, bytes=partial.stat().st_size)
        device.require_package_slot()
    except Refused as exc:
        partial.unlink(missing_ok=True)
        raise refused(exc) from None
    path = folder / filename
    partial.replace(path)
    try:
        receive_package(device, path, fault)
    except Refused as exc:
        path.unlink(missing_ok=True)
        raise refused(exc) from None
    return web.json_response(views.upload_status(filename))


async def _save(part: BodyPartReader, path: Path) -> None:
    """A part's content to `path`, at most UPLOAD_MAX bytes; a part the body
    ends in before its boundary is an unreadable upload."""
    size = 0
    with path.open("wb") as out:
        while chunk := await part.read_chunk(1 << 20):
            size += len(chunk)
            if size > UPLOAD_MAX:
                raise api_error(413, "too_large")
            out.write(chunk)
    if not part.at_eof():
        raise ValueError("the body ended before the part's closing boundary")


def _the_upgrade_file(request: web.Request) -> FtdDevice:
    device = device_of(request)
    obj_id = request.match_info["objId"]
    if device.package is None or obj_id != device.package_id:
        raise api_error(404, "not_found", id=obj_id)
    return device


async def list_upgrade_files(request: web.Request) -> web.Response:
    device = device_of(request)
    return page(request, [views.upgrade_file(device)] if device.package else [])


async def get_upgrade_file(request: web.Request) -> web.Response:
    return web.json_response(views.upgrade_file(_the_upgrade_file(request)))


async def delete_upgrade_file(request: web.Request) -> web.Response:
    _the_upgrade_file(request).delete_package()      # the device's worker removes the file
    return no_content()


# -- readiness, upgrade, cancel, retry, revert ---------------------------------------
async def start_readiness(request: web.Request) -> web.Response:
    device = device_of(request)
    upgrade_file_ref(device, await json_body(request, required=False))
    device.run_readiness_check()
    return web.json_response({"scheduleType": "IMMEDIATE", "user": request[USER], "forceOperation": False,
                              "jobHistoryUuid": device.new_id(), "ipAddress": request.remote,
                              "jobName": "Upgrade Readiness Check", "id": device.new_id(),
                              "type": "upgradereadinesscheck"})


async def list_readiness(request: web.Request) -> web.Response:
    device = device_of(request)
    ready = device.readiness
    return page(request, [views.readiness_status(device, ready)] if ready else [])


async def get_readiness(request: web.Request) -> web.Response:
    singleton(request)
    device = device_of(request)
    if device.readiness is None:
        raise api_error(404, "no_readiness")
    return web.json_response(views.readiness_status(device, device.readiness))


async def start_upgrade(request: web.Request) -> web.Response:
    device = device_of(request)
    body = await json_body(request, required=False)
    upgrade_file_ref(device, body)
    auto_cancel = flag(request, "cancelOnFailure", True)
    # Forcing past a failed readiness check: `force=true` as cancel/revert take it, or the
    # job-schedule objects' `forceOperation` in the body (the real flag is not public).
    force = flag(request, "force", False) or body.get("forceOperation") is True
    device.start_upgrade(auto_cancel=auto_cancel, force=force)
    if not body:
        return no_content()
    return web.json_response({"upgradeFile": {"id": device.package_id, "type": "upgradefile"},
                              "cancelOnFailure": auto_cancel, "forceOperation": force, "id": device.new_id(),
                              "type": "upgradeimmediate"})


async def get_upgrade_status(request: web.Request) -> web.Response:
    if "objId" in request.match_info:
        singleton(request)
    device = device_of(request)
    return web.json_response(views.upgrade_status(device, device.job))


async def cancel_upgrade(request: web.Request) -> web.Response:
    device = device_of(request)
    job = device.job
    if job and job.state == "IN_PROGRESS" and device.job_phase in ("readiness", "install") and not flag(request, "force", False):
        raise api_error(422, "cancel_needs_force")
    device.cancel_upgrade()
    return web.json_response({"id": device.new_id(), "type": "cancelupgrade"})


async def retry_upgrade(request: web.Request) -> web.Response:
    device = device_of(request)
    device.retry_upgrade()
    return web.json_response({"id": device.new_id(), "type": "retryupgrade"})


async def revert_upgrade(request: web.Request) -> web.Response:
    device = device_of(request)
    await json_body(request, required=False)
    device.start_revert()
    return web.json_response({"id": device.new_id(), "type": "revertupgrade"})


async def get_revert_info(request: web.Request) -> web.Response:
    singleton(request)
    device = device_of(request)
    if device.revert is None:
        raise FdmError(404, ftd_facts.ftd().texts["refuse"]["no_revert"])
    return web.json_response(views.revert_info(device))


# -- configuration and deployment --------------------------------------------------------
async def list_pending(request: web.Request) -> web.Response:
    return page(request, [views.change(c) for c in device_of(request).pending()])


async def discard_pending(request: web.Request) -> web.Response:
    device_of(request).discard_changes()
    return no_content()


async def start_deploy(request: web.Request) -> web.Response:
    device = device_of(request)
    await json_body(request, required=False)
    return web.json_response(views.deployment(device.deploy()))


def _deployment(request: web.Request):
    obj_id = request.match_info["objId"]
    for item in device_of(request).deployments:
        if item.id == obj_id:
            return item
    raise api_error(404, "not_found", id=obj_id)


async def list_deploy(request: web.Request) -> web.Response:
    return page(request, [views.deployment(d) for d in reversed(device_of(request).deployments)])


async def get_deploy(request: web.Request) -> web.Response:
    return web.json_response(views.deployment(_deployment(request)))


async def list_deploy_jobs(request: web.Request) -> web.Response:
    device = device_of(request)
    return page(request, [views.deployment_job(d, device.username) for d in reversed(device.deployments)])


async def get_deploy_job(request: web.Request) -> web.Response:
    return web.json_response(views.deployment_job(_deployment(request), device_of(request).username))


async def get_system_info(request: web.Request) -> web.Response:
    singleton(request)
    return web.json_response(views.system_info(device_of(request), request.url.host or ""))


async def list_hostnames(request: web.Request) -> web.Response:
    return page(request, [views.hostname(device_of(request))])


def _the_hostname(request: web.Request) -> FtdDevice:
    device = device_of(request)
    if request.match_info["objId"] != device.hostname_id:
        raise api_error(404, "not_found", id=request.match_info["objId"])
    return device


async def get_hostname(request: web.Request) -> web.Response:
    return web.json_response(views.hostname(_the_hostname(request)))


async def put_hostname(request: web.Request) -> web.Response:
    device = _the_hostname(request)
    body = await json_body(request)
    name, version = body["hostname"], body.get("version")
    if version is not None and version != views.hostname(device)["version"]:
        raise api_error(422, "version_mismatch", "Validation", "version")
    if not name or len(name) > 63 or not all(c.isascii() and (c.isalnum() or c in "-.") for c in name):
        raise api_error(422, "hostname", "Validation", "hostname")
    device.stage_hostname(name)
    return web.json_response(views.hostname(device))


def _network_fields(body: dict[str, Any]) -> tuple[str, str, str, str | None]:
    if not body["name"].strip():
        raise api_error(422, "empty_name", "Validation", "name")
    return body["name"], body["subType"], body["value"], body.get("description")


async def list_networks(request: web.Request) -> web.Response:
    networks = device_of(request).candidate["networks"]
    items = [views.network(i, o) for i, o in networks.items()]
    wanted = request.query.get("filter", "")
    if wanted.startswith("name:"):
        items = [i for i in items if i["name"] == wanted[5:]]
    elif wanted.startswith("fts~"):         # full-text search (6.4 and later): any field holding the text
        text = wanted[4:].lower()
        items = [i for i in items if any(text in str(v).lower() for v in i.values() if isinstance(v, str))]
    return page(request, items)


async def add_network(request: web.Request) -> web.Response:
    device = device_of(request)
    obj_id = device.save_network(None, *_network_fields(await json_body(request)))
    return web.json_response(views.network(obj_id, device.candidate["networks"][obj_id]))


def _network(request: web.Request) -> tuple[FtdDevice, str, dict[str, Any]]:
    device, obj_id = device_of(request), request.match_info["objId"]
    obj = device.candidate["networks"].get(obj_id)
    if obj is None:
        raise api_error(404, "not_found", id=obj_id)
    return device, obj_id, obj


async def get_network(request: web.Request) -> web.Response:
    _, obj_id, obj = _network(request)
    return web.json_response(views.network(obj_id, obj))


async def edit_network(request: web.Request) -> web.Response:
    device, obj_id, obj = _network(request)
    body = await json_body(request)
    version = body.get("version")
    if version is not None and version != obj["version"]:
        raise api_error(422, "version_mismatch", "Validation", "version")
    device.save_network(obj_id, *_network_fields(body))
    return web.json_response(views.network(obj_id, device.candidate["networks"][obj_id]))


async def delete_network(request: web.Request) -> web.Response:
    device, obj_id, _ = _network(request)
    device.delete_network(obj_id)
    return no_content()


# -- high availability ------------------------------------------------------------------------
def _pair_of(request: web.Request):
    device = device_of(request)
    if device.ha is None or device.ha.broken:
        raise api_error(422, "no_ha")
    return device, device.ha


async def get_ha_status(request: web.Request) -> web.Response:
    singleton(request)
    return web.json_response(views.ha_status(device_of(request)))


async def ha_suspend(request: web.Request) -> web.Response:
    device, pair = _pair_of(request)
    pair.suspend()
    return web.json_response(views.ha_status(device))


async def ha_resume(request: web.Request) -> web.Response:
    device, pair = _pair_of(request)
    pair.resume()
    return web.json_response(views.ha_status(device))


async def ha_failover(request: web.Request) -> web.Response:
    """Switch Mode: the active unit hands over to its peer; a standby unit takes over."""
    device, pair = _pair_of(request)
    pair.switch(pair.peer_of(device) if pair.is_active(device) else device)
    return web.json_response(views.ha_status(device))


async def ha_break(request: web.Request) -> web.Response:
    device, pair = _pair_of(request)
    flag(request, "clearIntfs", False)
    pair.break_pair()
    job = views.ha_job(device.new_id(), "break", device.ctx.clock.now())
    state_of(request).ha_jobs[job["id"]] = job
    return web.json_response(job)


async def get_ha_break(request: web.Request) -> web.Response:
    job = state_of(request).ha_jobs.get(request.match_info["objId"])
    if job is None:
        raise api_error(404, "not_found", id=request.match_info["objId"])
    return web.json_response(job)


async def list_ha_configurations(request: web.Request) -> web.Response:
    return page(request, [views.ha_configuration(device_of(request))])


BODY_LIMITS = {"postuploadupgrade": UPLOAD_MAX}     # the others: the JSON limit
ROUTES = [Route(method, path, handler, auth, operation, BODY_LIMITS.get(operation))
          for method, path, handler, operation, auth in [
    ("GET", "/api/versions", get_versions, "getAPIVersions", False),
    ("POST", f"{API}/fdm/token", post_token, "postToken", False),
    ("GET", "/apispec/ngfw.json", get_spec, "getApiSpec", True),
    ("POST", f"{API}/action/uploadupgrade", upload_upgrade, "postuploadupgrade", True),
    ("GET", f"{API}/managedentity/upgradefiles", list_upgrade_files, "getUpgradeFileList", True),
    ("GET", f"{API}/managedentity/upgradefiles/{{objId}}", get_upgrade_file, "getUpgradeFile", True),
    ("DELETE", f"{API}/managedentity/upgradefiles/{{objId}}", delete_upgrade_file, "deleteUpgradeFile", True),
    ("POST", f"{API}/action/upgradereadinesscheck", start_readiness, "addUpgradeReadinessCheck", True),
    ("GET", f"{API}/operational/upgradereadinesscheckstatus", list_readiness,
     "getUpgradeReadinessCheckStatusList", True),
    ("GET", f"{API}/operational/upgradereadinesscheckstatus/{{objId}}", get_readiness,
     "getUpgradeReadinessCheckStatus", True),
    ("POST", f"{API}/action/upgrade", start_upgrade, "startUpgrade", True),
    ("GET", f"{API}/operational/upgradestatus", get_upgrade_status, "getUpgradeStatusList", True),
    ("GET", f"{API}/operational/upgradestatus/{{objId}}", get_upgrade_status, "getUpgradeStatus", True),
    ("POST", f"{API}/action/cancelupgrade", cancel_upgrade, "cancelUpgrade", True),
    ("POST", f"{API}/action/retryupgrade", retry_upgrade, "retryUpgrade", True),
    ("POST", f"{API}/action/revertupgrade", revert_upgrade, "revertUpgrade", True),
    ("GET", f"{API}/operational/upgraderevertinfo/{{objId}}", get_revert_info, "getUpgradeRevertInfo", True),
    ("GET", f"{API}/operational/pendingchanges", list_pending, "getBaseEntityDiffList", True),
    ("DELETE", f"{API}/operational/pendingchanges", discard_pending, "deleteBaseEntityDiff", True),
    ("POST", f"{API}/operational/deploy", start_deploy, "addDeployment", True),
    ("GET", f"{API}/operational/deploy", list_deploy, "getDeployments", True),
    ("GET", f"{API}/operational/deploy/{{objId}}", get_deploy, "getDeployment", True),
    ("GET", f"{API}/jobs/deployments", list_deploy_jobs, "getJobHistoryDeploymentList", True),
    ("GET", f"{API}/jobs/deployments/{{objId}}", get_deploy_job, "getJobHistoryDeployment", True),
    ("GET", f"{API}/operational/systeminfo/{{objId}}", get_system_info, "getSystemInformation", True),
    ("GET", f"{API}/devicesettings/default/devicehostnames", list_hostnames, "getDeviceHostnameList", True),
    ("GET", f"{API}/devicesettings/default/devicehostnames/{{objId}}", get_hostname, "getDeviceHostname", True),
    ("PUT", f"{API}/devicesettings/default/devicehostnames/{{objId}}", put_hostname, "editDeviceHostname", True),
    ("GET", f"{API}/devices/default/operational/ha/status/{{objId}}", get_ha_status, "getHAStatus", True),
    ("POST", f"{API}/devices/default/action/ha/suspend", ha_suspend, "startHASuspend", True),
    ("POST", f"{API}/devices/default/action/ha/resume", ha_resume, "startHAResume", True),
    ("POST", f"{API}/devices/default/action/ha/failover", ha_failover, "startHAFailover", True),
    ("POST", f"{API}/devices/default/action/ha/break", ha_break, "addBreakHAStatus", True),
    ("GET", f"{API}/devices/default/action/ha/break/{{objId}}", get_ha_break, "getBreakHAStatus", True),
    ("GET", f"{API}/devices/default/ha/configurations", list_ha_configurations, "getHAConfigurationList", True),
    ("GET", f"{API}/object/networks", list_networks, "getNetworkObjectList", True),
    ("POST", f"{API}/object/networks", add_network, "addNetworkObject", True),
    ("GET", f"{API}/object/networks/{{objId}}", get_network, "getNetworkObject", True),
    ("PUT", f"{API}/object/networks/{{objId}}", edit_network, "editNetworkObject", True),
    ("DELETE", f"{API}/object/networks/{{objId}}", delete_network, "deleteNetworkObject", True),
]]


# -- the API ----------------------------------------------------------------------------------
async def check(request: web.Request, route: Route) -> None:
    """The API version in the path, then the bearer token (where the route needs one)."""
    device: FtdDevice = device_of(request)
    version = request.match_info.get("v")
    if version is not None and version not in api_versions(device) and not _older(version, device):
        raise api_error(404, "api_version", version=version)
    if route.auth:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        user = state_of(request).sessions.authenticate(token) if token else None
        if user is None:
            raise api_error(401, "token_invalid" if token else "token_missing")
        request[USER] = user


def _older(version: str, device: FtdDevice) -> bool:
    """Devices also answer on the API versions before their own (v1 .. vN)."""
    own = device.train.fdm_api
    return version[:1] == "v" and version[1:].isdigit() and 1 <= int(version[1:]) <= int(own[1:])


FDM = Api("fdm", ROUTES, FdmState, fdm_error, refused, check)
HTTPS = Https((FDM,), web_mode, unavailable="<html><body><h1>503 Service Unavailable</h1>App initializing</body></html>")
