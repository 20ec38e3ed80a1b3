"""The FMC REST API of a simulated Management Center (shared/reference/fmc-api.md):
token login and refresh, the per-client brakes (429 with Retry-After), the
payload limit (422), domains, paged lists, server version, device records,
FTD HA pairs (SWITCH / HABREAK) and task statuses, each error in FMC's
envelope. Handlers translate HTTP to model calls and model objects to FMC
JSON (api_views)."""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

from aiohttp import web

from simulator.kinds.fmc import api_deploy
from simulator.kinds.fmc import api_views as views
from simulator.kinds.fmc.api_auth import FmcSessions, RateLimit
from simulator.kinds.fmc.api_common import FmcError, domain_of, fmc_error, json_body, listing, refused, the_fmc
from simulator.kinds.fmc.api_spec import body_models, body_problem, served_spec
from simulator.kinds.fmc.facts import fmc, text
from simulator.kinds.fmc.model import FmcDevice
from simulator.surfaces.https import Api, Https, Mode, Route, site_of, state_of

PLATFORM = "/api/fmc_platform/v1"
CONFIG = "/api/fmc_config/v1/domain/{domainUUID}"


class FmcState:
    """A device's API state: its token sessions and its clients' recent requests."""

    def __init__(self, device: FmcDevice) -> None:
        clock = device.ctx.clock.now if device.api.token_clock == "lab" else time.monotonic
        self.sessions = FmcSessions(clock)
        self.rate = RateLimit()

    def reset(self) -> None:
        self.sessions.reset()

    def expire_sessions(self) -> int:
        return self.sessions.expire_all()


# -- authentication -------------------------------------------------------------------
def _basic(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _token_headers(device: FmcDevice, access: str, refresh: str) -> dict[str, str]:
    domains = [{"name": name, "uuid": uuid} for name, uuid in device.domains]
    return {"X-auth-access-token": access, "X-auth-refresh-token": refresh, "USER_UUID": device.uuid,
            "DOMAIN_ID": "111", "DOMAIN_UUID": device.domains[0][1], "global": device.domains[0][1],
            "DOMAINS": json.dumps(domains)}


async def generate_token(request: web.Request) -> web.Response:
    """Basic auth, any body ignored (FMCAnsible sends an FDM-style one); 204 with the tokens in headers."""
    device = the_fmc(request)
    if _basic(request) != (device.username, device.password):
        raise FmcError(401, text("login_failed"))
    grant = state_of(request).sessions.login()
    return web.Response(status=204, headers=_token_headers(device, grant.access, grant.refresh))


async def refresh_token(request: web.Request) -> web.Response:
    grant = state_of(request).sessions.refresh(request.headers.get("X-auth-access-token"),
                                               request.headers.get("X-auth-refresh-token"))
    if grant is None:
        raise FmcError(401, text("refresh_invalid"))
    return web.Response(status=204, headers=_token_headers(the_fmc(request), grant.access, grant.refresh))


# -- system information -----------------------------------------------------------------
async def server_version(request: web.Request) -> web.Response:
    return listing(request, [views.server_version(request, the_fmc(request))], whole=True)


async def domains(request: web.Request) -> web.Response:
    return listing(request, [views.domain_item(request, name, uuid) for name, uuid in the_fmc(request).domains],
                   whole=True)


# -- devices -------------------------------------------------------------------------------
def _in_domain(request: web.Request) -> list[Any]:
    """The managed devices the request's domain sees (Global: all of them)."""
    return the_fmc(request).in_domain(domain_of(request))


async def list_devices(request: web.Request) -> web.Response:
    device, domain = the_fmc(request), domain_of(request)
    return listing(request, [views.device_record(request, device, domain, d) for d in _in_domain(request)])


async def get_device(request: web.Request) -> web.Response:
    device, domain = the_fmc(request), domain_of(request)
    found = device.device(request.match_info["objectId"])
    if found not in _in_domain(request):
        raise FmcError(404, text("not_found", id=request.match_info["objectId"]))
    return web.json_response(views.device_record(request, device, domain, found))


async def register_device(request: web.Request) -> web.Response:
    """Add a device: `name`, `hostName`, `regKey` (and `natID`); 202 with a Registration task."""
    device, domain, body = the_fmc(request), domain_of(request), await json_body(request)
    for field in ("name", "hostName", "regKey"):
        if not isinstance(body.get(field), str) or not body[field]:
            raise FmcError(400, text("bad_field", name=field))
    task = device.register(body["name"], body["hostName"], body["regKey"], body.get("natID"), domain)
    return web.json_response({**body, "type": "Device", "metadata": {"task": views.task_ref(request, domain, task)}},
                             status=202)


async def delete_device(request: web.Request) -> web.Response:
    device, domain = the_fmc(request), domain_of(request)
    found = device.device(request.match_info["objectId"])
    record = views.device_record(request, device, domain, found)
    device.unregister(found)
    return web.json_response(record)


def _pairs(request: web.Request) -> list[Any]:
    """The HA pairs whose units the request's domain sees."""
    device, seen = the_fmc(request), set(_in_domain(request))
    return [p for p in device.pairs() if all(u in seen for u in p.units.values())]


async def list_ha_pairs(request: web.Request) -> web.Response:
    device, domain = the_fmc(request), domain_of(request)
    return listing(request, [views.ha_record(request, device, domain, p) for p in _pairs(request)])


def _the_pair(request: web.Request) -> Any:
    pair = the_fmc(request).pair(request.match_info["objectId"])
    if pair not in _pairs(request):
        raise FmcError(404, text("not_found", id=request.match_info["objectId"]))
    return pair


async def get_ha_pair(request: web.Request) -> web.Response:
    return web.json_response(views.ha_record(request, the_fmc(request), domain_of(request), _the_pair(request)))


async def put_ha_pair(request: web.Request) -> web.Response:
    """`{"action": "SWITCH"}` or `{"action": "HABREAK", "forceBreak": ...}`: a task in `metadata.task`."""
    device, domain, pair = the_fmc(request), domain_of(request), _the_pair(request)
    body = await json_body(request)
    record = views.ha_record(request, device, domain, pair)
    task = device.ha_action(pair, str(body.get("action", "")))
    record["metadata"]["task"] = views.task_ref(request, domain, task)
    return web.json_response(record)


async def get_spec(request: web.Request) -> web.Response:
    """api_spec.yaml with this FMC's host (FMCAnsible reads it before its first operation)."""
    return web.json_response({**served_spec(), "host": request.host})


async def get_task(request: web.Request) -> web.Response:
    task = the_fmc(request).task(request.match_info["objectId"], domain_of(request))
    return web.json_response(views.task_status(request, domain_of(request), task))


# -- upgrades --------------------------------------------------------------------------------
async def list_packages(request: web.Request) -> web.Response:
    return listing(request, [views.package(request, p) for p in the_fmc(request).packages.values()])


async def get_package(request: web.Request) -> web.Response:
    return web.json_response(views.package(request, the_fmc(request).package(request.match_info["objectId"])))


async def delete_package(request: web.Request) -> web.Response:
    device = the_fmc(request)
    package = device.package(request.match_info["objectId"])
    device.delete_package(package.id)
    return web.json_response(views.package(request, package))


async def applicable_devices(request: web.Request) -> web.Response:
    device = the_fmc(request)
    package = device.package(request.match_info["containerUUID"])
    return listing(request, [views.applicable(request, device, package, d) for d in device.applicable(package)])


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise FmcError(400, text("bad_field", name=name))
    return value


async def post_upgrade(request: web.Request) -> web.Response:
    """Push only, readiness only, or upgrade: a task in `metadata.task` (202)."""
    device, body = the_fmc(request), await json_body(request)
    package_ref = body.get("upgradePackage")
    if not isinstance(package_ref, dict) or not isinstance(package_ref.get("id"), str):
        raise FmcError(400, text("bad_field", name="upgradePackage"))
    task = device.upgrade(package_ref["id"], _targets(body),
                          push_only=_flag(body, "pushUpgradeFileOnly", False),
                          readiness_only=_flag(body, "readinessCheckOnly", False),
                          auto_cancel=_flag(body, "autoUpgradeCancel", True))
    domain = device.domains[0][1]
    answer = {**body, "type": "Upgrade", "metadata": {"task": views.task_ref(request, domain, task)}}
    return web.json_response(answer, status=202)


def _targets(body: dict[str, Any]) -> list[str]:
    targets = body.get("targets")
    if not isinstance(targets, list) or not all(isinstance(t, dict) and isinstance(t.get("id"), str)
                                                 for t in targets):
        raise FmcError(400, text("bad_field", name="targets"))
    return [t["id"] for t in targets]


def _job_route(operation: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        device, body = the_fmc(request), await json_body(request)
        task = device.job_action(operation, _targets(body))
        answer = {**body, "metadata": {"task": views.task_ref(request, device.domains[0][1], task)}}
        return web.json_response(answer, status=202)
    return handler


# -- device backups ------------------------------------------------------------------------------
async def post_backup(request: web.Request) -> web.Response:
    """`{"type": "DEVICE_BACKUP", "devices": [{id, type}], "retrieveToManagementCenter": true}` → a task."""
    device, domain, body = the_fmc(request), domain_of(request), await json_body(request)
    if body.get("type", "DEVICE_BACKUP") != "DEVICE_BACKUP":
        raise FmcError(400, text("backup_type"))
    targets = body.get("devices")
    if not isinstance(targets, list) or not all(isinstance(t, dict) and isinstance(t.get("id"), str)
                                                 for t in targets):
        raise FmcError(400, text("bad_field", name="devices"))
    task = device.backup([t["id"] for t in targets])
    return web.json_response({**body, "metadata": {"task": views.task_ref(request, domain, task)}}, status=202)


async def list_backups(request: web.Request) -> web.Response:
    device, domain = the_fmc(request), domain_of(request)
    return listing(request, [views.backup_file(request, domain, b) for b in device.backups.values()])


async def get_backup(request: web.Request) -> web.Response:
    device, domain = the_fmc(request), domain_of(request)
    backup = device.backups.get(request.match_info["objectId"])
    if backup is None:
        raise FmcError(404, text("not_found", id=request.match_info["objectId"]))
    return web.json_response(views.backup_file(request, domain, backup))


async def delete_backup(request: web.Request) -> web.Response:
    device, domain = the_fmc(request), domain_of(request)
    return web.json_response(views.backup_file(request, domain, device.delete_backup(request.match_info["objectId"])))


ROUTES = [
    Route("POST", f"{PLATFORM}/auth/generatetoken", generate_token, auth=False, operation="generateToken"),
    Route("POST", f"{PLATFORM}/auth/refreshtoken", refresh_token, auth=False, operation="refreshToken"),
    Route("GET", "/api/api-explorer/fmc.json", get_spec, operation="getApiSpec"),
    Route("GET", f"{PLATFORM}/info/serverversion", server_version, operation="getServerVersion"),
    Route("GET", f"{PLATFORM}/info/domain", domains, operation="getAllDomain"),
    Route("GET", f"{CONFIG}/devices/devicerecords", list_devices, operation="getAllDevice"),
    Route("GET", f"{CONFIG}/devices/devicerecords/{{objectId}}", get_device, operation="getDevice"),
    Route("POST", f"{CONFIG}/devices/devicerecords", register_device, operation="createMultipleDevice"),
    Route("DELETE", f"{CONFIG}/devices/devicerecords/{{objectId}}", delete_device, operation="deleteDevice"),
    Route("GET", f"{CONFIG}/devicehapairs/ftddevicehapairs", list_ha_pairs,
          operation="getAllFTDHADeviceContainer"),
    Route("GET", f"{CONFIG}/devicehapairs/ftddevicehapairs/{{objectId}}", get_ha_pair,
          operation="getFTDHADeviceContainer"),
    Route("PUT", f"{CONFIG}/devicehapairs/ftddevicehapairs/{{objectId}}", put_ha_pair,
          operation="updateFTDHADeviceContainer"),
    Route("GET", f"{CONFIG}/job/taskstatuses/{{objectId}}", get_task, operation="getTaskStatus"),
    Route("POST", f"{CONFIG}/backup/operational/devicebackup", post_backup, operation="createDeviceBackup"),
    Route("GET", f"{CONFIG}/backup/files", list_backups, operation="getAllBackupFile"),
    Route("GET", f"{CONFIG}/backup/files/{{objectId}}", get_backup, operation="getBackupFile"),
    Route("DELETE", f"{CONFIG}/backup/files/{{objectId}}", delete_backup, operation="deleteBackupFile"),
    Route("GET", f"{PLATFORM}/updates/upgradepackages", list_packages, operation="getAllUpgradePackage"),
    Route("GET", f"{PLATFORM}/updates/upgradepackages/{{objectId}}", get_package, operation="getUpgradePackage"),
    Route("DELETE", f"{PLATFORM}/updates/upgradepackages/{{objectId}}", delete_package,
          operation="deleteUpgradePackage"),
    Route("GET", f"{PLATFORM}/updates/upgradepackages/{{containerUUID}}/applicabledevices", applicable_devices,
          operation="getAllApplicableDevice"),
    Route("POST", f"{PLATFORM}/updates/upgrades", post_upgrade, operation="createUpgrade"),
    Route("POST", f"{PLATFORM}/updates/cancelupgrades", _job_route("cancel_upgrade"), operation="createCancelUpgrade"),
    Route("POST", f"{PLATFORM}/updates/retryupgrades", _job_route("retry_upgrade"), operation="createRetryUpgrade"),
    Route("POST", f"{PLATFORM}/updates/revertupgrades", _job_route("start_revert"), operation="createRevertUpgrade"),
    *api_deploy.ROUTES,
]


async def _connections_from(request: web.Request, client: str) -> int:
    """Open connections from `client` to this FMC's port."""
    site = site_of(request)
    server = (await site.surface.runner_for(site.https)).server
    count = 0
    for handler in list(server.connections) if server else []:
        transport = handler.transport
        if transport is None:
            continue
        peer, local = transport.get_extra_info("peername"), transport.get_extra_info("sockname")
        if peer and local and peer[0] == client and local[1] == site.port:
            count += 1
    return count


async def check(request: web.Request, route: Route) -> None:
    """The per-client brakes, then the token, then the domain of a config path."""
    device, state = the_fmc(request), state_of(request)
    api, client = fmc().api, request.remote or ""
    if device.api.connection_limit and await _connections_from(request, client) > api.max_connections:
        raise FmcError(429, text("connections", limit=api.max_connections), {"Retry-After": "1"})
    if device.api.rate_limit:
        wait = state.rate.retry_after(client)
        if wait is not None:
            raise FmcError(429, text("rate_limited", limit=api.rate_limit), {"Retry-After": str(wait)})
    if route.auth and not state.sessions.valid(request.headers.get("X-auth-access-token")):
        raise FmcError(401, text("access_invalid"))
    domain = request.match_info.get("domainUUID")
    if domain is not None and domain not in {uuid for _, uuid in device.domains}:
        raise FmcError(404, text("domain", id=domain))
    if route.operation in body_models():
        problem = body_problem(route.operation, await json_body(request))
        if problem is not None:
            raise FmcError(400, problem)


def web_mode(device: FmcDevice) -> Mode:
    """503 while it installs its own upgrade; refused while it boots or is off."""
    if device.state == "upgrading":
        return "unavailable"
    return "serve" if device.services_up else "closed"


FMC_API = Api("fmc", ROUTES, FmcState, fmc_error, refused, check, max_body=fmc().api.payload_max)
HTTPS = Https((FMC_API,), web_mode, unavailable="<html><body><h1>503 Service Unavailable</h1></body></html>")
