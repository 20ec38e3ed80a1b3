"""schemathesis against the control API of a running lab (`simulator up`
in its own process, virtual time): no server error, documented status codes
and bodies that match the OpenAPI description the lab serves."""

from __future__ import annotations

import pytest
import requests
import schemathesis

from tests.conftest import end_lab, start_lab
from tests.schemathesis_run import run_schemathesis, schemathesis_config

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance")


@pytest.fixture
def control_url(tmp_path):
    endpoints, proc = start_lab("ftd-ha", tmp_path, log=tmp_path / "lab.log")
    yield endpoints["control"]["url"]
    end_lab(proc)


def test_control_api_conforms_to_its_openapi_description(control_url):
    spec = requests.get(control_url + "/api/openapi.json", timeout=10).json()
    del spec["paths"]["/api/events/stream"]          # endless by design; covered in test_control.py
    schema = schemathesis.openapi.from_dict(spec, config=schemathesis_config(
        control_url, seed=11, max_examples=30, checks=CHECKS))
    findings, errors, cases = run_schemathesis(schema)
    assert not errors, errors
    assert sum(cases.values()) > 5 * len(spec["paths"]), cases
    assert not findings, "\n".join(str(f) for f in findings)
