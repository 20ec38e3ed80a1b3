"""The X-Token rule of SPS 7.5+ (safeguard-ps sessionapi.psm1, sps.md 4.1): a
browser's PUT/POST/DELETE needs the `X-Token` header carrying the token of
`GET /api/user/info`; non-browser clients (safeguard-ps sends `User-Agent:
PowerShell/6.0.0`) and releases before 7.5 go without. Over HTTPS (httpx)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
POWERSHELL = "PowerShell/6.0.0"


def _lab(lab_runner, version: str):
    return lab_runner({"lab": "x-token", "devices": [{"name": "sps-1", "kind": "sps", "model": "T-4",
                                                      "version": version}]})


@contextmanager
def _client(lab, agent: str) -> Iterator[httpx.Client]:
    https = lab.endpoint("sps-1")["https"]
    with httpx.Client(base_url=https["url"], verify=False, headers={"User-Agent": agent}) as client:
        assert client.get("/api/authentication", auth=(https["username"], https["password"])).status_code == 200
        yield client


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["type"]


def test_a_browser_needs_the_user_info_token_for_changes_on_7_5(lab_runner):
    lab = _lab(lab_runner, "7.5.1")
    with _client(lab, BROWSER) as browser, _client(lab, BROWSER) as other:
        assert browser.get("/api/firmware/slots").status_code == 200          # reading needs none
        assert _error(browser.post("/api/firmware/test", json={"slot_id": 1})) == (403, "InvalidXToken")
        assert _error(browser.delete("/api/firmware/slots/1")) == (403, "InvalidXToken")
        info = browser.get("/api/user/info").json()
        assert info["key"] == "info" and info["body"]["username"] == "admin"
        token = info["body"]["token"]
        theirs = other.get("/api/user/info").json()["body"]["token"]
        assert theirs != token
        assert _error(browser.post("/api/firmware/test", json={"slot_id": 1}, headers={"X-Token": theirs})) == (
            403, "InvalidXToken")
        # with its own token the request reaches the firmware test (the running version: refused there)
        assert _error(browser.post("/api/firmware/test", json={"slot_id": 1}, headers={"X-Token": token})) == (
            400, "FirmwareTestFailed")
        assert _error(browser.delete("/api/firmware/slots/1", headers={"X-Token": token})) == (400, "InvalidRequest")


def test_non_browser_clients_and_older_releases_need_no_token(lab_runner):
    with _client(_lab(lab_runner, "7.5.1"), POWERSHELL) as script:
        assert _error(script.post("/api/firmware/test", json={"slot_id": 1})) == (400, "FirmwareTestFailed")
    with _client(_lab(lab_runner, "7.0.2.1"), BROWSER) as browser:
        assert _error(browser.post("/api/firmware/test", json={"slot_id": 1})) == (400, "FirmwareTestFailed")
