"""schemathesis against a running lab server's own routes (`simulator serve`
in its own process) with every check: documented statuses, content types and
bodies, invalid data refused, 405 with Allow, no server error."""

from __future__ import annotations

import requests
import schemathesis

from tests.schemathesis_run import run_schemathesis, schemathesis_config

# A request the schema allows and the server cannot take: a profile text that is not
# a profile (400), a lab id that is not there (404), a full server (429).
EXPECTED = {"positive_data_acceptance": ["2xx", "400", "404", "429", "507"]}


def test_lab_server_conforms_to_its_openapi_description(serve):
    served = serve("--max-labs", "3")
    spec = requests.get(served.url + "/api/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(spec, config=schemathesis_config(
        served.url, seed=17, max_examples=15, expected=EXPECTED))
    findings, errors, cases = run_schemathesis(schema)
    assert not errors, errors
    assert sum(cases.values()) > 3 * len(spec["paths"]), cases
    assert not findings, "\n".join(str(f) for f in findings)
    assert served.proc.poll() is None
