"""The SPS REST API (sps.md 4): Basic login to a `session_id` cookie, the
HATEOAS `key/body/meta` envelope, `info`, firmware slots, upload (multipart
field `firmware` or a raw `application/x-iso9660-image` body, streamed to a
file), the upgrade test and the upgrade, errors as `{"error": {"type", "details"}}`.
From 7.5 a browser's PUT/POST/DELETE needs the `X-Token` header carrying the
`user/info` token (safeguard-ps: non-browser requests are let through).
No public source gives REST calls for *After reboot*, *System control* or the
HA actions (sps.md 4.4, 6): they are served under `/api/_simulator/` (ours,
not SPS's; the HA ones in api_ha.py)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import BodyPartReader, web

from simulator.kinds.base import Refused
from simulator.kinds.sps import api_bundle, api_cluster, api_fetch, api_ha
from simulator.kinds.sps.facts import SpsVersion, sps, text
from simulator.kinds.sps.files import firmware_dir
from simulator.kinds.sps.model import SpsDevice
from simulator.kinds.sps.packages import file_upload
from simulator.surfaces.https import Api, ApiError, Route, device_of, site_of, state_of
from simulator.webserver import parse_json, read_text

SESSION_COOKIE = "session_id"
OURS = "/api/_simulator"
ERROR_TYPES = {400: "InvalidRequest", 401: "AuthenticationFailure", 404: "ResourceNotFound",
               405: "MethodNotAllowed", 408: "RequestTimeout", 411: "LengthRequired", 413: "RequestTooLarge",
               500: "InternalError", 503: "ServiceUnavailable"}     # RECONSTRUCTED but 404's (sps.md 4.4)


class SpsSessions:
    """Live `session_id`s and when each was last used; 20 minutes idle ends one. Counted in wall
    time by default (clients check the cookie on their own clock, sps.md 4.2). Sessions are
    kept by the box across a reboot (SPS-ADMIN: web sessions survive a reboot), so `reset`
    keeps them."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.secret = secrets.token_bytes(16)     # X-Token: derived from the session, not stored
        self.last_used: OrderedDict[str, float] = OrderedDict()
        self.fetches = api_fetch.Fetches()        # /api/firmware/fetch downloads, by key
        self.bundles = api_bundle.Bundles()       # /api/troubleshooting/support-bundle, being made

    def reset(self) -> None:
        self.fetches.cancel_all()                 # downloads do not survive a reboot
        self.bundles.cancel_all()                 # nor a support bundle being made

    def login(self) -> str:
        session = secrets.token_hex(20)             # 40 hex digits, as the docs' examples
        self.last_used[session] = self.now()
        while len(self.last_used) > sps().api.sessions_max:
            self.last_used.popitem(last=False)
        return session

    def expire_sessions(self) -> int:
        """Every session ends now (the control API's hook for tests of expiry)."""
        count = len(self.last_used)
        self.last_used.clear()
        return count

    def end(self, session: str | None) -> None:
        """The web UI's Logout."""
        self.last_used.pop(session or "", None)

    def token(self, session: str) -> str:
        """The session's X-Token (`GET /api/user/info`)."""
        return hmac.new(self.secret, session.encode(), hashlib.sha256).hexdigest()[:32]

    def use(self, session: str | None) -> bool:
        seen = self.last_used.get(session or "")
        if seen is None or self.now() - seen >= sps().api.session_idle:
            self.last_used.pop(session or "", None)
            return False
        self.last_used[session or ""] = self.now()
        self.last_used.move_to_end(session or "")
        return True


def new_state(device: SpsDevice) -> SpsSessions:
    return SpsSessions(device.ctx.clock.now if device.session_clock == "lab" else time.monotonic)


class SpsError(ApiError):
    def __init__(self, status: int, error_type: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(error_type)
        self.status, self.error_type, self.details = status, error_type, details or {}

    def response(self) -> web.Response:
        return web.json_response({"error": {"type": self.error_type, "details": self.details}}, status=self.status)


def sps_error(status: int, message: str | None) -> SpsError:
    return SpsError(status, ERROR_TYPES.get(status, "InternalError"), {"message": message} if message else {})


def refused(exc: Refused) -> SpsError:
    status, error_type = {"not_found": (404, "ResourceNotFound"), "test_failed": (400, "FirmwareTestFailed"),
                          "incomplete": (400, "IncompleteRequestBodyError"),
                          "not_running": (503, "ServiceUnavailable")}.get(exc.reason, (400, "InvalidRequest"))
    return SpsError(status, error_type, {"message": exc.message})


def the_sps(request: web.Request) -> SpsDevice:
    return device_of(request)


def envelope(request: web.Request, key: str, body: Any, parent: str, **meta: Any) -> dict[str, Any]:
    return {"key": key, "body": body, "meta": {"href": request.path, "parent": parent, **meta}}


# -- authentication -------------------------------------------------------------------
def _basic(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


async def authenticate(request: web.Request) -> web.Response:
    device = the_sps(request)
    if _basic(request) != (device.web_username, device.web_password):
        raise SpsError(401, "AuthenticationFailure", {"message": text("login_failed")})
    response = web.json_response({"meta": {"href": "/api/authentication", "parent": "/api"}})
    response.set_cookie(SESSION_COOKIE, state_of(request).login(), secure=True, httponly=True, path="/")
    return response


async def login_methods(request: web.Request) -> web.Response:
    return web.json_response({"login_methods": sps().api.login_methods,
                              "meta": {"href": request.path, "parent": "/api/authentication"}})


async def user_info(request: web.Request) -> web.Response:
    """The logged-in user and the token a browser's changes carry as `X-Token` (7.5+)."""
    device, session = the_sps(request), request.cookies.get(SESSION_COOKIE, "")
    body = {"username": device.web_username, "token": state_of(request).token(session)}
    return web.json_response({"key": "info", "body": body, "meta": {"href": request.path, "parent": "/api/user"}})


# -- information, firmware ------------------------------------------------------------
async def info(request: web.Request) -> web.Response:
    device = the_sps(request)
    body = {"firmware_version": device.version, "version": device.version, "model": device.model,
            "hostname": device.hostname, "serial": device.serial}
    return web.json_response(envelope(request, "info", body, "/api"))


async def firmware_index(request: web.Request) -> web.Response:
    items = [{"key": key, "meta": {"href": f"/api/firmware/{key}"}} for key in ("fetch", "slots", "test", "upgrade")]
    return web.json_response({"items": items, "meta": {"href": "/api/firmware", "parent": "/api",
                                                        "upload": "/api/upload/firmware"}})


def slot_body(device: SpsDevice, slot_id: int) -> dict[str, Any]:
    slot = device.slots.get(slot_id)
    if slot is None:
        return {}
    return {"after_reboot": slot_id == device.after_reboot, "current": slot_id == device.current,
            "upgrade_news": slot.upgrade_news, "upgrade_notes": slot.upgrade_notes, "version": slot.version}


async def list_slots(request: web.Request) -> web.Response:
    device = the_sps(request)
    items = [{"key": str(i), "body": slot_body(device, i), "meta": {"href": f"/api/firmware/slots/{i}"}}
             for i in range(1, sps().slots + 1)]
    return web.json_response({"items": items, "meta": {
        "href": "/api/firmware/slots", "parent": "/api/firmware", "current_slot": str(device.current),
        "slot_after_reboot": str(device.after_reboot), "number_of_empty_slots": device.empty_slots()}})


def _slot_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SpsError(404, "ResourceNotFound", {"message": text("no_slot", slot=value)}) from None


async def get_slot(request: web.Request) -> web.Response:
    device, slot_id = the_sps(request), _slot_id(request.match_info["slot_id"])
    if not 1 <= slot_id <= sps().slots:
        raise SpsError(404, "ResourceNotFound", {"message": text("no_slot", slot=slot_id)})
    return web.json_response(envelope(request, str(slot_id), slot_body(device, slot_id), "/api/firmware/slots"))


async def delete_slot(request: web.Request) -> web.Response:
    device, slot_id = the_sps(request), _slot_id(request.match_info["slot_id"])
    device.delete_slot(slot_id)
    return web.json_response(envelope(request, str(slot_id), {}, "/api/firmware/slots"))


# -- upload -----------------------------------------------------------------------------
async def upload_firmware(request: web.Request) -> web.Response:
    device = the_sps(request)
    slot_id = await receive_firmware(request)
    return web.json_response({"key": str(slot_id), "body": slot_body(device, slot_id), "meta": {
        "href": "/api/upload/firmware", "slot": f"/api/firmware/slots/{slot_id}", "test": "/api/firmware/test",
        "upgrade": "/api/firmware/upgrade", "number_of_empty_slots": device.empty_slots()}})


async def receive_firmware(request: web.Request) -> int:
    """Multipart (`firmware` field) or a raw ISO body, streamed to a hidden file that becomes
    the slot's image only once the whole body arrived; the slot it took (REST and the web page)."""
    device, site = the_sps(request), site_of(request)
    slot_id = device.free_slot()
    folder = firmware_dir(site.fs_root)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".upload-{secrets.token_hex(4)}.part"
    try:
        if request.content_type.startswith("multipart/"):
            await _save_multipart(request, partial)
        elif request.content_type in ("application/x-iso9660-image", "application/octet-stream"):
            await _save(request.content.iter_chunked(1 << 20), partial)
        else:
            raise SpsError(400, "InvalidRequest", {"message": text("upload_field")})
        device.ctx.journal.emit(device.name, "api.upload", bytes=partial.stat().st_size)
        _, firmware = file_upload(partial, folder, slot_id)
    except (ValueError, OSError, aiohttp.ClientError, aiohttp.http_exceptions.HttpProcessingError):
        raise SpsError(400, "InvalidRequest", {"message": text("corrupt")}) from None
    finally:
        partial.unlink(missing_ok=True)
    slot_id = device.free_slot() if slot_id in device.slots else slot_id
    device.add_firmware(slot_id, firmware)
    return slot_id


async def _save_multipart(request: web.Request, partial: Path) -> None:
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and part.name == "firmware":
            await _save(_part_chunks(part), partial)
            if not part.at_eof():
                raise ValueError("the body ended before the part's closing boundary")
            return
        if isinstance(part, BodyPartReader):
            await part.release()
    raise SpsError(400, "IncompleteRequestBodyError", {"message": text("upload_field")})


async def _part_chunks(part: BodyPartReader) -> Any:
    while chunk := await part.read_chunk(1 << 20):
        yield chunk


async def _save(chunks: Any, path: Path) -> None:
    size, limit = 0, sps().api.upload_max
    with path.open("wb") as out:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise SpsError(413, "RequestTooLarge", {"message": text("too_large")})
            out.write(chunk)


# -- test, upgrade -------------------------------------------------------------------------
async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_length is None and "chunked" not in request.headers.get("Transfer-Encoding", ""):
        raise SpsError(411, "LengthRequired", {"message": text("length_required")})
    try:
        body = parse_json(await read_text(request) or "{}")
    except ValueError:
        raise SpsError(400, "InvalidRequest", {"message": text("bad_json")}) from None
    if not isinstance(body, dict):
        raise SpsError(400, "InvalidRequest", {"message": text("bad_json")})
    return body


def _with_body(handler: Callable[[web.Request, dict[str, Any]], Any]) -> Callable[[web.Request], Any]:
    async def wrapped(request: web.Request) -> web.Response:
        response: web.Response = await handler(request, await _body(request))
        return response
    return wrapped


async def _slot_of(request: web.Request) -> tuple[dict[str, Any], int]:
    body = await _body(request)
    if body.get("slot_id") is None:
        raise SpsError(400, "IncompleteRequestBodyError", {"missing": ["slot_id"]})
    return body, _slot_id(body["slot_id"])


async def test_firmware(request: web.Request) -> web.Response:
    _, slot_id = await _slot_of(request)
    summary = the_sps(request).test_firmware(slot_id)
    return web.json_response({"key": str(slot_id), "body": {"test_summary": summary},
                              "meta": {"href": "/api/firmware/test", "parent": "/api/firmware"}})


async def upgrade_firmware(request: web.Request) -> web.Response:
    """The test again, the slot after reboot, a reboot: the API goes away while SPS boots."""
    body, slot_id = await _slot_of(request)
    device = the_sps(request)
    device.upgrade(slot_id)
    device.ctx.journal.emit(device.name, "firmware.upgrade", slot=slot_id, message=str(body.get("message") or ""))
    return web.json_response({"body": {"test_summary": text("upgrade_summary")}, "key": str(slot_id), "meta": {
        "href": "/api/firmware/upgrade", "parent": "/api/firmware", "slot": f"/api/firmware/slots/{slot_id}"}})


# -- ours: the web UI's After reboot and System control -----------------------------------
async def after_reboot(request: web.Request) -> web.Response:
    _, slot_id = await _slot_of(request)
    device = the_sps(request)
    device.set_after_reboot(slot_id)
    return web.json_response(envelope(request, str(slot_id), slot_body(device, slot_id), OURS))


def _system_control(action: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        device = the_sps(request)
        getattr(device, action)()
        return web.json_response(envelope(request, action, {"node": device.name, "state": device.state}, OURS))
    return handler


ROUTES = [
    Route("GET", "/api/authentication", authenticate, auth=False),
    Route("GET", "/api/authentication/login_methods", login_methods, auth=False),
    Route("GET", "/api/info", info),
    Route("GET", "/api/user/info", user_info),
    Route("GET", "/api/firmware", firmware_index),
    Route("GET", "/api/firmware/slots", list_slots),
    Route("GET", "/api/firmware/slots/{slot_id}", get_slot),
    Route("DELETE", "/api/firmware/slots/{slot_id}", delete_slot),
    Route("POST", "/api/upload/firmware", upload_firmware, max_body=sps().api.upload_max),
    Route("POST", "/api/firmware/test", test_firmware),
    Route("POST", "/api/firmware/upgrade", upgrade_firmware),
    Route("POST", f"{OURS}/firmware/after_reboot", after_reboot),
    Route("POST", f"{OURS}/system_control/this_node/reboot", _system_control("reboot")),
    Route("POST", f"{OURS}/system_control/this_node/shutdown", _system_control("shutdown")),
    *api_ha.ROUTES,
    *api_cluster.ROUTES,
    *api_fetch.routes(_with_body),
    *api_bundle.routes(_with_body),
]


async def check(request: web.Request, route: Route) -> None:
    if the_sps(request).state != "online":       # the web server shows only the upgrade log
        raise SpsError(503, "ServiceUnavailable", {"message": text("not_running", state=the_sps(request).state)})
    session = request.cookies.get(SESSION_COOKIE)
    if route.auth and not state_of(request).use(session):
        raise SpsError(401, "AuthenticationFailure", {"message": text("not_authenticated")})
    if route.auth and _needs_x_token(request) and not hmac.compare_digest(
            request.headers.get("X-Token", ""), state_of(request).token(session or "")):
        raise SpsError(403, "InvalidXToken", {"message": text("x_token")})


def _needs_x_token(request: web.Request) -> bool:
    """From 7.5 a change (PUT/POST/DELETE) needs X-Token, but only from a browser: a User-Agent
    like a Mozilla browser's (safeguard-ps sends `PowerShell/6.0.0` for that reason, sps.md 4.1)."""
    return (request.method in ("PUT", "POST", "DELETE") and "Mozilla" in request.headers.get("User-Agent", "")
            and SpsVersion.parse(the_sps(request).version) >= SpsVersion.parse(sps().api.x_token_since))


SPS_API = Api("sps", ROUTES, new_state, sps_error, refused, check)
