"""Paging over 1,000 managed devices (an FMC 4700's most; a profile `count:`
template of FTDs managed by the FMC), read by the clients' own paging: fmcapi
follows `paging.next[0]` page after page at its `limit`, fireREST asks for 1000
(the cap) and gets them on one page."""

from __future__ import annotations

import pytest

COUNT = 1000
PROFILE = {"lab": "fmc-1000", "devices": [
    {"name": "fmc", "kind": "fmc", "model": "FMC-4700", "version": "7.6.0-113"},
    {"name": "ftd-{n}", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc", "count": COUNT}]}


@pytest.fixture
def big_lab(lab_runner):
    return lab_runner(PROFILE)


def test_fmcapi_pages_through_1000_devices(big_lab):
    fmcapi = pytest.importorskip("fmcapi")
    host = big_lab.endpoint("fmc")["https"]["url"].removeprefix("https://")
    with fmcapi.FMC(host=host, username="admin", password="Admin123", autodeploy=False, limit=300,
                    logging_level="WARNING") as fmc:
        items = fmcapi.DeviceRecords(fmc=fmc).get()["items"]
        assert fmc.page_counter == 3                       # 300 + 300 + 300 + 100: three next links followed
    assert len(items) == COUNT and len({d["id"] for d in items}) == COUNT
    assert {d["name"] for d in items} == {f"ftd-{n}" for n in range(1, COUNT + 1)}
    assert all(d["sw_version"] == "7.4.1" for d in items)


def test_firerest_gets_1000_devices_on_one_page(big_lab):
    firerest = pytest.importorskip("fireREST")
    fmc = firerest.FMC(hostname=big_lab.endpoint("fmc")["https"]["url"].removeprefix("https://"),
                       username="admin", password="Admin123")
    devices = fmc.device.devicerecord.get()
    assert len(devices) == COUNT and devices[0]["name"] == "ftd-1" and devices[-1]["name"] == f"ftd-{COUNT}"
    assert len(fmc.device.devicerecord.get(params={"offset": 990})) == 10
