"""The FMC API description a management center serves (kinds/fmc/api_spec.yaml).

1. Its operations are exactly the routes of api.ROUTES under basePath /api
   (methods, paths, operationIds, which need a token), valid Swagger 2.0.
2. An FMC serves it at GET /api/api-explorer/fmc.json (the path FMCAnsible
   reads) with a token, with its own host; without one: 401.
3. schemathesis drives every operation of a live FMC (`simulator up` in a
   subprocess, virtual time) from the served spec with every check; kept short
   (a few examples per operation).
4. A body its model refuses is FMC's 400 before anything happens."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
import yaml

from simulator.facts import read_yaml
from simulator.kinds.fmc import api as fmc_api
from tests.conftest import end_lab, start_lab
from tests.kinds.fmc.test_upgrade import PROFILE
from tests.schemathesis_run import run_schemathesis, schemathesis_config

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
SPEC_PATH = "/api/api-explorer/fmc.json"
# A valid request the FMC's state refuses is its 400; an unknown object or domain 404.
EXPECTED = {"positive_data_acceptance": ["2xx", "400", "401", "404"]}
MAX_EXAMPLES = 2


def spec() -> dict[str, Any]:
    return json.loads(json.dumps(read_yaml("kinds/fmc/api_spec.yaml")))


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method.upper(), document["basePath"] + path): op
            for path, item in document["paths"].items() for method, op in item.items()}


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from [value] if key == "$ref" else refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_the_spec_describes_exactly_the_routes_and_is_valid_swagger():
    document = spec()
    schemathesis.openapi.from_dict(document).validate()
    routed = {(r.method, r.path): r for r in fmc_api.ROUTES if r.path != SPEC_PATH}
    declared = operations(document)
    assert sorted(declared) == sorted(routed)
    for key, op in declared.items():
        route = routed[key]
        assert op["operationId"] == route.operation, key
        assert (op.get("security", document["security"]) == [{"token": []}]) == route.auth, key
        assert set(re.findall(r"{(\w+)}", key[1])) == {p["name"] for p in op["parameters"] if p["in"] == "path"}
    ids = [op["operationId"] for op in declared.values()]
    assert len(ids) == len(set(ids))
    for ref in refs(document):
        assert ref.split("/")[-1] in document["definitions"], ref


@pytest.fixture
def fmc_lab(lab_runner):
    return lab_runner(PROFILE)


def _token(client: httpx.Client) -> str:
    return client.post("/api/fmc_platform/v1/auth/generatetoken", auth=("admin", "Admin123")).headers[
        "X-auth-access-token"]


def test_an_fmc_serves_the_spec_with_a_token_only(fmc_lab):
    url = fmc_lab.endpoint("fmc")["https"]["url"]
    with httpx.Client(base_url=url, verify=False) as client:
        refused = client.get(SPEC_PATH)
        assert refused.status_code == 401 and refused.json()["error"]["severity"] == "ERROR"
        served = client.get(SPEC_PATH, headers={"X-auth-access-token": _token(client)})
    assert served.status_code == 200 and served.headers["content-type"].startswith("application/json")
    assert served.json() == {**spec(), "host": url.removeprefix("https://")}


def test_a_body_the_model_refuses_is_400_and_changes_nothing(fmc_lab):
    with httpx.Client(base_url=fmc_lab.endpoint("fmc")["https"]["url"], verify=False) as client:
        client.headers["X-auth-access-token"] = _token(client)
        upgrade = client.post("/api/fmc_platform/v1/updates/upgrades",
                              json={"upgradePackage": {"id": "x", "type": "UpgradePackage"},
                                    "targets": [{"id": "y", "type": "Device"}], "readinessCheckOnly": "yes"})
        assert upgrade.status_code == 400
        assert upgrade.json()["error"]["messages"][0]["description"] == "Invalid value for field readinessCheckOnly."
        domain = "e276abec-e0f2-11e3-8169-6d9ed49b625f"
        backup = client.post(f"/api/fmc_config/v1/domain/{domain}/backup/operational/devicebackup",
                             json={"type": "FULL", "devices": []})
        assert backup.status_code == 400 and "Valid values are DEVICE_BACKUP" in backup.text
    assert fmc_lab.run(lambda: fmc_lab.lab.device("fmc").tasks) == {}


@pytest.fixture
def live(tmp_path) -> Iterator[tuple[str, Path]]:
    profile = {**PROFILE, "devices": [{**PROFILE["devices"][0], "rate_limit": False, "connection_limit": False},
                                      *PROFILE["devices"][1:]]}
    path = tmp_path / "fmc-spec.yaml"
    path.write_text(yaml.safe_dump(profile))
    endpoints, proc = start_lab(str(path), tmp_path, log=tmp_path / "lab.log")
    try:
        yield next(d for d in endpoints["devices"] if d["kind"] == "fmc")["https"]["url"], tmp_path
    finally:
        end_lab(proc)
    assert "Traceback" not in (tmp_path / "lab.log").read_text()


def test_a_live_fmc_conforms_to_the_spec_it_serves(live):
    url, tmp = live
    token = requests.post(url + "/api/fmc_platform/v1/auth/generatetoken", auth=("admin", "Admin123"),
                          verify=False, timeout=10).headers["X-auth-access-token"]
    document = requests.get(url + SPEC_PATH, headers={"X-auth-access-token": token}, verify=False, timeout=10).json()
    schema = schemathesis.openapi.from_dict(document, config=schemathesis_config(
        url + document["basePath"], seed=15, max_examples=MAX_EXAMPLES, tls_verify=False, expected=EXPECTED))

    @schema.auth(refresh_interval=None)
    class Token:
        def get(self, case, context):
            return token

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "X-auth-access-token": data}

    findings, errors, cases = run_schemathesis(schema)
    assert not errors, "\n".join(errors)
    assert sum(cases.values()) > 10 * len(operations(document)), cases
    assert not findings, "\n".join(str(f) for f in findings)
    with (tmp / "state" / "journal.jsonl").open() as fh:
        assert not [e for e in map(json.loads, fh) if e["kind"] == "api.error"]
