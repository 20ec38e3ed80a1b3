"""The FXOS REST API of a simulated Firepower 4100/9300 chassis (the API that
Chassis Manager tooling uses, https://<chassis>/api/...).

What is known of the real API is in shared/reference/rest-apis.md §2: login
with USERNAME/PASSWORD headers, a TOKEN header, the 551/552/555 error bodies,
and bodies keyed by class name holding lists of objects with a `dn`
(api_views.py builds them). Error texts: facts.yaml `api_errors:`.

`FXOS` describes the API for the HTTPS surface (its routes, `FxosSessions`:
a chassis' login tokens, at most facts.yaml `rest_sessions_per_user` a user,
its error envelope); `HTTPS` the chassis' web server (`web_mode(chassis)`:
what it does in its state: serve, 503, closed). api_spec.yaml describes the
routes as OpenAPI (ours: the real chassis serves none), served at
GET /api/openapi.json."""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from aiohttp import web

from simulator.facts import read_yaml
from simulator.kinds.base import Refused
from simulator.kinds.fxos.api_views import (
    CLASSES,
    FIRMWARE_KINDS,
    app_instance,
    distributable,
    downloader,
    firmware_running,
    infra_pack,
    install_fsm,
    logical_device,
    slot_obj,
    validation,
)
from simulator.kinds.fxos.bundles import FxosVersion, normalize
from simulator.kinds.fxos.facts import fxos_data, say
from simulator.kinds.fxos.model import AppInstance, FxosChassis
from simulator.surfaces.https import Api, ApiError, Https, Mode, Route, device_of, state_of
from simulator.webserver import parse_json, read_text

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def web_mode(chassis: FxosChassis) -> Mode:
    """Serve while the management engine answers; 503 while it starts after a
    boot (the CLI answers already); refuse connections while the chassis shuts
    down, boots or is off."""
    if chassis.ready:
        return "serve"
    if chassis.services_up:
        return "unavailable"
    return "closed"


class FxosSessions:
    """Login tokens of one chassis (they do not survive a reboot), at most
    facts.yaml `rest_sessions_per_user` per user."""

    def __init__(self, chassis: FxosChassis) -> None:
        self._credentials = lambda: (chassis.username, chassis.password)
        self.tokens: dict[str, str] = {}

    def login(self, username: str, password: str) -> str:
        if (username, password) != self._credentials():
            raise FxosError("auth_failed")
        if list(self.tokens.values()).count(username) >= fxos_data().rest_sessions_per_user:
            raise FxosError("session_limit")
        token = secrets.token_hex(32)
        self.tokens[token] = username
        return token

    def authenticate(self, token: str) -> str | None:
        return self.tokens.get(token)

    def logout(self, token: str) -> bool:
        return self.tokens.pop(token, None) is not None

    def reset(self) -> None:
        self.tokens.clear()

    def expire_sessions(self) -> int:
        """Every token dies now (the control API's hook for tests of expiry)."""
        count = len(self.tokens)
        self.tokens.clear()
        return count


# -- errors -----------------------------------------------------------------------------
class FxosError(ApiError):
    """An error body of facts.yaml `api_errors:` (`text`: a message of its own instead of the usual)."""

    def __init__(self, key: str, text: str | None = None, **values: Any) -> None:
        fact = fxos_data().api_errors[key]
        self.status = values.get("status", fact.status)
        self.code, self.nr = fact.code.format(**values), fact.nr.format(**values)
        self.description = text if text is not None else fact.text.format(**values)
        super().__init__(self.description)

    def response(self) -> web.Response:
        return web.json_response({"error-code": self.code, "error-description": self.description,
                                  "error-nr": self.nr}, status=self.status)


def fxos_error(status: int, description: str | None) -> FxosError:
    """An error in the API's envelope for a status the shared middleware meets (no route, a fault, a bug)."""
    key = {404: "no_route", 413: "too_large", 500: "internal", 503: "unavailable"}.get(status, "other")
    return FxosError(key, description, status=status)


def refused(exc: Refused) -> FxosError:
    if exc.reason == "not_ready":
        return FxosError("backend")
    if exc.message == say("mo_missing"):
        return FxosError("missing_object", exc.message)
    return FxosError("refused", exc.message, reason=exc.reason.replace("_", "-"))


def chassis_of(request: web.Request) -> FxosChassis:
    chassis: FxosChassis = device_of(request)
    return chassis


async def body_json(request: web.Request) -> Any:
    """The body: JSON when it looks like JSON, else its text (clients send
    sched-platform-fw a bare version); None when empty."""
    try:
        text = (await read_text(request)).strip()
    except (UnicodeDecodeError, LookupError) as exc:       # not UTF-8, an unknown charset
        raise FxosError("bad_body", detail=exc) from None
    if not text:
        return None
    if text[0] not in '{["':
        return text
    try:
        return parse_json(text)
    except ValueError as exc:
        raise FxosError("bad_body", detail=exc) from None


# -- finding objects -----------------------------------------------------------------------
def _package_name(ch: FxosChassis, ident: str) -> str:
    for filename in ch.packages:
        if ident in (filename, filename.removesuffix(".SPA"), f"distrib-{filename.removesuffix('.SPA')}"):
            return filename
    raise FxosError("not_found", what=f"sys/fw-catalogue/distrib-{ident}")


def _task_name(ch: FxosChassis, ident: str) -> str:
    name = ident.removeprefix("dnld-")
    if name not in ch.downloads:
        raise FxosError("not_found", what=f"sys/fw-catalogue/dnld-{name}")
    return name


def _slot(ch: FxosChassis, ident: str) -> int:
    try:
        slot = int(ident)
    except ValueError:
        slot = 0
    if slot not in ch.modules:
        raise FxosError("not_found", what=f"slot/{ident}")
    return slot


def _app(ch: FxosChassis, slot_id: str, name: str) -> AppInstance:
    module = ch.modules[_slot(ch, slot_id)]
    for app in module.apps:
        if name in (f"{app.app}-{app.identifier}", app.identifier) or (name == app.app and len(module.apps) == 1):
            return app
    raise FxosError("not_found", what=f"slot/{slot_id}/app-inst/{name}")


def _logical_device(ch: FxosChassis, name: str) -> dict[str, Any]:
    for slot, app in ch.apps():
        if app.device.name == name:
            return logical_device(ch, slot, app)
    raise FxosError("not_found", what=f"ld/{name}")


# -- handlers ------------------------------------------------------------------------------
def listing(class_id: str) -> Handler:
    """GET of a collection: every object of a class."""
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({class_id: CLASSES[class_id](chassis_of(request))})
    return handler


def single(class_id: str, find: Callable[[FxosChassis, dict[str, str]], dict[str, Any]]) -> Handler:
    """GET of one object, found from the path's parts (404 in the API's terms when absent)."""
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({class_id: [find(chassis_of(request), dict(request.match_info))]})
    return handler


def deletion(delete: Callable[[FxosChassis, dict[str, str]], None]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        delete(chassis_of(request), dict(request.match_info))
        return web.json_response({})
    return handler


async def login(request: web.Request) -> web.Response:
    user = request.headers.get("USERNAME", "")
    chassis = chassis_of(request)
    try:
        token = state_of(request).login(user, request.headers.get("PASSWORD", ""))
    except FxosError as exc:
        chassis.ctx.journal.emit(chassis.name, "api.login", user=user, ok=False, error=exc.code)
        raise
    chassis.ctx.journal.emit(chassis.name, "api.login", user=user, ok=True)
    return web.json_response({"refreshPeriod": "0", "token": token})


async def logout(request: web.Request) -> web.Response:
    """The session of TOKEN ends (no TOKEN: 552; one the chassis does not know: 555)."""
    token = request.headers.get("TOKEN", "")
    if not token:
        raise FxosError("auth_required")
    if not state_of(request).logout(token):
        raise FxosError("unknown_session")
    return web.json_response({"logout": [{"token": token, "status": "success"}]})


def _firmware_running(ch: FxosChassis, match: dict[str, str]) -> dict[str, Any]:
    if match["kind"] not in FIRMWARE_KINDS:
        raise FxosError("not_found", what=f"sys/firmware/version/{match['kind']}")
    return firmware_running(ch, match["kind"])


DEFAULT_PORTS = {"scp": "22", "sftp": "22", "ftp": "21", "tftp": "69", "http": "80", "https": "443"}
DOWNLOADER_ATTRIBUTES = ("protocol", "server", "port", "user", "pwd", "remotePath", "fileName", "dn")


def _downloader_values(item: dict[str, Any]) -> dict[str, str]:
    """A firmwareDownloader's attributes: strings (as every attribute of the
    API), a protocol the chassis knows, a port number."""
    values = {key: item.get(key, "") for key in DOWNLOADER_ATTRIBUTES}
    if not all(isinstance(value, str) for value in values.values()) or values["protocol"] not in DEFAULT_PORTS \
            or not re.fullmatch(r"[0-9]{0,5}", values["port"]):
        raise FxosError("downloader_values")
    return values


def download_url(item: dict[str, Any], filename: str | None) -> tuple[str, str | None]:
    """A firmwareDownloader object -> (URL, password)."""
    values = _downloader_values(item)
    protocol, server, dn, remote = values["protocol"], values["server"], values["dn"], values["remotePath"]
    if "://" in server:
        server = server.split("://", 1)[1]
    server = server.rstrip("/")
    filename = filename or (dn.rsplit("/dnld-", 1)[1] if "/dnld-" in dn else None) or values["fileName"]
    if not server or not filename:
        raise FxosError("downloader_fields")
    path = remote if remote.rstrip("/").endswith("/" + filename) or remote == filename else \
        f"{remote.rstrip('/')}/{filename}"
    if not path.startswith("/"):
        path = "/" + path
    user, port = values["user"], values["port"]
    port_part = f":{port}" if port and port != "0" and port != DEFAULT_PORTS[protocol] else ""
    user_part = f"{user}@" if user and protocol != "tftp" else ""
    return f"{protocol}://{user_part}{server}{port_part}{path}", values["pwd"] or None


async def post_dnld(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    body = await body_json(request)
    items = body.get("firmwareDownloader") if isinstance(body, dict) else None
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        raise FxosError("downloader_body")
    url, password = download_url(items[0], request.match_info.get("fileName"))
    task = ch.start_download(url, password)
    return web.json_response({"firmwareDownloader": [downloader(ch, task.filename)]})


async def get_validate(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    ident = request.match_info.get("id")
    if ident:
        try:
            versions = [normalize(ident.removesuffix(".SPA").removeprefix("fxos-k9."))]
        except ValueError:
            raise FxosError("not_found", what=f"sys/firmware/validate-platform-fw/{ident}") from None
    else:
        versions = sorted({p.version for p in ch.packages.values() if p.version},
                          key=FxosVersion.parse)
    return web.json_response({"firmwareValidatePlatform": [validation(ch, v) for v in versions]})


def _sched_version(body: Any) -> str:
    """The version a sched-platform-fw body names: {"firmwareInfraPack": [{"platformBundleVersion": V}]}
    (one object), {"version": V} (and the attribute's other names) or the bare version."""
    if isinstance(body, str):
        return body.strip().strip('"')
    if isinstance(body, dict) and isinstance(body.get("firmwareInfraPack"), list):
        packs = body["firmwareInfraPack"]
        body = packs[0] if len(packs) == 1 else None
    for key in ("platformBundleVersion", "platformVers", "infraBundleVersion", "version", "platform-vers"):
        if isinstance(body, dict) and isinstance(body.get(key), str) and body[key]:
            return body[key]
    raise FxosError("version_missing")


async def sched_install(request: web.Request) -> web.Response:
    install = chassis_of(request).start_platform_install(_sched_version(await body_json(request)))
    return web.json_response(infra_pack(install.target, "scheduled"))


async def get_sched(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    inst = ch.install
    return web.json_response(infra_pack(inst.target, inst.state.lower()) if inst
                             else infra_pack(ch.version, "idle"))


async def cancel_install(request: web.Request) -> web.Response:
    return web.json_response(infra_pack(chassis_of(request).cancel_install().target, "cancelled"))


async def get_fsm(request: web.Request) -> web.Response:
    return web.json_response({"firmwareSystemFsm": [install_fsm(chassis_of(request))]})


async def list_app_insts(request: web.Request) -> web.Response:
    ch = chassis_of(request)
    module = ch.modules[_slot(ch, request.match_info["id"])]
    return web.json_response({"smAppInstance": [app_instance(ch, a) for a in module.apps]})


async def class_query(request: web.Request) -> web.Response:
    class_id = request.query.get("classId", "")
    if class_id not in CLASSES:
        raise FxosError("class_unknown", class_id=class_id or "(none)")
    return web.json_response({class_id: CLASSES[class_id](chassis_of(request))})


@cache
def _spec() -> dict[str, Any]:
    return dict(read_yaml("kinds/fxos/api_spec.yaml"))


async def get_spec(request: web.Request) -> web.Response:
    """The simulator's OpenAPI description of this API (api_spec.yaml; the real chassis serves none)."""
    return web.json_response(_spec())


# method, path, handler, needs a token
ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", "/api/openapi.json", get_spec, False),
    ("POST", "/api/login", login, False),
    ("POST", "/api/logout", logout, False),
    ("GET", "/api/", class_query, True),
    ("GET", "/api/sys/firmware/version/{kind}", single("firmwareRunning", _firmware_running), True),
    ("GET", "/api/sys/firmware/distrib", listing("firmwareDistributable"), True),
    ("GET", "/api/sys/firmware/distrib/{id}", single(
        "firmwareDistributable", lambda ch, m: distributable(ch, _package_name(ch, m["id"]))), True),
    ("DELETE", "/api/sys/firmware/distrib/{id}", deletion(
        lambda ch, m: ch.delete_package(_package_name(ch, m["id"]))), True),
    ("GET", "/api/sys/firmware/dnld", listing("firmwareDownloader"), True),
    ("GET", "/api/sys/firmware/dnld/", listing("firmwareDownloader"), True),
    ("POST", "/api/sys/firmware/dnld", post_dnld, True),
    ("POST", "/api/sys/firmware/dnld/", post_dnld, True),
    ("POST", "/api/sys/firmware/dnld/{fileName}", post_dnld, True),
    ("GET", "/api/sys/firmware/dnld/{fileName}", single(
        "firmwareDownloader", lambda ch, m: downloader(ch, _task_name(ch, m["fileName"]))), True),
    ("DELETE", "/api/sys/firmware/dnld/{fileName}", deletion(
        lambda ch, m: ch.delete_download_task(_task_name(ch, m["fileName"]))), True),
    ("GET", "/api/sys/firmware/validate-platform-fw", get_validate, True),
    ("GET", "/api/sys/firmware/validate-platform-fw/{id}", get_validate, True),
    ("PATCH", "/api/sys/firmware/sched-platform-fw", sched_install, True),
    ("GET", "/api/sys/firmware/sched-platform-fw", get_sched, True),
    ("PATCH", "/api/sys/firmware/cancel-platform-fw", cancel_install, True),
    ("GET", "/api/sys/fw-system/fsm", get_fsm, True),
    ("GET", "/api/slot", listing("smSlot"), True),
    ("GET", "/api/slot/{id}", single("smSlot", lambda ch, m: slot_obj(ch, _slot(ch, m["id"]))), True),
    ("GET", "/api/slot/{id}/app-inst", list_app_insts, True),
    ("GET", "/api/slot/{slot}/app-inst/{app}", single(
        "smAppInstance", lambda ch, m: app_instance(ch, _app(ch, m["slot"], m["app"]))), True),
    ("GET", "/api/ld", listing("smLogicalDevice"), True),
    ("GET", "/api/ld/{id}", single("smLogicalDevice", lambda ch, m: _logical_device(ch, m["id"])), True),
    ("GET", "/api/sys/fault", listing("faultInst"), True),
]


async def check(request: web.Request, route: Route) -> None:
    if route.auth:
        token = request.headers.get("TOKEN", "")
        if not token or state_of(request).authenticate(token) is None:
            raise FxosError("auth_required")


FXOS = Api("fxos", [Route(method, path, handler, auth) for method, path, handler, auth in ROUTES],
           FxosSessions, fxos_error, refused, check)
HTTPS = Https((FXOS,), web_mode, unavailable=say("web_starting"))
