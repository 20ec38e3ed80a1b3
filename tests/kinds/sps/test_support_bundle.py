"""The REST support bundle over real HTTPS (httpx) on the virtual lab clock:
safeguard-ps's `Get-SafeguardSpsSupportBundle` sequence (POST, poll
`body.status` until `finished`, download, DELETE; sps.md 4.5) with its own
headers, the archive's members, the errors, the bound and a lab restart."""

from __future__ import annotations

import http.client
import io
import re
import ssl
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from simulator.kinds.sps.bundle import keep
from simulator.kinds.sps.facts import sps
from simulator.pytest_plugin import RunningLab
from tests.kinds.sps.conftest import error_type, logged_in

BASE = "/api/troubleshooting/support-bundle"
# What every safeguard-ps call sends (sessionapi.psm1 Invoke-SafeguardSpsMethod; $script:SpsUserAgent).
PS_HEADERS = {"Accept": "application/json", "Content-Type": "application/json", "User-Agent": "PowerShell/6.0.0"}
MEMBERS = ("var/log/messages", "version.txt", "firmware/slots.json", "ha/status.json", "health_status.json")


@contextmanager
def _paused(lab) -> Iterator[None]:
    """The lab clock moves only when the test advances it (no auto-jump under a poll)."""
    lab.run(lab.lab.clock.pause)
    try:
        yield
    finally:
        lab.run(lab.lab.clock.resume)


def _advance(lab, seconds: float) -> None:
    lab.call(lab.lab.clock.advance(seconds))


def _post(api: httpx.Client) -> httpx.Response:
    """safeguard-ps's bodiless POST: an empty JSON body with Content-Length: 0 (Invoke-SpsWithBody)."""
    return api.post(BASE, content=b"")


def test_safeguard_ps_creates_polls_downloads_and_deletes_a_bundle(sps_lab, tmp_path):
    made = sps().timings["support_bundle"]
    with logged_in(sps_lab, headers=PS_HEADERS) as api, _paused(sps_lab):
        started = _post(api)
        assert started.status_code == 202, started.text
        key = started.json()["key"]
        assert started.json() == {"key": key, "body": {"status": "in-progress"},
                                  "meta": {"href": f"{BASE}/{key}", "parent": BASE}}
        # The poll: every 10 s (on the lab clock here) until body.status == "finished".
        polls = []
        while (status := api.get(f"{BASE}/{key}").json()["body"]["status"]) != "finished":
            polls.append(status)
            assert error_type(api.get(f"{BASE}/{key}/download")) == "ResourceNotFound"     # not made yet
            _advance(sps_lab, 10)
        assert polls == ["in-progress"] * int(-(-made // 10))
        assert api.get(f"{BASE}/{key}").json()["meta"]["download"] == f"{BASE}/{key}/download"

        download = api.get(f"{BASE}/{key}/download")
        assert download.status_code == 200
        assert download.headers["Content-Type"] == "application/zip"
        name = re.fullmatch(r'attachment; filename="(debug_info-sps-1\d{12})\.zip"',
                            download.headers["Content-Disposition"])
        assert name, download.headers["Content-Disposition"]
        out = tmp_path / "sps-bundle.tar.gz"          # safeguard-ps's default name; it writes the bytes as they come
        out.write_bytes(download.content)
        with zipfile.ZipFile(out) as archive:
            names = archive.namelist()
            assert set(names) == {f"{name[1]}/{member}" for member in MEMBERS}
            assert "Core firmware version: 6.0.3 LTS" in archive.read(f"{name[1]}/version.txt").decode()
            assert "Admin123" not in "".join(archive.read(n).decode() for n in names)   # no passwords
        sps_lab.assert_event("support_bundle", "sps-1", key=key)

        deleted = api.delete(f"{BASE}/{key}")
        assert deleted.status_code == 200 and deleted.json()["body"] == {"status": "finished"}
        for gone in (api.get(f"{BASE}/{key}"), api.get(f"{BASE}/{key}/download"), api.delete(f"{BASE}/{key}")):
            assert gone.status_code == 404 and error_type(gone) == "ResourceNotFound"
        assert not list((sps_lab.lab.store.device_fs("sps-1") / "var/lib/support-bundles").iterdir())


def test_unknown_keys_are_not_found_and_nothing_answers_without_a_session(sps_lab):
    with logged_in(sps_lab, headers=PS_HEADERS) as api:
        for path in (f"{BASE}/0123456789abcdef", f"{BASE}/0123456789abcdef/download", f"{BASE}/..%2F..%2Froot"):
            missing = api.get(path)
            assert missing.status_code == 404 and error_type(missing) == "ResourceNotFound", path
        assert "There is no support bundle 0123456789abcdef." in api.delete(f"{BASE}/0123456789abcdef").text
        key = _post(api).json()["key"]
    with httpx.Client(base_url=sps_lab.endpoint("sps-1")["https"]["url"], verify=False, headers=PS_HEADERS) as anon:
        for answer in (anon.post(BASE, content=b""), anon.get(f"{BASE}/{key}"),
                       anon.get(f"{BASE}/{key}/download"), anon.delete(f"{BASE}/{key}")):
            assert answer.status_code == 401 and error_type(answer) == "AuthenticationFailure"


def test_a_post_without_content_length_gets_411(sps_lab):
    with logged_in(sps_lab, headers=PS_HEADERS) as api:
        cookie = api.cookies["session_id"]
    url = httpx.URL(sps_lab.endpoint("sps-1")["https"]["url"])
    conn = http.client.HTTPSConnection(url.host, url.port, context=ssl._create_unverified_context())
    conn.putrequest("POST", BASE)
    conn.putheader("Cookie", f"session_id={cookie}")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 411 and b"LengthRequired" in response.read()
    conn.close()


def test_only_the_newest_bundles_are_kept(sps_lab):
    with logged_in(sps_lab, headers=PS_HEADERS) as api, _paused(sps_lab):
        keys = []
        for _ in range(keep()):
            keys.append(_post(api).json()["key"])
            _advance(sps_lab, 1)                       # each finishes a second after the one before
        busy = _post(api)
        assert busy.status_code == 400 and "Too many support bundles" in busy.text
        _advance(sps_lab, sps().timings["support_bundle"])
        assert {api.get(f"{BASE}/{k}").json()["body"]["status"] for k in keys} == {"finished"}
        newest = _post(api).json()["key"]
        _advance(sps_lab, sps().timings["support_bundle"])
        assert api.get(f"{BASE}/{keys[0]}").status_code == 404                  # the oldest went
        for key in [*keys[1:], newest]:
            assert api.get(f"{BASE}/{key}").json()["body"]["status"] == "finished"


def test_a_reboot_loses_a_bundle_being_made_but_not_a_finished_one(sps_lab):
    with logged_in(sps_lab, headers=PS_HEADERS) as api:
        with _paused(sps_lab):
            finished = _post(api).json()["key"]
            _advance(sps_lab, sps().timings["support_bundle"])
            making = _post(api).json()["key"]
            assert api.post("/api/_simulator/system_control/this_node/reboot", content=b"").status_code == 200
        sps_lab.wait_for_state("sps-1", "online")
    with logged_in(sps_lab, headers=PS_HEADERS) as api:
        assert api.get(f"{BASE}/{finished}").json()["body"]["status"] == "finished"
        assert error_type(api.get(f"{BASE}/{making}")) == "ResourceNotFound"


def test_a_lab_restart_keeps_the_finished_bundles(tmp_path):
    lab = RunningLab("sps-standalone", tmp_path / "state", None)
    try:
        lab.run(lab.lab.clock.pause)                  # stopped with the second bundle still being made
        with logged_in(lab, headers=PS_HEADERS) as api:
            finished = _post(api).json()["key"]
            _advance(lab, sps().timings["support_bundle"])
            making = _post(api).json()["key"]
    finally:
        lab.stop()
    lab = RunningLab("sps-standalone", tmp_path / "state", None)
    try:
        with logged_in(lab, headers=PS_HEADERS) as api:
            assert api.get(f"{BASE}/{finished}").json()["body"]["status"] == "finished"
            with zipfile.ZipFile(io.BytesIO(api.get(f"{BASE}/{finished}/download").content)) as archive:
                assert len(archive.namelist()) == len(MEMBERS)
            assert error_type(api.get(f"{BASE}/{making}")) == "ResourceNotFound"
    finally:
        lab.stop()
