"""fmcapi (PyPI, unmodified) against the lab's FMC over real HTTPS: login,
server version, device records, and a token refresh when its own clock says
the token is old, and its refreshtoken path three times."""

from __future__ import annotations

import datetime

import pytest

fmcapi = pytest.importorskip("fmcapi")


def test_fmcapi_logs_in_reads_devices_and_survives_a_token_refresh(lab_runner):
    lab = lab_runner("fmc-managed")
    host = lab.endpoint("fmc")["https"]["url"].removeprefix("https://")
    with fmcapi.FMC(host=host, username="admin", password="Admin123", autodeploy=False,
                    logging_level="WARNING") as fmc:
        assert fmc.serverVersion == "7.6.0 (build 113)"
        names = {item["name"] for item in fmcapi.DeviceRecords(fmc=fmc).get()["items"]}
        assert {"ftd-4k-a", "ftd-4k-b", "ftdv-a", "ftdv-b", "fpr1120-1", "sf3120-1", "isa3000-1"} == names
        first = fmc.mytoken.access_token
        # fmcapi renews by its own wall clock at 95 % of 30 minutes: age its token instead of waiting.
        fmc.mytoken.token_creation_time -= datetime.timedelta(minutes=29)
        record = fmcapi.DeviceRecords(fmc=fmc, name="sf3120-1").get()
        assert fmc.mytoken.access_token != first          # this fmcapi logs in afresh at 28.5 minutes
        # Its refresh path (refreshtoken with both tokens), three times, each token then in use.
        for count in (1, 2, 3):
            previous = fmc.mytoken.access_token
            fmc.mytoken.generate_tokens()
            assert fmc.mytoken.token_refreshes == count and fmc.mytoken.access_token not in (None, previous)
            assert fmcapi.DeviceRecords(fmc=fmc, name="ftdv-a").get()["name"] == "ftdv-a"
        assert record["sw_version"] == "7.4.1" and record["model"] == "Cisco Secure Firewall 3120 Threat Defense"
        pairs = fmcapi.FTDDeviceHAPairs(fmc=fmc).get()["items"]
        assert {p["name"] for p in pairs} == {"ftd-4k-ha", "ftdv-ha"}
