"""Redfish over HTTPS: one service for the lab (its own port, the lab's
certificate), a `Systems/<device>` member per box with a BMC, as sushy-tools'
emulator and real BMCs lay it out: the service root, the Systems collection, a
ComputerSystem with `PowerState` and `Boot`, `Actions/ComputerSystem.Reset`
with the standard ResetType values, PATCH of `Boot`, the SessionService
(`X-Auth-Token`), HTTP Basic auth, and errors in Redfish's error envelope.

A box's BMC login opens its system: the collection lists the systems the
credentials open. Sessions are bounded (the least recent goes) and expire
after `session_idle` wall seconds unused."""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from simulator.kinds.base import Refused
from simulator.surfaces.bmc.facts import bmc as facts
from simulator.surfaces.bmc.power import BoxBmc
from simulator.webserver import TIMEOUTS, parse_json, server_options

ROOT = "/redfish/v1"
BODY_MAX = 64 * 1024
ODATA_MESSAGE = "#Message.v1_1_1.Message"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LOGIN = web.RequestKey("login", tuple)


class RedfishError(Exception):
    def __init__(self, status: int, message_id: str, **values: str) -> None:
        super().__init__(message_id)
        self.status = status
        self.message_id = message_id
        self.message = facts().redfish.messages[message_id].format(**values)

    def response(self) -> web.Response:
        code = f"Base.1.8.{self.message_id}"
        body = {"error": {"code": code, "message": self.message,
                          "@Message.ExtendedInfo": [{"@odata.type": ODATA_MESSAGE, "MessageId": code,
                                                     "Message": self.message, "Severity": "Critical"}]}}
        headers = {"WWW-Authenticate": 'Basic realm="Redfish"'} if self.status == 401 else None
        return web.json_response(body, status=self.status, headers=headers)


class RedfishService:
    def __init__(self, boxes: Mapping[str, BoxBmc], service_uuid: str) -> None:
        self.boxes = boxes
        self.uuid = service_uuid
        self.sessions: OrderedDict[str, tuple[str, str, str, float]] = OrderedDict()  # token -> (id, user, password, used)
        self.app = web.Application(middlewares=[self._middleware], client_max_size=BODY_MAX)
        get, post = web.get, web.post
        self.app.add_routes([
            get("/redfish", self.versions), get("/redfish/", self.versions),
            get(ROOT, self.root), get(ROOT + "/", self.root),
            get(ROOT + "/Systems", self.systems), get(ROOT + "/Systems/", self.systems),
            get(ROOT + "/Systems/{id}", self.system), get(ROOT + "/Systems/{id}/", self.system),
            web.patch(ROOT + "/Systems/{id}", self.patch_system),
            post(ROOT + "/Systems/{id}/Actions/ComputerSystem.Reset", self.reset),
            get(ROOT + "/SessionService", self.session_service),
            get(ROOT + "/SessionService/Sessions", self.session_list),
            post(ROOT + "/SessionService/Sessions", self.login),
            get(ROOT + "/SessionService/Sessions/{id}", self.session),
            web.delete(ROOT + "/SessionService/Sessions/{id}", self.logout),
        ])
        self.runner = web.AppRunner(self.app, **server_options(TIMEOUTS))

    # -- auth ------------------------------------------------------------------------------------
    ANONYMOUS = frozenset({"/redfish", "/redfish/", ROOT, ROOT + "/"})

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if request.path not in self.ANONYMOUS and not (request.method == "POST"
                                                           and request.path == ROOT + "/SessionService/Sessions"):
                request[LOGIN] = self._login_of(request)
            return await handler(request)
        except RedfishError as exc:
            return exc.response()
        except web.HTTPMethodNotAllowed:
            return RedfishError(405, "MethodNotAllowed").response()
        except web.HTTPNotFound:
            return RedfishError(404, "ResourceNotFound", type="Resource", name=request.path).response()

    def _login_of(self, request: web.Request) -> tuple[str, str]:
        token = request.headers.get("X-Auth-Token")
        if token is not None:
            found = self.sessions.get(token)
            if found is None or time.monotonic() - found[3] > facts().redfish.session_idle:
                self.sessions.pop(token, None)
                raise RedfishError(401, "NoValidSession")
            self.sessions[token] = (*found[:3], time.monotonic())
            self.sessions.move_to_end(token)
            return found[1], found[2]
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise RedfishError(401, "NoValidSession") from None
            if self._opens_any(user, password):
                return user, password
        raise RedfishError(401, "NoValidSession")

    def _opens_any(self, user: str, password: str) -> bool:
        return any(box.credentials_ok(user, password) for box in self.boxes.values())

    def _box(self, request: web.Request) -> BoxBmc:
        name = request.match_info["id"]
        box = self.boxes.get(name)
        if box is None:
            raise RedfishError(404, "ResourceNotFound", type="ComputerSystem", name=name)
        if not box.credentials_ok(*request[LOGIN]):
            raise RedfishError(403, "InsufficientPrivilege")
        return box

    # -- documents ---------------------------------------------------------------------------------
    async def versions(self, request: web.Request) -> web.Response:
        return web.json_response({"v1": ROOT + "/"})

    async def root(self, request: web.Request) -> web.Response:
        return web.json_response({
            "@odata.type": "#ServiceRoot.v1_5_0.ServiceRoot", "@odata.id": ROOT + "/", "Id": "RootService",
            "Name": "Root Service", "RedfishVersion": "1.8.0", "UUID": self.uuid,
            "Systems": {"@odata.id": ROOT + "/Systems"},
            "SessionService": {"@odata.id": ROOT + "/SessionService"},
            "Links": {"Sessions": {"@odata.id": ROOT + "/SessionService/Sessions"}}})

    async def systems(self, request: web.Request) -> web.Response:
        members = [{"@odata.id": f"{ROOT}/Systems/{name}"} for name, box in self.boxes.items()
                   if box.credentials_ok(*request[LOGIN])]
        return web.json_response({
            "@odata.type": "#ComputerSystemCollection.ComputerSystemCollection", "@odata.id": ROOT + "/Systems",
            "Name": "Computer System Collection", "Members@odata.count": len(members), "Members": members})

    async def system(self, request: web.Request) -> web.Response:
        box = self._box(request)
        device, path = box.device, f"{ROOT}/Systems/{box.name}"
        targets = facts().redfish.boot_targets
        target = next((t for t, name in targets.items() if name == box.boot_device), "None")
        return web.json_response({
            "@odata.type": facts().redfish.system_type, "@odata.id": path, "Id": box.name, "Name": box.name,
            "UUID": str(box.uuid), "Model": device.model, "SerialNumber": device.serial,
            "PowerState": box.power_state,
            "Status": {"State": "Enabled" if box.on else "StandbyOffline", "Health": "OK"},
            "Boot": {"BootSourceOverrideEnabled": "Disabled" if target == "None" else "Continuous",
                     "BootSourceOverrideTarget": target,
                     "BootSourceOverrideTarget@Redfish.AllowableValues": list(targets)},
            "Actions": {"#ComputerSystem.Reset": {
                "target": f"{path}/Actions/ComputerSystem.Reset",
                "ResetType@Redfish.AllowableValues": list(facts().redfish.reset_types)}}})

    async def patch_system(self, request: web.Request) -> web.Response:
        box = self._box(request)
        body = await _json(request)
        extra = sorted(set(body) - {"Boot"})
        if extra:
            raise RedfishError(400, "PropertyNotWritable", property=extra[0])
        boot = body.get("Boot")
        if not isinstance(boot, dict):
            raise RedfishError(400, "PropertyValueNotInList", value=str(boot), property="Boot")
        target = boot.get("BootSourceOverrideTarget")
        if target is not None:
            targets = facts().redfish.boot_targets
            if target not in targets:
                raise RedfishError(400, "PropertyValueNotInList", value=str(target),
                                   property="BootSourceOverrideTarget")
            box.set_boot_device(targets[target], "redfish")
        return web.Response(status=204)

    async def reset(self, request: web.Request) -> web.Response:
        box = self._box(request)
        body = await _json(request)
        action = "ComputerSystem.Reset"
        if "ResetType" not in body:
            raise RedfishError(400, "ActionParameterMissing", action=action, parameter="ResetType")
        kind = body["ResetType"]
        does = facts().redfish.reset_types.get(kind) if isinstance(kind, str) else None
        if does is None:
            raise RedfishError(400, "ActionParameterNotSupported", value=str(kind), action=action)
        try:
            box.act(does, "redfish")
        except Refused as exc:
            if exc.reason == "not_supported":
                raise RedfishError(400, "ActionNotSupported", action=f"{action} ({kind})") from None
            raise RedfishError(409, "OperationNotAllowed") from None
        return web.Response(status=204)

    # -- sessions ----------------------------------------------------------------------------------
    async def session_service(self, request: web.Request) -> web.Response:
        return web.json_response({
            "@odata.type": "#SessionService.v1_1_8.SessionService", "@odata.id": ROOT + "/SessionService",
            "Id": "SessionService", "Name": "Session Service", "ServiceEnabled": True,
            "SessionTimeout": int(facts().redfish.session_idle),
            "Sessions": {"@odata.id": ROOT + "/SessionService/Sessions"}})

    async def session_list(self, request: web.Request) -> web.Response:
        mine = [f"{ROOT}/SessionService/Sessions/{sid}" for sid, user, password, _ in self.sessions.values()
                if (user, password) == request[LOGIN]]
        return web.json_response({
            "@odata.type": "#SessionCollection.SessionCollection", "@odata.id": ROOT + "/SessionService/Sessions",
            "Name": "Session Collection", "Members@odata.count": len(mine),
            "Members": [{"@odata.id": path} for path in mine]})

    async def login(self, request: web.Request) -> web.Response:
        body = await _json(request)
        user, password = body.get("UserName"), body.get("Password")
        if not isinstance(user, str) or not isinstance(password, str):
            raise RedfishError(400, "ActionParameterMissing", action="Session creation", parameter="UserName")
        if not self._opens_any(user, password):
            raise RedfishError(401, "NoValidSession")
        token, sid = secrets.token_hex(16), secrets.token_hex(8)
        self.sessions[token] = (sid, user, password, time.monotonic())
        while len(self.sessions) > facts().redfish.sessions:
            self.sessions.popitem(last=False)
        path = f"{ROOT}/SessionService/Sessions/{sid}"
        return web.json_response(_session_doc(sid, user), status=201,
                                 headers={"X-Auth-Token": token, "Location": path})

    def _own_session(self, request: web.Request) -> tuple[str, str]:
        sid = request.match_info["id"]
        for token, (found, user, password, _) in self.sessions.items():
            if found == sid and (user, password) == request[LOGIN]:
                return token, user
        raise RedfishError(404, "ResourceNotFound", type="Session", name=sid)

    async def session(self, request: web.Request) -> web.Response:
        _, user = self._own_session(request)
        return web.json_response(_session_doc(request.match_info["id"], user))

    async def logout(self, request: web.Request) -> web.Response:
        token, _ = self._own_session(request)
        del self.sessions[token]
        return web.Response(status=204)


def _session_doc(sid: str, user: str) -> dict[str, Any]:
    return {"@odata.type": "#Session.v1_0_0.Session", "@odata.id": f"{ROOT}/SessionService/Sessions/{sid}",
            "Id": sid, "Name": "User Session", "UserName": user}


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = parse_json(await request.text())
    except (ValueError, UnicodeDecodeError):
        raise RedfishError(400, "MalformedJSON") from None
    if not isinstance(body, dict):
        raise RedfishError(400, "MalformedJSON")
    return body
