"""The Device Manager API specification a device serves (data/rest/fdm_spec.yaml).

1. Its operations are exactly the routes of fdm.ROUTES under /api/fdm/{v}
   (methods, paths, operationIds, which need a token), in the shape clients
   such as FTDAnsible parse.
2. A device serves it at GET /apispec/ngfw.json (bearer token) as valid
   Swagger 2.0 with its own host and basePath; without a token: 401.
3. schemathesis drives every operation of a live lab (`simulator up` in a
   subprocess, scaled time) from the served spec with every check (`st run
   --checks all`): no 5xx, only documented status codes, content types and
   headers, response bodies that match, invalid data refused, 405 with
   Allow, the token enforced. A valid request the device's state refuses is
   FDM's 422 (or 400 for /fdm/token credentials), as the spec documents.
4. The responses along a whole upgrade, its revert and configuration
   changes (states schemathesis cannot reach alone) match the spec too.
5. Regression tests for implementation bugs the schemathesis run found.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis

from simulator.facts import read_yaml
from simulator.kinds.ftd import api as fdm
from simulator.kinds.ftd.packages import make_package
from tests.conftest import end_lab, start_lab
from tests.schemathesis_run import ALL_CHECKS, LONG, run_schemathesis, schemathesis_config

UPGRADE_76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
TOKEN_PATH = "/api/fdm/latest/fdm/token"
SPEC_PATH = "/apispec/ngfw.json"

# The schemathesis run: a lab on scaled time, so readiness checks (20 s) and
# deployments (41 s) finish within the run. An access token lives 1800
# simulated seconds = 18 wall seconds at this scale: the auth provider logs
# in again every few seconds (and schemathesis re-logs in on a 401).
TIME_SCALE = 100
AUTH_REFRESH_S = 5
MAX_EXAMPLES = 8
SEED = 20240806
# FDM answers a valid request its state refuses with 422 (bad credentials: 400), as its spec documents.
EXPECTED = {"positive_data_acceptance": ["2xx", "400", "401", "404", "422"]}

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


# -- the spec file ------------------------------------------------------------------
def spec_template() -> dict[str, Any]:
    """The spec as the device serves it (JSON: response codes are strings)."""
    return json.loads(json.dumps(read_yaml("kinds/ftd/api_spec.yaml")))


def spec_operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """{(METHOD, path relative to basePath): operation}."""
    return {(method.upper(), path): op for path, item in spec["paths"].items() for method, op in item.items()}


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_spec_loads_as_package_data():
    spec = read_yaml("kinds/ftd/api_spec.yaml")
    assert spec["swagger"] == "2.0" and spec["info"]["title"] == "Firepower Threat Defense REST API"
    bearer = spec["securityDefinitions"]["Bearer"]
    assert (bearer["type"], bearer["name"], bearer["in"]) == ("apiKey", "Authorization", "header")
    assert spec["security"] == [{"Bearer": []}]
    assert spec["schemes"] == ["https"]
    assert spec["consumes"] == spec["produces"] == ["application/json"]


def test_spec_describes_exactly_the_routes_under_the_base_path():
    spec = spec_template()
    base = spec["basePath"]
    assert re.fullmatch(r"/api/fdm/v\d+", base)
    routed = {(r.method, r.path.replace(fdm.API, base, 1)): (r.operation, r.auth)
              for r in fdm.ROUTES if r.path.startswith(fdm.API + "/")}
    declared = {(method, base + path): op for (method, path), op in spec_operations(spec).items()}
    assert sorted(declared) == sorted(routed)
    ids = [op["operationId"] for op in declared.values()]
    assert len(ids) == len(set(ids))
    for key, op in declared.items():
        op_id, needs_token = routed[key]
        assert op["operationId"] == op_id, key
        assert op.get("tags"), key
        assert op.get("security", spec["security"]) == ([{"Bearer": []}] if needs_token else []), key
        if needs_token:
            assert "401" in op["responses"], key
    # The routes outside the base path are not part of it; the token route is.
    assert ("POST", f"{base}/fdm/token") in declared
    assert not any(path.startswith(("/api/versions", "/apispec")) for _, path in declared)


def test_spec_is_valid_swagger_in_the_shape_clients_parse():
    """Swagger 2.0, every $ref resolves, and the conventions FTDAnsible's
    spec parser and validator depend on (they raise on anything else)."""
    spec = spec_template()
    schemathesis.openapi.from_dict(spec).validate()
    definitions = spec["definitions"]
    for ref in refs(spec):
        assert ref.startswith("#/definitions/") and ref.split("/")[-1] in definitions, ref
    request_models = set()
    for (method, path), op in spec_operations(spec).items():
        where = f"{method} {path}"
        assert isinstance(op.get("parameters", []), list), where
        declared_path_params = set()
        for param in op.get("parameters", []):
            assert "$ref" not in param and "in" in param, where
            if param["in"] == "body":
                assert set(param["schema"]) == {"$ref"}, where
                request_models.add(param["schema"]["$ref"].split("/")[-1])
            elif param["in"] in ("path", "query"):
                assert {"type", "required"} <= set(param), where
                if param["in"] == "path":
                    declared_path_params.add(param["name"])
                    assert param["required"] is True, where
        assert declared_path_params == set(re.findall(r"{(\w+)}", path)), where
        responses = op["responses"]
        assert "200" in responses or "204" in responses, where
        if "200" in responses:
            schema = responses["200"]["schema"]
            if "$ref" not in schema:     # a list: {items: [model], paging}
                assert schema["properties"]["items"]["items"]["$ref"].startswith("#/definitions/"), where
                assert schema["properties"]["paging"] == {"$ref": "#/definitions/Paging"}, where
        for code, response in responses.items():
            assert response.get("description"), where
            if code.startswith("4") and path != "/fdm/token":
                assert response["schema"] == {"$ref": "#/definitions/ErrorWrapper"}, (where, code)
            if code == "204":
                assert "schema" not in response, where
    assert op_of(spec, "POST", "/action/uploadupgrade")["consumes"] == ["multipart/form-data"]
    upload = op_of(spec, "POST", "/action/uploadupgrade")["parameters"]
    assert upload == [{"name": "fileToUpload", "in": "formData", "required": True, "type": "file"}]
    for name in request_models:
        model = definitions[name]
        assert model["type"] == "object" and "properties" in model, name
        for prop, value in model["properties"].items():
            assert "type" in value, (name, prop)
            assert value["type"] != "object" or "$ref" in value, (name, prop)
    error = definitions["ErrorData"]["properties"]
    assert error["severity"]["enum"] == ["ERROR", "WARN"]
    assert error["key"]["enum"] == ["General", "Validation", "Deployment"]
    assert set(definitions["TokenStatus"]["properties"]) == {"status_code", "message"}


def op_of(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return spec["paths"][path][method.lower()]


# -- the spec a device serves ----------------------------------------------------------------
def https_url(lab) -> str:
    return lab.endpoints()["devices"][0]["https"]["url"]


async def login(client: httpx.AsyncClient, password: str = "Admin123") -> str:
    """Password grant; the client then sends the access token."""
    url = client.base_url.copy_with(path=TOKEN_PATH)
    r = await client.post(url, json={"grant_type": "password", "username": "admin", "password": password})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return token


async def test_device_serves_the_spec_as_valid_swagger_with_a_token_only(lab):
    url = https_url(lab)
    async with httpx.AsyncClient(base_url=url, verify=False, timeout=10) as client:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            r = await client.get(SPEC_PATH, headers=headers)
            assert r.status_code == 401, r.text
            assert r.json()["error"]["severity"] == "ERROR" and r.json()["error"]["messages"][0]["description"]
        await login(client)
        r = await client.get(SPEC_PATH)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    spec = r.json()
    assert spec["host"] == url.removeprefix("https://")
    assert spec["basePath"] == f"/api/fdm/{lab.devices['ftd-1'].train.fdm_api}" == "/api/fdm/v6"
    template = spec_template()
    assert {k: v for k, v in spec.items() if k not in ("host", "basePath")} == \
        {k: v for k, v in template.items() if k not in ("host", "basePath")}
    schema = schemathesis.openapi.from_dict(spec)
    schema.validate()
    loaded = {(result.ok().method.upper(), result.ok().path) for result in schema.get_all_operations()}
    assert loaded == set(spec_operations(template))


# -- schemathesis against a live lab ----------------------------------------------------------
@dataclass
class LiveLab:
    url: str
    username: str
    password: str
    journal: Path


@pytest.fixture(scope="module")
def live_lab(tmp_path_factory) -> Iterator[LiveLab]:
    """`simulator up` as a user runs it, on scaled time, in its own process
    (schemathesis' client is synchronous; the lab needs its event loop)."""
    tmp = tmp_path_factory.mktemp("fdm-spec-lab")
    endpoints, proc = start_lab("ftd-standalone", tmp, "--time-scale", str(TIME_SCALE), log=tmp / "lab.log")
    try:
        https = endpoints["devices"][0]["https"]
        yield LiveLab(https["url"], https["username"], https["password"], tmp / "state" / "journal.jsonl")
    finally:
        end_lab(proc)


def password_grant(live: LiveLab) -> str:
    r = requests.post(live.url + TOKEN_PATH, json={"grant_type": "password", "username": live.username,
                                                   "password": live.password}, verify=False, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def seed_state(live: LiveLab, token: str, tmp_path: Path) -> None:
    """Objects for every list and status the run reads: an upgrade file (an
    unsigned package, so no readiness check or upgrade can pass and reboot
    the device mid-run), its readiness check, a network object, a deployment."""
    api = f"{live.url}/api/fdm/v6"
    auth = {"Authorization": f"Bearer {token}"}

    def post(path: str, **kwargs: Any) -> dict[str, Any]:
        # verify=False on each request: requests prefers REQUESTS_CA_BUNDLE to a session's verify=False
        r = requests.post(api + path, headers=auth, verify=False, timeout=10, **kwargs)
        assert r.status_code == 200, r.text
        return r.json()

    post("/object/networks", json={"name": "seed-net", "subType": "NETWORK", "value": "10.1.0.0/16"})
    post("/operational/deploy")
    package = make_package(UPGRADE_76, tmp_path, unsigned=True)
    with package.open("rb") as fh:
        post("/action/uploadupgrade", files={"fileToUpload": (package.name, fh)})
    post("/action/upgradereadinesscheck", json={})


def run_config(base_url: str) -> schemathesis.Config:
    return schemathesis_config(base_url, seed=SEED, max_examples=MAX_EXAMPLES, checks=ALL_CHECKS, tls_verify=False,
                               expected=EXPECTED)


# Server errors a run may tolerate while a bug is being fixed: (bug, path regex,
# journal error regex). Empty: any 5xx fails the run.
KNOWN_SERVER_ERRORS: list[tuple[str, str, str]] = []


def journal_errors(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [e for e in map(json.loads, fh) if e["kind"] == "api.error"]


def known_bug(error: dict[str, Any]) -> str | None:
    for bug, path, text in KNOWN_SERVER_ERRORS:
        if re.search(path, error["path"]) and re.search(text, error["error"]):
            return bug
    return None


def test_live_device_conforms_to_the_spec_it_serves(live_lab, tmp_path):
    token = password_grant(live_lab)
    seed_state(live_lab, token, tmp_path)
    r = requests.get(live_lab.url + SPEC_PATH, headers={"Authorization": f"Bearer {token}"}, verify=False, timeout=10)
    assert r.status_code == 200, r.text
    spec = r.json()
    schema = schemathesis.openapi.from_dict(spec, config=run_config(live_lab.url + spec["basePath"]))

    @schema.auth(refresh_interval=AUTH_REFRESH_S)
    class PasswordGrant:
        def get(self, case, context):
            return password_grant(live_lab)

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    started = time.monotonic()
    findings, errors, cases = run_schemathesis(schema)
    elapsed = time.monotonic() - started
    assert not errors, "\n".join(errors)
    assert sum(cases.values()) > 10 * len(spec_operations(spec)), cases

    server_errors = [f for f in findings if f.status is not None and f.status >= 500]
    other = [f for f in findings if f not in server_errors]
    logged = journal_errors(live_lab.journal)
    unknown = [e for e in logged if known_bug(e) is None]
    report = "\n".join(str(f) for f in findings)
    assert not other, f"{len(other)} conformance failures:\n" + "\n".join(str(f) for f in other)
    assert not unknown, "server errors that are no known bug:\n" + "\n".join(
        f"{e['path']}: {e['error']}" for e in unknown) + "\n" + report
    for finding in server_errors:
        path = finding.operation.split(" ", 1)[1]
        pattern = re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$"
        assert any(re.search(pattern, e["path"]) for e in logged), f"a 5xx the lab did not log:\n{finding}"
    assert elapsed < (900 if LONG else 120), f"the run took {elapsed:.0f} s"
    if server_errors:
        bugs = sorted({known_bug(e) for e in logged})
        pytest.xfail("known implementation bugs (TODO: fix, then drop from KNOWN_SERVER_ERRORS): "
                     + "; ".join(b for b in bugs if b) + "\n" + "\n".join(str(f) for f in server_errors))


# -- conformance along an upgrade and a revert (virtual time) ----------------------------------
class Conformance:
    """Checks responses against the spec: a documented status code and a body
    that matches the schema documented for it."""

    def __init__(self) -> None:
        self.spec = spec_template()
        self.schema = schemathesis.openapi.from_dict(self.spec)
        self.seen: set[tuple[str, str, int]] = set()

    def __call__(self, response: httpx.Response, method: str, path: str, *expected: int) -> Any:
        op = self.spec["paths"][path][method.lower()]
        assert str(response.status_code) in op["responses"], (method, path, response.status_code, response.text)
        if expected:
            assert response.status_code in expected, (method, path, response.status_code, response.text)
        self.schema[path][method.upper()].validate_response(response)
        if response.status_code == 204:
            assert not response.content
        else:
            assert response.headers["content-type"].startswith("application/json")
        self.seen.add((method.upper(), path, response.status_code))
        return response.json() if response.content else None


async def test_responses_conform_along_upgrade_revert_and_configuration(lab, packages):
    ftd = lab.devices["ftd-1"]
    conform = Conformance()
    api = "/api/fdm/v6"

    async def settle_until(predicate) -> None:
        assert await lab.clock.run_until(predicate)
        await lab.settle()

    async with httpx.AsyncClient(base_url=https_url(lab) + api, verify=False, timeout=10) as c:
        r = await c.post("/fdm/token", json={"grant_type": "password", "username": "admin", "password": "bad"})
        conform(r, "POST", "/fdm/token", 400)
        r = await c.post("/fdm/token", json={"grant_type": "password", "username": "admin", "password": "Admin123"})
        tokens = conform(r, "POST", "/fdm/token", 200)
        r = await c.post("/fdm/token", json={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        tokens = conform(r, "POST", "/fdm/token", 200)
        c.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        conform(await c.get("/operational/systeminfo/default"), "GET", "/operational/systeminfo/{objId}", 200)
        conform(await c.get("/operational/systeminfo/nope"), "GET", "/operational/systeminfo/{objId}", 404)
        conform(await c.get("/operational/upgradestatus"), "GET", "/operational/upgradestatus", 200)
        conform(await c.get("/operational/upgradestatus/default"), "GET", "/operational/upgradestatus/{objId}", 200)
        conform(await c.get("/operational/upgraderevertinfo/default"), "GET",
                "/operational/upgraderevertinfo/{objId}", 404)
        conform(await c.get("/operational/upgradereadinesscheckstatus/default"), "GET",
                "/operational/upgradereadinesscheckstatus/{objId}", 404)
        conform(await c.post("/action/upgrade"), "POST", "/action/upgrade", 422)
        conform(await c.post("/action/cancelupgrade"), "POST", "/action/cancelupgrade", 422)
        conform(await c.post("/action/retryupgrade"), "POST", "/action/retryupgrade", 422)
        conform(await c.post("/action/revertupgrade", json={}), "POST", "/action/revertupgrade", 422)

        # configuration: hostname and network objects, pending changes, deployment
        hostnames = conform(await c.get("/devicesettings/default/devicehostnames"), "GET",
                            "/devicesettings/default/devicehostnames", 200)
        hostname = hostnames["items"][0]
        r = await c.put(f"/devicesettings/default/devicehostnames/{hostname['id']}",
                        json={"hostname": "edge-fw", "version": hostname["version"]})
        conform(r, "PUT", "/devicesettings/default/devicehostnames/{objId}", 200)
        conform(await c.get(f"/devicesettings/default/devicehostnames/{hostname['id']}"), "GET",
                "/devicesettings/default/devicehostnames/{objId}", 200)
        r = await c.post("/object/networks", json={"name": "dns", "subType": "FQDN", "value": "dns.example.com"})
        net = conform(r, "POST", "/object/networks", 200)
        r = await c.put(f"/object/networks/{net['id']}", json={**net, "value": "ns.example.com"})
        conform(r, "PUT", "/object/networks/{objId}", 200)
        conform(await c.get(f"/object/networks/{net['id']}"), "GET", "/object/networks/{objId}", 200)
        r = await c.post("/object/networks", json={"name": "dns", "subType": "HOST", "value": "10.0.0.1"})
        conform(r, "POST", "/object/networks", 422)
        r = await c.post("/object/networks", json={"name": "lan", "subType": "NETWORK", "value": "10.0.0.0/8",
                                                   "description": "inside"})
        lan = conform(r, "POST", "/object/networks", 200)
        conform(await c.get("/object/networks", params={"limit": 1, "offset": 1}), "GET", "/object/networks", 200)
        conform(await c.get("/object/networks", params={"filter": "name:lan"}), "GET", "/object/networks", 200)
        conform(await c.delete(f"/object/networks/{lan['id']}"), "DELETE", "/object/networks/{objId}", 204)
        pending = conform(await c.get("/operational/pendingchanges"), "GET", "/operational/pendingchanges", 200)
        assert {i["actionType"] for i in pending["items"]} == {"EDIT", "ADD"}
        conform(await c.post("/action/upgrade"), "POST", "/action/upgrade", 422)   # pending changes
        deployment = conform(await c.post("/operational/deploy"), "POST", "/operational/deploy", 200)
        conform(await c.post("/operational/deploy", json={}), "POST", "/operational/deploy", 422)
        conform(await c.get("/operational/deploy"), "GET", "/operational/deploy", 200)
        conform(await c.get("/jobs/deployments"), "GET", "/jobs/deployments", 200)
        await lab.clock.advance(120)
        conform(await c.get(f"/operational/deploy/{deployment['id']}"), "GET", "/operational/deploy/{objId}", 200)
        conform(await c.get(f"/jobs/deployments/{deployment['id']}"), "GET", "/jobs/deployments/{objId}", 200)
        r = await c.post("/object/networks", json={"name": "tmp", "subType": "RANGE", "value": "10.0.0.1-10.0.0.9"})
        conform(r, "POST", "/object/networks", 200)
        conform(await c.delete("/operational/pendingchanges"), "DELETE", "/operational/pendingchanges", 204)

        # upgrade file, readiness check, upgrade
        path = packages(UPGRADE_76)
        request = c.build_request("POST", "/action/uploadupgrade",
                                  files={"fileToUpload": (path.name, path.read_bytes())})
        await request.aread()       # schemathesis reads the request back from the response
        conform(await c.send(request), "POST", "/action/uploadupgrade", 200)
        files = conform(await c.get("/managedentity/upgradefiles"), "GET", "/managedentity/upgradefiles", 200)
        upgrade_file = files["items"][0]
        conform(await c.get(f"/managedentity/upgradefiles/{upgrade_file['id']}"), "GET",
                "/managedentity/upgradefiles/{objId}", 200)
        ref = {"id": upgrade_file["id"], "type": "upgradefile"}
        r = await c.post("/action/upgradereadinesscheck", json={"upgradeFile": ref, "type": "upgradereadinesscheck"})
        conform(r, "POST", "/action/upgradereadinesscheck", 200)
        conform(await c.get("/operational/upgradereadinesscheckstatus"), "GET",
                "/operational/upgradereadinesscheckstatus", 200)
        conform(await c.delete(f"/managedentity/upgradefiles/{upgrade_file['id']}"), "DELETE",
                "/managedentity/upgradefiles/{objId}", 422)       # busy
        await lab.clock.advance(60)
        ready = conform(await c.get("/operational/upgradereadinesscheckstatus/default"), "GET",
                        "/operational/upgradereadinesscheckstatus/{objId}", 200)
        assert ready["state"] == "SUCCESS", ready
        r = await c.post("/action/upgrade", params={"cancelOnFailure": "true"},
                         json={"upgradeFile": ref, "type": "upgradeimmediate"})
        conform(r, "POST", "/action/upgrade", 200)
        await lab.clock.advance(200)
        status = conform(await c.get("/operational/upgradestatus"), "GET", "/operational/upgradestatus", 200)
        assert status["state"] == "IN_PROGRESS" and status["canCancel"], status
        conform(await c.post("/action/cancelupgrade"), "POST", "/action/cancelupgrade", 422)   # needs force
        conform(await c.post("/operational/deploy"), "POST", "/operational/deploy", 422)
        await settle_until(lambda: ftd.job.state == "COMPLETED")
        await lab.settle()
        conform(await c.get("/operational/upgradestatus"), "GET", "/operational/upgradestatus", 401)  # rebooted
        await login(c)
        done = conform(await c.get("/operational/upgradestatus/default"), "GET",
                       "/operational/upgradestatus/{objId}", 200)
        assert done["state"] == "COMPLETED" and done["targetVersion"] == "7.6.0-113", done
        conform(await c.get("/operational/upgraderevertinfo/default"), "GET",
                "/operational/upgraderevertinfo/{objId}", 200)
        conform(await c.get("/managedentity/upgradefiles"), "GET", "/managedentity/upgradefiles", 200)

        # revert
        conform(await c.post("/action/revertupgrade", json={}), "POST", "/action/revertupgrade", 200)
        await lab.clock.advance(60)
        status = conform(await c.get("/operational/upgradestatus"), "GET", "/operational/upgradestatus", 200)
        assert status["state"] == "IN_PROGRESS", status
        await settle_until(lambda: ftd.job.state == "COMPLETED" and ftd.state == "online")
        await login(c)
        conform(await c.get("/operational/upgradestatus"), "GET", "/operational/upgradestatus", 200)
        conform(await c.get("/operational/systeminfo/default"), "GET", "/operational/systeminfo/{objId}", 200)
        conform(await c.get("/operational/upgraderevertinfo/default"), "GET",
                "/operational/upgraderevertinfo/{objId}", 404)
        token = c.headers["Authorization"].removeprefix("Bearer ")
        r = await c.post("/fdm/token", json={"grant_type": "revoke_token", "access_token": token,
                                             "token_to_revoke": token})
        conform(r, "POST", "/fdm/token", 200)
        conform(await c.get("/operational/systeminfo/default"), "GET", "/operational/systeminfo/{objId}", 401)
    untouched = {(m, p) for m, p in spec_operations(conform.spec)} - {(m, p) for m, p, _ in conform.seen}
    assert untouched == HA_OPERATIONS, untouched      # HA: the next test, on a pair


HA_OPERATIONS = {
    ("GET", "/devices/default/operational/ha/status/{objId}"), ("POST", "/devices/default/action/ha/suspend"),
    ("POST", "/devices/default/action/ha/resume"), ("POST", "/devices/default/action/ha/failover"),
    ("POST", "/devices/default/action/ha/break"), ("GET", "/devices/default/action/ha/break/{objId}"),
    ("GET", "/devices/default/ha/configurations"),
}


async def test_ha_responses_conform_on_a_pair(tmp_path):
    from simulator.lab import Lab

    conform = Conformance()
    async with Lab("ftd-ha", state_dir=tmp_path / "s", virtual_time=True, seed=3) as lab:
        urls = {d["name"]: d["https"]["url"] + "/api/fdm/v6" for d in lab.endpoints()["devices"]}
        async with httpx.AsyncClient(base_url=urls["ftd-a"], verify=False, timeout=10) as a, \
                httpx.AsyncClient(base_url=urls["ftd-b"], verify=False, timeout=10) as b:
            for c in (a, b):
                c.headers["Authorization"] = f"Bearer {await login(c)}"
            status = conform(await a.get("/devices/default/operational/ha/status/default"), "GET",
                             "/devices/default/operational/ha/status/{objId}", 200)
            assert (status["nodeState"], status["peerNodeState"]) == ("HA_ACTIVE_NODE", "HA_STANDBY_NODE")
            conform(await a.get("/devices/default/operational/ha/status/x"), "GET",
                    "/devices/default/operational/ha/status/{objId}", 404)
            conform(await a.get("/devices/default/ha/configurations"), "GET",
                    "/devices/default/ha/configurations", 200)
            conform(await a.post("/devices/default/action/ha/resume"), "POST",
                    "/devices/default/action/ha/resume", 422)          # not suspended
            status = conform(await a.post("/devices/default/action/ha/suspend"), "POST",
                             "/devices/default/action/ha/suspend", 200)
            assert status["peerNodeState"] == "HA_SUSPENDED_NODE"
            conform(await b.post("/devices/default/action/ha/failover"), "POST",
                    "/devices/default/action/ha/failover", 422)        # suspended: no switch
            conform(await a.post("/devices/default/action/ha/resume"), "POST", "/devices/default/action/ha/resume", 200)
            await lab.clock.advance(60)
            status = conform(await b.post("/devices/default/action/ha/failover"), "POST",
                             "/devices/default/action/ha/failover", 200)
            assert status["nodeState"] == "HA_ACTIVE_NODE"
            job = conform(await b.post("/devices/default/action/ha/break", params={"clearIntfs": "false"}), "POST",
                          "/devices/default/action/ha/break", 200)
            conform(await b.get(f"/devices/default/action/ha/break/{job['id']}"), "GET",
                    "/devices/default/action/ha/break/{objId}", 200)
            conform(await b.get("/devices/default/action/ha/break/nope"), "GET",
                    "/devices/default/action/ha/break/{objId}", 404)
            conform(await b.post("/devices/default/action/ha/break"), "POST", "/devices/default/action/ha/break", 422)
            status = conform(await a.get("/devices/default/operational/ha/status/default"), "GET",
                             "/devices/default/operational/ha/status/{objId}", 200)
            assert status["nodeState"] == "SINGLE_NODE"
    assert {(m, p) for m, p, _ in conform.seen} == HA_OPERATIONS


# -- regressions: server errors the schemathesis run once found --------------------------------------
BUG_1 = "BUG-1 fdm.json_body: `await request.text()` raises on a body that is not UTF-8 or names an unknown charset"
BUG_2 = "BUG-2 fdm.upload_upgrade: multipart parse errors and unusable file names escape as a 500"
BUG_3 = "BUG-3 fdm_auth custom_token: int() of an infinite desired_expires_in raises OverflowError"

JSON_BODY_OPERATIONS = [
    ("POST", "/action/upgradereadinesscheck"), ("POST", "/action/upgrade"), ("POST", "/action/revertupgrade"),
    ("POST", "/operational/deploy"), ("POST", "/object/networks"), ("PUT", "/object/networks/{objId}"),
    ("PUT", "/devicesettings/default/devicehostnames/{objId}"),
]


async def object_url(c: httpx.AsyncClient, path: str) -> str:
    """A path template with a real object id."""
    if path == "/object/networks/{objId}":
        r = await c.post("/object/networks", json={"name": "n1", "subType": "HOST", "value": "10.0.0.1"})
        return path.replace("{objId}", r.json()["id"])
    if path == "/devicesettings/default/devicehostnames/{objId}":
        r = await c.get("/devicesettings/default/devicehostnames")
        return path.replace("{objId}", r.json()["items"][0]["id"])
    return path


@pytest.mark.parametrize("body, content_type", [
    (b"\xff{}", "application/json"),
    (b"{}", "application/json; charset=no-such-charset"),
], ids=["not-utf8", "unknown-charset"])
@pytest.mark.parametrize("method, path", JSON_BODY_OPERATIONS, ids=[f"{m} {p}" for m, p in JSON_BODY_OPERATIONS])
async def test_undecodable_json_body_is_400_not_500(lab, method, path, body, content_type):
    async with httpx.AsyncClient(base_url=https_url(lab) + "/api/fdm/v6", verify=False, timeout=10) as c:
        await login(c)
        url = await object_url(c, path)
        r = await c.request(method, url, content=body, headers={"Content-Type": content_type})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["key"] == "Validation"


async def test_token_body_with_unknown_charset_is_400_not_500(lab):
    async with httpx.AsyncClient(base_url=https_url(lab), verify=False, timeout=10) as c:
        r = await c.post(TOKEN_PATH, content=b'{"grant_type": "password"}',
                         headers={"Content-Type": "application/json; charset=no-such-charset"})
    assert r.status_code == 400 and set(r.json()) == {"status_code", "message"}, r.text


@pytest.mark.parametrize("content_type, body", [
    ("multipart/form-data", b"x"),
    ("multipart/form-data; boundary=B", b""),
    ("multipart/form-data; boundary=B", b"--B\r\nNone--B--\r\n"),
    ("multipart/form-data; boundary=B",
     b"--B\r\nContent-Disposition: form-data; name=\"fileToUpload\"; filename*=UTF-8''%00x.tar\r\n\r\n"
     b"abc\r\n--B--\r\n"),
    ("multipart/form-data; boundary=B",
     b"--B\r\nContent-Disposition: form-data; name=\"fileToUpload\"; filename=\"" + b"a" * 300
     + b".tar\"\r\n\r\nabc\r\n--B--\r\n"),
], ids=["no-boundary", "empty", "bad-part-header", "nul-in-filename", "filename-too-long"])
async def test_unusable_upload_is_422_not_500(lab, content_type, body):
    async with httpx.AsyncClient(base_url=https_url(lab) + "/api/fdm/v6", verify=False, timeout=10) as c:
        await login(c)
        r = await c.post("/action/uploadupgrade", content=body, headers={"Content-Type": content_type})
    spec = spec_template()
    assert r.status_code < 500 and str(r.status_code) in op_of(spec, "POST", "/action/uploadupgrade")["responses"], \
        r.text
    assert r.json()["error"]["key"] == "Validation"


async def test_custom_token_with_infinite_lifetime_is_400_not_500(lab):
    async with httpx.AsyncClient(base_url=https_url(lab), verify=False, timeout=10) as c:
        token = await login(c)
        r = await c.post(TOKEN_PATH, content=(
            '{"grant_type": "custom_token", "access_token": "%s", "desired_expires_in": 1e400,'
            ' "desired_refresh_expires_in": 100, "desired_subject": "robot"}' % token).encode(),
            headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and set(r.json()) == {"status_code", "message"}, r.text
