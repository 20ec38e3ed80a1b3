"""`/api/cluster` (the central-management cluster: its nodes, their roles,
their status on the Central Management node) and `/api/health_status`
(sps.md 4.7), on the HATEOAS envelope."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulator.kinds.base import Refused
from simulator.kinds.sps.facts import sps, text
from simulator.kinds.sps.model import SpsDevice
from simulator.kinds.sps.search import promote
from simulator.surfaces.https import Route, device_of
from simulator.webserver import parse_json, read_text


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


def _node_answer(request: web.Request, node: SpsDevice, **meta: Any) -> web.Response:
    return web.json_response({"key": node.node_id, "body": {"address": node.hostname, "roles": node.cluster_roles},
                              "meta": {"href": f"/api/cluster/nodes/{node.node_id}", "parent": "/api/cluster/nodes",
                                       **meta}})


def _in_transaction(device: SpsDevice) -> dict[str, Any]:
    """A configuration change opens the transaction if none is open (sps.md 4.6)."""
    if not device.transaction_open:
        device.set_transaction(True)
    return {"transaction": "/api/transaction", "remaining_seconds": sps().api.transaction_seconds}


async def cluster_node(request: web.Request) -> web.Response:
    return _node_answer(request, _cluster(device_of(request)).node(request.match_info["node_id"]))


async def cluster_promote(request: web.Request) -> web.Response:
    """This node becomes the Central Management node (inside a transaction)."""
    device = device_of(request)
    await read_text(request)
    promote(device)
    return _node_answer(request, device, **_in_transaction(device))


async def cluster_assign(request: web.Request) -> web.Response:
    """`PUT /api/cluster/nodes/<id>` `{"roles": [...]}` on the Central Management node."""
    device = device_of(request)
    cluster = _cluster(device)
    try:
        body = parse_json(await read_text(request) or "{}")
    except ValueError:
        raise Refused("invalid", text("bad_json")) from None
    if not isinstance(body, dict) or "roles" not in body:
        raise Refused("incomplete", text("cluster_roles_missing"))
    node = cluster.assign(request.match_info["node_id"], body["roles"])
    return _node_answer(request, node, **_in_transaction(device))


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
    Route("GET", "/api/cluster/nodes/{node_id}", cluster_node),
    Route("PUT", "/api/cluster/nodes/{node_id}", cluster_assign),
    Route("POST", "/api/cluster/promote", cluster_promote),
    Route("GET", "/api/cluster/status", cluster_status),
    Route("GET", "/api/health_status", health_status),
]
