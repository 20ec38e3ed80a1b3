"""The FMC API's configuration and deployment endpoints: `object/networks`
(the minimal objects whose changes make devices deployable),
`deployment/deployabledevices` (+ `pendingchanges`), `deploymentrequests` (a
task) and `jobhistories` (shared/reference/fmc-api.md §12). Deployment is
scoped by the path's domain: a sub-domain sees and deploys its own devices and
its own deployments, Global all of them."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from simulator.kinds.fmc import api_views as views
from simulator.kinds.fmc.api_common import FmcError, domain_of, json_body, listing, the_fmc
from simulator.kinds.fmc.deploy import DeployJob, Target
from simulator.kinds.fmc.facts import text
from simulator.kinds.fmc.model import FmcDevice
from simulator.surfaces.https import Route

CONFIG = "/api/fmc_config/v1/domain/{domainUUID}"


def _global(request: web.Request) -> bool:
    """The lab keeps its network objects in Global only; a sub-domain lists none."""
    device = the_fmc(request)
    return domain_of(request) == device.domains[0][1]


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


# -- object/networks -------------------------------------------------------------------
def _network(request: web.Request, object_id: str, obj: dict[str, Any]) -> dict[str, Any]:
    path = f"/api/fmc_config/v1/domain/{domain_of(request)}/object/networks/{object_id}"
    return {"id": object_id, "name": obj["name"], "type": "Network", "value": obj["value"],
            "overridable": obj["overridable"], "description": obj["description"],
            "links": views.self_link(request, path),
            "metadata": {"readOnly": {"state": False}, "timestamp": 0,
                         "domain": views.domain_ref(the_fmc(request), domain_of(request))}}


async def list_networks(request: web.Request) -> web.Response:
    objects = the_fmc(request).deployer.config.objects if _global(request) else {}
    return listing(request, [_network(request, i, o) for i, o in objects.items()])


async def create_network(request: web.Request) -> web.Response:
    device, body = the_fmc(request), await json_body(request)
    if body.get("type", "Network") != "Network":
        raise FmcError(400, text("bad_field", name="type"))
    return web.json_response(_network(request, *device.deployer.save_network(None, body)), status=201)


async def get_network(request: web.Request) -> web.Response:
    object_id = request.match_info["objectId"]
    return web.json_response(_network(request, object_id, the_fmc(request).deployer.network(object_id)))


async def put_network(request: web.Request) -> web.Response:
    device, body = the_fmc(request), await json_body(request)
    object_id = request.match_info["objectId"]
    device.deployer.network(object_id)
    return web.json_response(_network(request, *device.deployer.save_network(object_id, body)))


async def delete_network(request: web.Request) -> web.Response:
    object_id = request.match_info["objectId"]
    return web.json_response(_network(request, object_id, the_fmc(request).deployer.delete_network(object_id)))


# -- deployment ---------------------------------------------------------------------------
def _version(device: FmcDevice, target: Target) -> str:
    """The configuration version to deploy: epoch milliseconds of the newest pending change."""
    pending = device.deployer.config.pending(target.id)
    return str(int((pending[-1].when if pending else 0) * 1000))


def _deployable(request: web.Request, target: Target) -> dict[str, Any]:
    device = the_fmc(request)
    members = [{"id": u.uuid, "name": u.name, "type": "Device"} for u in target.units] \
        if target.type == "DeviceHAPair" else []
    return {"id": target.id, "name": target.name, "type": "DeployableDevice", "version": _version(device, target),
            "device": {"id": target.id, "name": target.name, "type": target.type},
            "canBeDeployed": True, "upToDate": False, "isDeploying": device.deployer.deploying(target),
            "message": "", "deviceMembers": members, "trafficInterruption": "NO",
            "links": views.self_link(request, f"/api/fmc_config/v1/domain/{domain_of(request)}"
                                              f"/deployment/deployabledevices/{target.id}")}


async def deployable_devices(request: web.Request) -> web.Response:
    targets = the_fmc(request).deployer.deployable(domain_of(request))
    return listing(request, [_deployable(request, t) for t in targets])


async def pending_changes(request: web.Request) -> web.Response:
    device = the_fmc(request)
    target = device.deployer.target(request.match_info["containerUUID"], domain_of(request))
    items = [{"id": c.object_id, "name": c.name, "type": "PendingChange",
              "entity": {"id": c.object_id, "name": c.name, "type": c.object_type}, "action": c.action,
              "lastModified": _stamp(c.when), "user": {"name": device.username}}
             for c in device.deployer.config.pending(target.id)]
    return listing(request, items, whole=True)


async def deployment_request(request: web.Request) -> web.Response:
    """`{"type": "DeploymentRequest", "version", "forceDeploy", "ignoreWarning", "deviceList": [ids]}`
    → 202 with `metadata.task`."""
    device, body = the_fmc(request), await json_body(request)
    ids = body.get("deviceList")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise FmcError(400, text("bad_field", name="deviceList"))
    version = body.get("version")
    if not isinstance(version, str) or not version.isdigit():
        raise FmcError(400, text("bad_field", name="version"))
    force = body.get("forceDeploy", False)
    if not isinstance(force, bool):
        raise FmcError(400, text("bad_field", name="forceDeploy"))
    domain = domain_of(request)
    task = device.deployer.deploy(ids, force, domain)
    metadata = {"task": views.task_ref(request, domain, task), "lastUser": {"name": device.username},
                "domain": views.domain_ref(device, domain), "readOnly": {"state": False}}
    return web.json_response({**body, "type": "DeploymentRequest", "metadata": metadata}, status=202)


def _job(request: web.Request, job: DeployJob) -> dict[str, Any]:
    path = f"/api/fmc_config/v1/domain/{domain_of(request)}/deployment/jobhistories/{job.id}"
    return {"id": job.id, "name": f"Deployment {job.id}", "type": "DeploymentJobHistory",
            "jobType": "DEPLOYMENT", "status": job.status, "message": job.message,
            "startTime": _stamp(job.started), **({"endTime": _stamp(job.ended)} if job.ended is not None else {}),
            "deviceList": [{"deviceUUID": i, "deviceName": n} for i, n in job.targets],
            "taskId": job.task_id, "links": views.self_link(request, path)}


def _filter(request: web.Request) -> dict[str, str]:
    """`filter=jobType:DEPLOYMENT;status:DEPLOYING;deviceUUID:<id>` (unknown keys are an error)."""
    found: dict[str, str] = {}
    for part in filter(None, request.query.get("filter", "").split(";")):
        key, sep, value = part.partition(":")
        if not sep or key not in ("jobType", "status", "deviceUUID"):
            raise FmcError(400, text("bad_limit", name="filter", value=part))
        found[key] = value
    return found


async def job_histories(request: web.Request) -> web.Response:
    wanted, jobs = _filter(request), the_fmc(request).deployer.jobs_in(domain_of(request))
    chosen = [j for j in reversed(jobs)
              if wanted.get("jobType", "DEPLOYMENT") == "DEPLOYMENT"
              and wanted.get("status", j.status) == j.status
              and wanted.get("deviceUUID", "") in ("", *(i for i, _ in j.targets))]
    return listing(request, [_job(request, j) for j in chosen])


async def job_history(request: web.Request) -> web.Response:
    job_id = request.match_info["objectId"]
    job = next((j for j in the_fmc(request).deployer.jobs_in(domain_of(request)) if j.id == job_id), None)
    if job is None:
        raise FmcError(404, text("not_found", id=job_id))
    return web.json_response(_job(request, job))


ROUTES = [
    Route("GET", f"{CONFIG}/object/networks", list_networks, operation="getAllNetworkObject"),
    Route("POST", f"{CONFIG}/object/networks", create_network, operation="createMultipleNetworkObject"),
    Route("GET", f"{CONFIG}/object/networks/{{objectId}}", get_network, operation="getNetworkObject"),
    Route("PUT", f"{CONFIG}/object/networks/{{objectId}}", put_network, operation="updateNetworkObject"),
    Route("DELETE", f"{CONFIG}/object/networks/{{objectId}}", delete_network, operation="deleteNetworkObject"),
    Route("GET", f"{CONFIG}/deployment/deployabledevices", deployable_devices, operation="getAllDeployableDevice"),
    Route("GET", f"{CONFIG}/deployment/deployabledevices/{{containerUUID}}/pendingchanges", pending_changes,
          operation="getAllPendingChanges"),
    Route("POST", f"{CONFIG}/deployment/deploymentrequests", deployment_request,
          operation="createDeploymentRequest"),
    Route("GET", f"{CONFIG}/deployment/jobhistories", job_histories, operation="getAllJobHistory"),
    Route("GET", f"{CONFIG}/deployment/jobhistories/{{objectId}}", job_history, operation="getJobHistory"),
]
