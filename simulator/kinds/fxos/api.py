"""The FXOS REST API of a simulated Firepower 4100/9300 chassis (the API that
Chassis Manager tooling uses, https://<chassis>/api/...).

What is known of the real API is in shared/reference/rest-apis.md §2: login
with USERNAME/PASSWORD headers, a TOKEN header, the 551/552/555 error bodies,
and bodies keyed by class name holding lists of objects with a `dn`. Where
the real body is not known the objects follow that UCS/DME style (camelCase
attributes, lowercase enum values); docs/fidelity/fxos.md lists which.

`FXOS` describes the API for the HTTPS surface (its routes, `FxosSessions`:
a chassis' login tokens, its error envelope); `HTTPS` the chassis' web server
(`web_mode(chassis)`: what it does in its state: serve, 503, closed)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import web

from simulator.kinds.base import Refused
from simulator.kinds.fxos import cli as views
from simulator.kinds.fxos.bundles import FxosVersion, normalize
from simulator.kinds.fxos.model import (
    FABRIC,
    FPRM,
    AppInstance,
    FxosChassis,
    app_version,
    fxos_data,
)
from simulator.surfaces.https import (
    Api,
    ApiError,
    Https,
    Mode,
    Route,
    device_of,
    state_of,
)

PHASE_PROGRESS = {"fprm": 5, "reboot": 20, "fabric": 35, "servers": 50, "firmware": 75, "firmware-reboot": 85,
                  "done": 100}


def web_mode(chassis: FxosChassis) -> Mode:
    """Serve while the chassis runs; 503 while its services start after a boot;
    refuse connections while it shuts down, boots or is off."""
    if chassis.web_up:
        return "serve"
    if chassis.state == "starting":
        return "unavailable"
    return "closed"


class FxosSessions:
    """Login tokens of one chassis (they do not survive a reboot)."""

    def __init__(self, chassis: FxosChassis) -> None:
        self._credentials = lambda: (chassis.username, chassis.password)
        self.tokens: dict[str, str] = {}

    def login(self, username: str, password: str) -> str | None:
        if (username, password) != self._credentials():
            return None
        token = secrets.token_hex(32)
        self.tokens[token] = username
        return token

    def authenticate(self, token: str) -> str | None:
        return self.tokens.get(token)

    def logout(self, token: str) -> bool:
        return self.tokens.pop(token, None) is not None

    def reset(self) -> None:
        self.tokens.clear()


# -- errors -----------------------------------------------------------------------------
class FxosError(ApiError):
    def __init__(self, status: int, code: str, description: str, nr: str) -> None:
        super().__init__(description)
        self.status, self.code, self.description, self.nr = status, code, description, nr

    def response(self) -> web.Response:
        return error_response(self.status, self.code, self.description, self.nr)


def fxos_error(status: int, description: str | None) -> FxosError:
    """An error in the API's envelope for a status the shared middleware meets (no route, a fault, a bug)."""
    nr = {404: "not-found", 500: "internal-error", 503: "service-unavailable"}.get(status, "invalid-request")
    return FxosError(status, str(status), description or {404: "Not Found"}.get(status, "Service Unavailable"), nr)


def error_response(status: int, code: str, description: str, nr: str) -> web.Response:
    return web.json_response({"error-code": code, "error-description": description, "error-nr": nr},
                             status=status)


AUTH_FAILED = (400, "551", "Authentication failed", "unidentified-fail")
AUTH_REQUIRED = (400, "552", "Authorization required", "service-unavailable")
UNKNOWN_SESSION = (555, "555", "Authorization required", "unknown-session")


def refused(exc: Refused) -> FxosError:
    if exc.reason == "not_ready":
        return FxosError(400, "101", "Error communicating with FX-OS API backend", "backend-unavailable")
    if exc.reason == "not_found" and "does not exist" in exc.message:
        return FxosError(404, "104", exc.message, "not-found")
    return FxosError(400, "103", exc.message, exc.reason.replace("_", "-"))


def not_found(what: str) -> FxosError:
    return FxosError(404, "104", f"Managed object does not exist: {what}", "not-found")


def chassis_of(request: web.Request) -> FxosChassis:
    return device_of(request)  # type: ignore[no-any-return]


async def body_json(request: web.Request) -> Any:
    text = await request.text()
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text.strip()


# -- object views (model -> DME-style objects) ------------------------------------------------
def _enum(text: str) -> str:
    return text.strip().lower().replace(" ", "-")


def firmware_running(ch: FxosChassis, kind: str) -> dict[str, Any]:
    dns = {"mgmt": "sys/mgmt/fw-system", "system": "sys/fw-system", "kernel": "sys/mgmt/fw-kernel",
           "chassis-manager": "sys/mgmt/fw-chassis-manager"}
    return {"dn": dns[kind], "deployment": "system", "type": kind, "packageVersion": ch.version,
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
            "fsmStatus": {"Downloading": "DownloadLocal", "Downloaded": "nop", "Failed": "fail"}[task.state],
            "fsmDescr": views.template("task_current", filename=filename, server=task.server or "local")
            if task.state == "Downloading" else "",
            "fsmRmtInvErrCode": task.error_code or "none", "fsmRmtInvErrDescr": task.error_text,
            "fsmRmtInvRslt": "end-point-failed" if task.state == "Failed" else "not-applicable",
            "downloadedImageSizeKB": str(task.size_kb), "fsmTry": str(task.tries)}


def components(ch: FxosChassis) -> list[dict[str, Any]]:
    rn = {FPRM: "fprm", FABRIC: "fi-a"}
    return [{"dn": f"sys/fw-system/monitor/{rn.get(c.name, c.name.lower().replace(' ', '-'))}", "name": c.name,
             "packageVersion": c.package_vers, "upgradeStatus": _enum(c.status)} for c in ch.components]


def install_fsm(ch: FxosChassis) -> dict[str, Any]:
    inst = ch.install
    base = {"dn": "sys/fw-system/fsm", "firmwareMonitor": components(ch)}
    if inst is None:
        return {**base, "currentFsm": "nop", "fsmStatus": "nop", "progress": "100", "descr": "",
                "platformBundleVersion": ch.version, "rmtErrDescr": ""}
    status = {"IN_PROGRESS": "in-progress", "COMPLETED": "success", "FAILED": "fail",
              "CANCELLED": "cancelled"}[inst.state]
    progress = PHASE_PROGRESS.get(inst.phase, 0) if inst.state == "IN_PROGRESS" else 100
    return {**base, "currentFsm": "DeployPlatformBundle" if inst.state == "IN_PROGRESS" else "nop",
            "fsmStatus": status, "progress": str(progress), "stage": inst.phase,
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
        fxos_data().texts["apps_incompatible"].format(target=check.target) if check.incompatible else "")
    return {"dn": f"sys/fw-system/validate-{check.target}", "platformBundleVersion": check.target,
            "validationStatus": "valid" if check.ok else "invalid", "descr": descr,
            "firmwareUpgrade": "yes" if check.firmware else "no", "rebootRequired": "yes",
            "incompatibleApps": [{"appName": a["app"], "identifier": a["identifier"], "slotId": a["slot"],
                                  "version": a["version"]} for a in check.incompatible]}


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


def find_app(ch: FxosChassis, slot: str, name: str) -> AppInstance:
    try:
        module = ch.modules[int(slot)]
    except (ValueError, KeyError):
        raise not_found(f"slot/{slot}") from None
    for app in module.apps:
        if name in (f"{app.app}-{app.identifier}", app.identifier) or (name == app.app and len(module.apps) == 1):
            return app
    raise not_found(f"slot/{slot}/app-inst/{name}")


# -- handlers ----------------------------------------------------------------------------------------
async def login(request: web.Request) -> web.Response:
    token = state_of(request).login(request.headers.get("USERNAME", ""), request.headers.get("PASSWORD", ""))
    chassis = chassis_of(request)
    chassis.ctx.journal.emit(chassis.name, "api.login", user=request.headers.get("USERNAME", ""), ok=bool(token))
    if token is None:
        raise FxosError(*AUTH_FAILED)
    return web.json_response({"refreshPeriod": "0", "token": token})


async def logout(request: web.Request) -> web.Response:
    token = request.headers.get("TOKEN", "")
    if not state_of(request).logout(token):
        raise FxosError(*UNKNOWN_SESSION)
    return web.json_response({"logout": [{"token": token, "status": "success"}]})


async def get_version(request: web.Request) -> web.Response:
    kind = request.match_info["kind"]
    if kind not in ("mgmt", "system", "kernel", "chassis-manager"):
        raise not_found(f"sys/firmware/version/{kind}")
    return web.json_response({"firmwareRunning": [firmware_running(chassis_of(request), kind)]})


async def list_distrib(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    return web.json_response({"firmwareDistributable": [distributable(ch, f) for f in sorted(ch.packages)]})


def _package_name(ch: FxosChassis, ident: str) -> str:
    for filename in ch.packages:
        if ident in (filename, filename.removesuffix(".SPA"), f"distrib-{filename.removesuffix('.SPA')}"):
            return filename
    raise not_found(f"sys/fw-catalogue/distrib-{ident}")


async def get_distrib(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    return web.json_response({"firmwareDistributable": [distributable(ch, _package_name(ch, request.match_info["id"]))]})


async def delete_distrib(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    ch.delete_package(_package_name(ch, request.match_info["id"]))
    return web.json_response({})


async def list_dnld(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    return web.json_response({"firmwareDownloader": [downloader(ch, f) for f in sorted(ch.downloads)]})


def _task_name(ch: FxosChassis, ident: str) -> str:
    name = ident.removeprefix("dnld-")
    if name not in ch.downloads:
        raise not_found(f"sys/fw-catalogue/dnld-{name}")
    return name


async def get_dnld(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    return web.json_response({"firmwareDownloader": [downloader(ch, _task_name(ch, request.match_info["fileName"]))]})


async def delete_dnld(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    ch.delete_download_task(_task_name(ch, request.match_info["fileName"]))
    return web.json_response({})


def download_url(item: dict[str, Any], filename: str | None) -> tuple[str, str | None]:
    """A firmwareDownloader object -> (URL, password)."""
    protocol = str(item.get("protocol") or "").lower()
    server = str(item.get("server") or "")
    if "://" in server:
        server = server.split("://", 1)[1]
    server = server.rstrip("/")
    dn = str(item.get("dn") or "")
    filename = filename or (dn.rsplit("/dnld-", 1)[1] if "/dnld-" in dn else None) or item.get("fileName")
    remote = str(item.get("remotePath") or "")
    if not protocol or not server or not filename:
        raise FxosError(400, "105", "firmwareDownloader needs protocol, server and the file name (dn "
                        "sys/fw-catalogue/dnld-<file>)", "invalid-request")
    path = remote if remote.rstrip("/").endswith("/" + filename) or remote == filename else \
        f"{remote.rstrip('/')}/{filename}"
    if not path.startswith("/"):
        path = "/" + path
    user = str(item.get("user") or "")
    port = str(item.get("port") or "")
    default_port = {"scp": "22", "sftp": "22", "ftp": "21", "tftp": "69", "http": "80", "https": "443"}
    port_part = f":{port}" if port and port != "0" and port != default_port.get(protocol) else ""
    user_part = f"{user}@" if user and protocol not in ("tftp",) else ""
    return f"{protocol}://{user_part}{server}{port_part}{path}", (str(item["pwd"]) if item.get("pwd") else None)


async def post_dnld(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    body = await body_json(request)
    items = body.get("firmwareDownloader") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise FxosError(400, "105", "The request body must be {\"firmwareDownloader\": [{...}]}", "invalid-request")
    url, password = download_url(items[0], request.match_info.get("fileName"))
    task = ch.start_download(url, password)
    return web.json_response({"firmwareDownloader": [downloader(ch, task.filename)]})


async def get_validate(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    ident = request.match_info.get("id")
    if ident:
        try:
            version = normalize(ident.removesuffix(".SPA").removeprefix("fxos-k9."))
        except ValueError:
            raise not_found(f"sys/firmware/validate-platform-fw/{ident}") from None
        versions = [version]
    else:
        versions = sorted({p.version for p in ch.packages.values() if p.version},
                          key=lambda v: FxosVersion.parse(v).key())
    return web.json_response({"firmwareValidatePlatform": [validation(ch, v) for v in versions]})


def _sched_version(body: Any) -> str:
    if isinstance(body, str):
        return body.strip().strip('"')
    if isinstance(body, dict):
        if isinstance(body.get("firmwareInfraPack"), list) and body["firmwareInfraPack"]:
            body = body["firmwareInfraPack"][0]
        for key in ("platformBundleVersion", "platformVers", "infraBundleVersion", "version", "platform-vers"):
            if isinstance(body, dict) and body.get(key):
                return str(body[key])
    raise FxosError(400, "105", "The request must name the platform bundle version (e.g. "
                    "{\"firmwareInfraPack\": [{\"platformBundleVersion\": \"2.14(1.131)\"}]})", "invalid-request")


async def sched_install(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    target = _sched_version(await body_json(request))
    install = ch.start_platform_install(target)
    return web.json_response({"firmwareInfraPack": [{"dn": "sys/fw-system/infra-pack",
                                                     "platformBundleVersion": install.target,
                                                     "status": "scheduled"}]})


async def get_sched(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    inst = ch.install
    return web.json_response({"firmwareInfraPack": [{
        "dn": "sys/fw-system/infra-pack", "platformBundleVersion": inst.target if inst else ch.version,
        "status": _enum(inst.state) if inst else "idle"}]})


async def cancel_install(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    install = ch.cancel_install()
    return web.json_response({"firmwareInfraPack": [{"dn": "sys/fw-system/infra-pack",
                                                     "platformBundleVersion": install.target,
                                                     "status": "cancelled"}]})


async def get_fsm(request: web.Request) -> web.Response:
    return web.json_response({"firmwareSystemFsm": [install_fsm(chassis_of(request))]})


async def list_slots(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    return web.json_response({"smSlot": [slot_obj(ch, s) for s in ch.modules]})


async def get_slot(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    try:
        slot = int(request.match_info["id"])
        assert slot in ch.modules
    except (ValueError, AssertionError):
        raise not_found(f"slot/{request.match_info['id']}") from None
    return web.json_response({"smSlot": [slot_obj(ch, slot)]})


async def list_app_insts(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    try:
        module = ch.modules[int(request.match_info["id"])]
    except (ValueError, KeyError):
        raise not_found(f"slot/{request.match_info['id']}") from None
    return web.json_response({"smAppInstance": [app_instance(ch, a) for a in module.apps]})


async def get_app_inst(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    app = find_app(ch, request.match_info["slot"], request.match_info["app"])
    return web.json_response({"smAppInstance": [app_instance(ch, app)]})


async def list_ld(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    return web.json_response({"smLogicalDevice": [logical_device(ch, s, a) for s, a in ch.apps()]})


async def get_ld(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    for slot, app in ch.apps():
        if app.device.name == request.match_info["id"]:
            return web.json_response({"smLogicalDevice": [logical_device(ch, slot, app)]})
    raise not_found(f"ld/{request.match_info['id']}")


async def list_faults(request: web.Request) -> web.Response:
    return web.json_response({"faultInst": fault_objs(chassis_of(request))})


CLASSES: dict[str, Callable[[FxosChassis], list[dict[str, Any]]]] = {
    "smAppInstance": lambda ch: [app_instance(ch, a) for _s, a in ch.apps()],
    "smSlot": lambda ch: [slot_obj(ch, s) for s in ch.modules],
    "smLogicalDevice": lambda ch: [logical_device(ch, s, a) for s, a in ch.apps()],
    "faultInst": fault_objs,
    "firmwareDownloader": lambda ch: [downloader(ch, f) for f in sorted(ch.downloads)],
    "firmwareDistributable": lambda ch: [distributable(ch, f) for f in sorted(ch.packages)],
    "firmwareRunning": lambda ch: [firmware_running(ch, k) for k in ("mgmt", "system", "kernel", "chassis-manager")],
}


async def class_query(request: web.Request) -> web.Response:
    class_id = request.query.get("classId", "")
    if class_id not in CLASSES:
        raise FxosError(400, "105", f"Unknown classId: {class_id or '(none)'}", "invalid-request")
    return web.json_response({class_id: CLASSES[class_id](chassis_of(request))})


# method, path, handler, needs a token
ROUTES: list[tuple[str, str, Callable[[web.Request], Any], bool]] = [
    ("POST", "/api/login", login, False),
    ("POST", "/api/logout", logout, False),
    ("GET", "/api/", class_query, True),
    ("GET", "/api/sys/firmware/version/{kind}", get_version, True),
    ("GET", "/api/sys/firmware/distrib", list_distrib, True),
    ("GET", "/api/sys/firmware/distrib/{id}", get_distrib, True),
    ("DELETE", "/api/sys/firmware/distrib/{id}", delete_distrib, True),
    ("GET", "/api/sys/firmware/dnld", list_dnld, True),
    ("GET", "/api/sys/firmware/dnld/", list_dnld, True),
    ("POST", "/api/sys/firmware/dnld", post_dnld, True),
    ("POST", "/api/sys/firmware/dnld/", post_dnld, True),
    ("POST", "/api/sys/firmware/dnld/{fileName}", post_dnld, True),
    ("GET", "/api/sys/firmware/dnld/{fileName}", get_dnld, True),
    ("DELETE", "/api/sys/firmware/dnld/{fileName}", delete_dnld, True),
    ("GET", "/api/sys/firmware/validate-platform-fw", get_validate, True),
    ("GET", "/api/sys/firmware/validate-platform-fw/{id}", get_validate, True),
    ("PATCH", "/api/sys/firmware/sched-platform-fw", sched_install, True),
    ("GET", "/api/sys/firmware/sched-platform-fw", get_sched, True),
    ("PATCH", "/api/sys/firmware/cancel-platform-fw", cancel_install, True),
    ("GET", "/api/sys/fw-system/fsm", get_fsm, True),
    ("GET", "/api/slot", list_slots, True),
    ("GET", "/api/slot/{id}", get_slot, True),
    ("GET", "/api/slot/{id}/app-inst", list_app_insts, True),
    ("GET", "/api/slot/{slot}/app-inst/{app}", get_app_inst, True),
    ("GET", "/api/ld", list_ld, True),
    ("GET", "/api/ld/{id}", get_ld, True),
    ("GET", "/api/sys/fault", list_faults, True),
]


async def check(request: web.Request, route: Route) -> None:
    if route.auth:
        token = request.headers.get("TOKEN", "")
        if not token or state_of(request).authenticate(token) is None:
            raise FxosError(*AUTH_REQUIRED)


FXOS = Api("fxos", [Route(method, path, handler, auth) for method, path, handler, auth in ROUTES],
           FxosSessions, fxos_error, refused, check)
HTTPS = Https((FXOS,), web_mode, unavailable="<html><body><h1>503 Service Unavailable</h1>"
                                             "FXOS services are starting</body></html>")
