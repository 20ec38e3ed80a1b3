"""The HA actions of the web UI over REST. No public source gives a REST call
for them (sps.md 4.4, 6): they are ours, under `/api/_simulator/`, on the
same model as the console menu: the HA page's status, *Other node* Reboot and
Shutdown, *Activate Slave* and *Join HA*."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulator.kinds.base import Refused
from simulator.kinds.sps.facts import text
from simulator.kinds.sps.model import SpsDevice
from simulator.surfaces.https import Route, device_of

OURS = "/api/_simulator"


def pair_of(device: SpsDevice) -> Any:
    if device.ha is None:
        raise Refused("refused", text("not_in_ha"))
    return device.ha


def ha_view(device: SpsDevice) -> dict[str, Any]:
    """Basic Settings > High Availability; a standalone node shows `Standalone`."""
    if device.ha is None:
        return {"status": "Standalone", "heartbeat": None, "drbd": None,
                "this_node": {"name": device.name, "hostname": device.hostname, "node_ha_state": "standalone",
                              "firmware_version": device.version},
                "other_node": None, "same_versions": None}
    view: dict[str, Any] = device.ha.view(device)
    return view


def _answer(request: web.Request, key: str, body: Any) -> web.Response:
    return web.json_response({"key": key, "body": body, "meta": {"href": request.path, "parent": OURS}})


async def get_ha(request: web.Request) -> web.Response:
    return _answer(request, "high_availability", ha_view(device_of(request)))


def _other_node(action: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        device = device_of(request)
        pair_of(device).other_node(device, action)
        return _answer(request, action, ha_view(device))
    return handler


async def activate_slave(request: web.Request) -> web.Response:
    device = device_of(request)
    pair_of(device).activate_slave(device)
    return _answer(request, "activate_slave", ha_view(device))


async def join_ha(request: web.Request) -> web.Response:
    device = device_of(request)
    pair_of(device).join(device)
    return _answer(request, "join", ha_view(device))


ROUTES = [
    Route("GET", f"{OURS}/high_availability", get_ha),
    Route("POST", f"{OURS}/high_availability/activate_slave", activate_slave),
    Route("POST", f"{OURS}/high_availability/join", join_ha),
    Route("POST", f"{OURS}/system_control/other_node/reboot", _other_node("reboot")),
    Route("POST", f"{OURS}/system_control/other_node/shutdown", _other_node("shutdown")),
]
