"""`/api/cluster` (the central-management cluster: its nodes, their roles,
their status on the Central Management node) and `/api/health_status`
(sps.md 4.7), on the HATEOAS envelope."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulator.kinds.base import Refused
from simulator.kinds.sps.facts import text
from simulator.kinds.sps.model import SpsDevice
from simulator.surfaces.https import Route, device_of


def _cluster(device: SpsDevice) -> Any:
    if device.cluster is None or device not in device.cluster.holding("central-management"):
        raise Refused("not_found", text("not_central_management"))
    return device.cluster


async def cluster_index(request: web.Request) -> web.Response:
    items = [{"key": key, "meta": {"href": f"/api/cluster/{key}"}} for key in ("nodes", "promote", "status")]
    return web.json_response({"items": items, "meta": {"href": "/api/cluster", "parent": "/api"}})


async def cluster_nodes(request: web.Request) -> web.Response:
    cluster = _cluster(device_of(request))
    items = [{"key": node["key"], "body": {"address": node["fqdn"], "roles": node["roles"]},
              "meta": {"href": f"/api/cluster/nodes/{node['key']}"}} for node in cluster.nodes()]
    return web.json_response({"items": items, "meta": {"href": "/api/cluster/nodes", "parent": "/api/cluster"}})


async def cluster_status(request: web.Request) -> web.Response:
    cluster = _cluster(device_of(request))
    items = [{**node, "meta": {"configuration": f"/api/cluster/nodes/{node['key']}",
                               "href": f"/api/cluster/status/{node['key']}"}} for node in cluster.nodes()]
    return web.json_response({"items": items, "meta": {"href": "/api/cluster/status", "parent": "/api/cluster"}})


async def health_status(request: web.Request) -> web.Response:
    device = device_of(request)
    return web.json_response({"key": "health_status", "health_status": device.health(),
                              "meta": {"href": "/api/health_status", "parent": "/api"}})


ROUTES = [
    Route("GET", "/api/cluster", cluster_index),
    Route("GET", "/api/cluster/nodes", cluster_nodes),
    Route("GET", "/api/cluster/status", cluster_status),
    Route("GET", "/api/health_status", health_status),
]
