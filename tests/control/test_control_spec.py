"""schemathesis against the control API of a running lab (`simulator up`
in its own process, virtual time) with every check (`st run --checks all`):
no server error, documented status codes, content types and bodies, invalid
data refused, 405 with Allow. The event stream is endless by design: its
frames are checked against the description here instead."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
import requests
import schemathesis

from simulator.lab import Lab
from tests.conftest import end_lab, start_lab
from tests.schemathesis_run import run_schemathesis, schemathesis_config

# A valid request the schema cannot tell is wrong (a fault action its point does
# not take, `device` without `state`) is a 400 "what was wrong", as documented.
EXPECTED = {"positive_data_acceptance": ["2xx", "400", "404", "409"]}


@pytest.fixture
def control_url(tmp_path):
    endpoints, proc = start_lab("ftd-ha", tmp_path, log=tmp_path / "lab.log")
    yield endpoints["control"]["url"]
    end_lab(proc)
    assert "Traceback" not in (tmp_path / "lab.log").read_text()


def test_control_api_conforms_to_its_openapi_description(control_url):
    spec = requests.get(control_url + "/api/openapi.json", timeout=10).json()
    del spec["paths"]["/api/events/stream"]          # endless by design: the next test
    schema = schemathesis.openapi.from_dict(spec, config=schemathesis_config(
        control_url, seed=11, max_examples=15, expected=EXPECTED))
    findings, errors, cases = run_schemathesis(schema)
    assert not errors, errors
    assert sum(cases.values()) > 5 * len(spec["paths"]), cases
    assert not findings, "\n".join(str(f) for f in findings)


async def test_event_stream_frames_carry_the_documented_events(tmp_path):
    async with Lab("ftd-ha", state_dir=tmp_path / "s", virtual_time=True, seed=3) as lab, \
            httpx.AsyncClient(base_url=lab.control.url, timeout=10) as client:
        spec = (await client.get("/api/openapi.json")).json()
        r = await client.get("/api/events/stream", params={"after": "x"})
        assert r.status_code == 400 and r.json()["error"]
        lab.power("ftd-b", "cycle")
        last = lab.journal.last_seq
        frames: list[dict[str, str]] = []
        async with client.stream("GET", "/api/events/stream", params={"after": 0}) as response:
            assert response.status_code == 200 and response.headers["content-type"] == "text/event-stream"
            frame: dict[str, str] = {}
            async for line in response.aiter_lines():
                if line:
                    field, _, value = line.partition(": ")
                    frame[field] = value
                    continue
                if "data" in frame:
                    frames.append(frame)
                frame = {}
                if frames and int(frames[-1]["id"]) >= last:
                    break
    events = [json.loads(f["data"]) for f in frames]
    assert [e["seq"] for e in events] == list(range(1, last + 1))
    assert all(f["id"] == str(e["seq"]) and f["event"] == e["kind"] for f, e in zip(frames, events))
    # Each one is an Event as /api/events documents it.
    page = httpx.Response(200, json={"items": events, "next": last},
                          request=httpx.Request("GET", lab.control.url + "/api/events"))
    page.elapsed = timedelta(0)
    schemathesis.openapi.from_dict(spec)["/api/events"]["GET"].validate_response(page)
