"""The FXOS REST API's OpenAPI description (api_spec.yaml: ours, the real
chassis serves none; docs/fidelity/fxos.md §4).

1. It describes exactly the routes of api.ROUTES, and is valid OpenAPI 3.0.
2. A chassis serves it at GET /api/openapi.json, without a token.
3. schemathesis drives every operation of a live chassis (`simulator up`,
   virtual time) with every check (`st run --checks all`). The API's own
   conventions are the expected statuses: a valid request the chassis
   refuses is a 400 (as every FXOS error but 404), an unknown session at
   logout the 555 the vendor documents.
4. The responses along a bundle download and platform install, states
   schemathesis cannot reach alone, match the description too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis

from simulator.facts import read_yaml
from simulator.kinds.fxos import api as fxos_api
from simulator.lab import Lab
from tests.conftest import end_lab, start_lab
from tests.kinds.fxos.conftest import BUNDLE
from tests.schemathesis_run import run_schemathesis, schemathesis_config

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
EXPECTED = {"positive_data_acceptance": ["2xx", "400", "404", "555"],
            "not_a_server_error": ["2xx", "3xx", "4xx", "555"]}
TARGET = "2.14(1.131)"


def spec() -> dict[str, Any]:
    return json.loads(json.dumps(read_yaml("kinds/fxos/api_spec.yaml")))


def operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method != "parameters"}


def test_spec_describes_exactly_the_routes_and_is_valid_openapi():
    document = spec()
    assert operations(document) == {(route.method, route.path) for route in fxos_api.FXOS.routes}
    schemathesis.openapi.from_dict(document).validate()
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values() if "operationId" in op]
    assert len(ids) == len(set(ids)) == len(operations(document))
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            token = any(p.get("$ref") == "#/components/parameters/Token"
                        for p in op.get("parameters", []) + item.get("parameters", []))
            route = next(r for r in fxos_api.FXOS.routes if (r.method, r.path) == (method.upper(), path))
            assert token == (route.auth or path == "/api/logout"), (method, path)


# -- a live chassis -----------------------------------------------------------------------------------
@dataclass
class LiveChassis:
    url: str
    username: str
    password: str
    state: Path

    def login(self) -> str:
        r = requests.post(self.url + "/api/login", headers={"USERNAME": self.username, "PASSWORD": self.password},
                          verify=False, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["token"]


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveChassis]:
    tmp = tmp_path_factory.mktemp("fxos-spec-lab")
    endpoints, proc = start_lab("fxos-4100-standalone", tmp, log=tmp / "lab.log")
    try:
        https = next(d for d in endpoints["devices"] if d["kind"] == "fxos")["https"]
        yield LiveChassis(https["url"], https["username"], https["password"], tmp / "state")
    finally:
        end_lab(proc)
    assert "Traceback" not in (tmp / "lab.log").read_text()


def test_chassis_serves_the_description_without_a_token(live):
    r = requests.get(live.url + "/api/openapi.json", verify=False, timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json() == spec()


def test_live_chassis_conforms_to_the_description_it_serves(live):
    document = requests.get(live.url + "/api/openapi.json", verify=False, timeout=10).json()
    schema = schemathesis.openapi.from_dict(document, config=schemathesis_config(
        live.url, seed=7, max_examples=8, tls_verify=False, expected=EXPECTED))
    token = live.login()

    @schema.auth(refresh_interval=None)
    class Token:
        """The login's token wherever a case sends TOKEN (a case without it tests
        the missing header); logout keeps its drawn token, not to end the run's session."""

        def get(self, case, context):
            return token

        def set(self, case, data, context):
            if case.operation.path != "/api/logout" and "TOKEN" in (case.headers or {}):
                case.headers["TOKEN"] = data

    findings, errors, cases = run_schemathesis(schema)
    assert not errors, errors
    assert sum(cases.values()) > 10 * len(operations(document)), cases
    assert not findings, "\n".join(str(f) for f in findings)
    with (live.state / "journal.jsonl").open() as fh:
        assert not [e for e in map(json.loads, fh) if e["kind"] == "api.error"]


# -- conformance along a download and an install (virtual time) ----------------------------------------
class Conformance:
    def __init__(self) -> None:
        self.document = spec()
        self.schema = schemathesis.openapi.from_dict(self.document)
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, response: httpx.Response, method: str, path: str, status: int = 200) -> Any:
        assert response.status_code == status, (method, path, response.text)
        assert str(status) in self.document["paths"][path][method.lower()]["responses"], (method, path, status)
        self.schema[path][method.upper()].validate_response(response)
        self.seen.add((method.upper(), path))
        return response.json()


async def test_responses_conform_along_a_download_and_an_install(tmp_path, web_server):
    conform = Conformance()
    async with Lab("fxos-4100-standalone", state_dir=tmp_path / "s", virtual_time=True, seed=5) as lab:
        chassis = next(d for d in lab.devices.values() if d.kind == "fxos")
        url = next(d for d in lab.endpoints()["devices"] if d["kind"] == "fxos")["https"]["url"]

        async def login(c: httpx.AsyncClient) -> None:
            r = await c.post("/api/login", headers={"USERNAME": "admin", "PASSWORD": "Admin123"})
            c.headers["TOKEN"] = conform(r, "POST", "/api/login")["token"]

        async with httpx.AsyncClient(base_url=url, verify=False, timeout=10) as c:
            conform(await c.post("/api/login", headers={"USERNAME": "admin", "PASSWORD": "x"}), "POST",
                    "/api/login", 400)
            await login(c)
            for path in ("/api/sys/firmware/distrib", "/api/sys/firmware/dnld", "/api/slot", "/api/ld",
                         "/api/sys/fault", "/api/sys/fw-system/fsm", "/api/sys/firmware/sched-platform-fw"):
                conform(await c.get(path), "GET", path)
            conform(await c.get("/api/sys/firmware/version/mgmt"), "GET", "/api/sys/firmware/version/{kind}")
            conform(await c.get("/api/", params={"classId": "smAppInstance"}), "GET", "/api/")
            host, port = web_server.split(":")
            body = {"firmwareDownloader": [{"protocol": "http", "server": host, "port": port, "remotePath": "/pub",
                                            "dn": f"sys/fw-catalogue/dnld-{BUNDLE}"}]}
            conform(await c.post("/api/sys/firmware/dnld/", json=body), "POST", "/api/sys/firmware/dnld/")
            await lab.settle()
            assert await lab.clock.run_until(lambda: chassis.downloads[BUNDLE].state == "Downloaded", 3600)
            conform(await c.get(f"/api/sys/firmware/dnld/{BUNDLE}"), "GET", "/api/sys/firmware/dnld/{fileName}")
            conform(await c.get(f"/api/sys/firmware/distrib/{BUNDLE}"), "GET", "/api/sys/firmware/distrib/{id}")
            conform(await c.get(f"/api/sys/firmware/validate-platform-fw/{TARGET}"), "GET",
                    "/api/sys/firmware/validate-platform-fw/{id}")
            conform(await c.get("/api/sys/firmware/validate-platform-fw"), "GET",
                    "/api/sys/firmware/validate-platform-fw")
            conform(await c.get("/api/slot/1"), "GET", "/api/slot/{id}")
            conform(await c.get("/api/slot/1/app-inst"), "GET", "/api/slot/{id}/app-inst")
            conform(await c.get("/api/ld/ftd-1"), "GET", "/api/ld/{id}")
            install = {"firmwareInfraPack": [{"platformBundleVersion": TARGET}]}
            conform(await c.patch("/api/sys/firmware/sched-platform-fw", json=install), "PATCH",
                    "/api/sys/firmware/sched-platform-fw")
            conform(await c.patch("/api/sys/firmware/cancel-platform-fw"), "PATCH", "/api/sys/firmware/cancel-platform-fw")
            conform(await c.patch("/api/sys/firmware/sched-platform-fw", json=install), "PATCH",
                    "/api/sys/firmware/sched-platform-fw")
            await lab.clock.advance(30)
            conform(await c.get("/api/sys/fw-system/fsm"), "GET", "/api/sys/fw-system/fsm")
            assert await lab.clock.run_until(lambda: chassis.ready and chassis.install is not None
                                             and chassis.install.state != "IN_PROGRESS", 4 * 3600)
            await lab.settle()
            await login(c)                                  # tokens do not survive the reboots
            fsm = conform(await c.get("/api/sys/fw-system/fsm"), "GET", "/api/sys/fw-system/fsm")
            assert fsm["firmwareSystemFsm"][0]["fsmStatus"] == "success", fsm
            conform(await c.get("/api/slot/1/app-inst/ftd-ftd-1"), "GET", "/api/slot/{slot}/app-inst/{app}")
            conform(await c.patch("/api/sys/firmware/cancel-platform-fw"), "PATCH",
                    "/api/sys/firmware/cancel-platform-fw", 400)           # nothing to cancel
            conform(await c.delete(f"/api/sys/firmware/dnld/{BUNDLE}"), "DELETE", "/api/sys/firmware/dnld/{fileName}")
            conform(await c.delete(f"/api/sys/firmware/distrib/{BUNDLE}"), "DELETE", "/api/sys/firmware/distrib/{id}")
            conform(await c.post("/api/logout"), "POST", "/api/logout")
            conform(await c.post("/api/logout"), "POST", "/api/logout", 555)
    untouched = operations(conform.document) - conform.seen
    assert untouched <= {("GET", "/api/openapi.json"), ("GET", "/api/sys/firmware/dnld/"),
                         ("POST", "/api/sys/firmware/dnld"), ("POST", "/api/sys/firmware/dnld/{fileName}")}, untouched
