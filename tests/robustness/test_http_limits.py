"""What no HTTP client may do to the lab, against `simulator up` as a user
runs it (an FXOS chassis hosting an FTD: the FDM, FXOS and control APIs):

- a body larger than its route takes is refused (413, the API's own error
  body) as soon as its head arrives, before the body is read, and the lab's
  memory does not grow (issue 12 item 1: 400 MB to /fdm/token took it from
  82 MB to 1.27 GB);
- JSON nested 1,000 levels deep is a 400 in the API's envelope, not a 500
  (item 11);
- a multipart upload without its closing boundary, or with another field, is
  not taken as the package and leaves no file (item 3, HTTP side);
- 405 carries `Allow`, a 204 its content type, and values the specs forbid
  are refused (item 15);
- a malformed request is one line in the lab's log, and nothing above leaves
  a traceback there or an `api.error` in the journal."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from simulator.webserver import JSON_BODY_MAX, JSON_DEPTH_MAX
from tests.conftest import end_lab, start_lab

MB = 1024 * 1024
HUGE = 400 * MB
DEEP = "[" * 1000 + "]" * 1000
FDM = "/api/fdm/latest"
PACKAGE = "Cisco_FTD_SSP_Upgrade-7.4.2-172.sh.REL.tar"


@dataclass
class Lab:
    ftd: str                # base URLs
    fxos: str
    control: str
    pid: int
    state: Path
    log: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("http-limits")
    endpoints, proc = start_lab("fxos-4100-standalone", tmp, log=tmp / "lab.log")
    urls = {d["kind"]: d["https"]["url"] for d in endpoints["devices"]}
    try:
        yield Lab(urls["ftd"], urls["fxos"], endpoints["control"]["url"], proc.pid, tmp / "state", tmp / "lab.log")
    finally:
        end_lab(proc)
    log = (tmp / "lab.log").read_text()
    assert "Traceback" not in log, log


def fdm_token(lab: Lab) -> str:
    r = httpx.post(lab.ftd + FDM + "/fdm/token", verify=False,
                   json={"grant_type": "password", "username": "admin", "password": "Admin123"})
    return r.json()["access_token"]


def fxos_token(lab: Lab) -> str:
    r = httpx.post(lab.fxos + "/api/login", verify=False, headers={"USERNAME": "admin", "PASSWORD": "Admin123"})
    return r.json()["token"]


def raw_exchange(url: str, head: str, body: Iterable[bytes] = (), wait: float = 10) -> bytes:
    """A request sent by hand (the body as it is produced, stopping when the
    server stops taking it) and what the server answered within `wait` s."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=wait)
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        sock = context.wrap_socket(sock)
    with sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        try:
            for chunk in body:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass                # refused while we sent: the answer is what counts
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer:
                    break
        except (ConnectionResetError, ssl.SSLError):
            pass
        return answer


def rss(lab: Lab) -> int:
    return psutil.Process(lab.pid).memory_info().rss


# -- item 1: bodies are bounded ------------------------------------------------------------------
def huge_posts(lab: Lab) -> list[tuple[str, str, dict[str, str]]]:
    """(url, path, headers) of a JSON route of each API: two without a login."""
    return [(lab.ftd, FDM + "/fdm/token", {}),
            (lab.ftd, FDM + "/object/networks", {"Authorization": f"Bearer {fdm_token(lab)}"}),
            (lab.fxos, "/api/sys/firmware/dnld", {"TOKEN": fxos_token(lab)}),
            (lab.control, "/api/clock/advance", {})]


def head(method: str, url: str, path: str, headers: dict[str, str], **more: str) -> str:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {urlsplit(url).netloc}", "Content-Type: application/json",
             *(f"{k}: {v}" for k, v in {**headers, **more}.items())]
    return "\n".join(lines) + "\n"


def test_a_huge_declared_body_is_refused_before_it_is_read(lab):
    before = rss(lab)
    for url, path, headers in huge_posts(lab):
        started = time.monotonic()
        # 400 MB announced, one sent: the answer comes without the rest.
        answer = raw_exchange(url, head("POST", url, path, headers, **{"Content-Length": str(HUGE)}), [b"{" * MB])
        status, _, rest = answer.partition(b"\r\n")
        assert status.startswith(b"HTTP/1.1 413"), (path, answer[:300])
        assert b"Connection: close" in rest, answer[:300]
        assert time.monotonic() - started < 5
    assert rss(lab) - before < 32 * MB


def test_a_huge_chunked_body_is_cut_at_the_json_limit(lab):
    before = rss(lab)
    for url, path, headers in huge_posts(lab):
        chunk = b"%x\r\n%s\r\n" % (MB, b" " * MB)
        answer = raw_exchange(url, head("POST", url, path, headers, **{"Transfer-Encoding": "chunked"}),
                              (chunk for _ in range(64)))           # 64 MB at most, never the end
        assert answer.startswith(b"HTTP/1.1 413"), (path, answer[:300])
    assert rss(lab) - before < 32 * MB


def test_413_bodies_are_each_apis_own(lab):
    r = httpx.post(lab.ftd + FDM + "/fdm/token", verify=False, content=b" " * (JSON_BODY_MAX + 1))
    assert r.status_code == 413 and r.json()["error"]["severity"] == "ERROR", r.text
    r = httpx.post(lab.fxos + "/api/login", verify=False, content=b" " * (JSON_BODY_MAX + 1))
    assert r.status_code == 413 and r.json()["error-code"] == "413", r.text
    r = httpx.post(lab.control + "/api/clock/advance", content=b" " * (JSON_BODY_MAX + 1))
    assert r.status_code == 413 and "larger than" in r.json()["error"], r.text


def test_an_upload_may_be_larger_than_json(lab):
    """The upload route streams to disk: a file over the JSON limit reaches the package check."""
    auth = {"Authorization": f"Bearer {fdm_token(lab)}"}
    r = httpx.post(lab.ftd + FDM + "/action/uploadupgrade", verify=False, headers=auth,
                   files={"fileToUpload": (PACKAGE, b"\0" * (2 * JSON_BODY_MAX))})
    assert r.status_code in (200, 422), r.text
    for item in httpx.get(lab.ftd + FDM + "/managedentity/upgradefiles", verify=False, headers=auth).json()["items"]:
        httpx.delete(lab.ftd + FDM + f"/managedentity/upgradefiles/{item['id']}", verify=False, headers=auth)


# -- item 11: deep JSON ------------------------------------------------------------------------------
def test_deeply_nested_json_is_400_in_each_apis_envelope(lab):
    token = fdm_token(lab)
    r = httpx.post(lab.ftd + FDM + "/fdm/token", verify=False, content=DEEP, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and set(r.json()) == {"status_code", "message"}, r.text
    r = httpx.post(lab.ftd + FDM + "/object/networks", verify=False, content=DEEP,
                   headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    assert r.status_code == 400 and r.json()["error"]["key"] == "Validation", r.text
    assert f"deeper than {JSON_DEPTH_MAX}" in r.json()["error"]["messages"][0]["description"]
    r = httpx.patch(lab.fxos + "/api/sys/firmware/sched-platform-fw", verify=False, content=DEEP,
                    headers={"TOKEN": fxos_token(lab)})
    assert r.status_code == 400 and r.json()["error-code"] == "105", r.text
    r = httpx.post(lab.control + "/api/clock/advance", content=DEEP)
    assert r.status_code == 400 and "deeper than" in r.json()["error"], r.text
    nested = json.dumps({"seconds": 1, "x": json.loads("[" * 40 + "]" * 40)})    # shallow enough to parse, still too deep
    r = httpx.post(lab.control + "/api/clock/advance", content=nested)
    assert r.status_code == 400, r.text
    errors = [e for e in map(json.loads, (lab.state / "journal.jsonl").open()) if e["kind"] == "api.error"]
    assert not errors, errors


# -- item 3 (HTTP): an upload is whole or nothing -------------------------------------------------------

def multipart(*parts: tuple[str, str | None, bytes], end: bool = True) -> bytes:
    body = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--B\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
    return body + (b"--B--\r\n" if end else b"")


@pytest.mark.parametrize("body", [
    multipart(("fileToUpload", PACKAGE, b"x" * 100_000), end=False)[:-2],
    multipart(("fileToUpload", PACKAGE, b"x" * 100_000), end=False),
    multipart(("fileToUpload", PACKAGE, b"x" * 100_000), ("comment", None, b"hi")),
    multipart(("comment", None, b"hi"), ("fileToUpload", PACKAGE, b"x" * 100_000)),
], ids=["cut-in-the-file", "no-closing-boundary", "a-field-after", "a-field-before"])
def test_an_upload_that_is_not_one_whole_file_part_is_refused_and_leaves_nothing(lab, body):
    token = fdm_token(lab)
    r = httpx.post(lab.ftd + FDM + "/action/uploadupgrade", verify=False, content=body,
                   headers={"Authorization": f"Bearer {token}", "Content-Type": "multipart/form-data; boundary=B"})
    assert r.status_code == 422 and r.json()["error"]["messages"][0]["location"] == "fileToUpload", r.text
    updates = lab.state / "devices" / "ftd-1" / "fs" / "var" / "sf" / "updates"
    assert not (updates / PACKAGE).exists() and not (updates / f".{PACKAGE}.part").exists()
    files = httpx.get(lab.ftd + FDM + "/managedentity/upgradefiles", verify=False,
                      headers={"Authorization": f"Bearer {token}"}).json()
    assert files["items"] == []


# -- item 15: conformance ------------------------------------------------------------------------------
def test_405_says_which_methods_are_allowed(lab):
    token = fdm_token(lab)
    r = httpx.put(lab.ftd + FDM + "/object/networks", verify=False, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 405 and set(r.headers["Allow"].split(",")) == {"GET", "POST"}, r.headers
    assert r.json()["error"]["severity"] == "ERROR"
    r = httpx.delete(lab.fxos + "/api/slot", verify=False)
    assert r.status_code == 405 and r.headers["Allow"] == "GET" and r.json()["error-code"] == "405"
    r = httpx.put(lab.control + "/api/lab")
    assert r.status_code == 405 and r.headers["Allow"] == "GET" and "error" in r.json()


def test_a_204_has_the_json_content_type_and_no_body(lab):
    token = fdm_token(lab)
    r = httpx.delete(lab.ftd + FDM + "/operational/pendingchanges", verify=False,
                     headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204 and r.content == b"" and r.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("path, body, location", [
    ("/action/upgrade", {"upgradeFile": None}, "upgradeFile"),
    ("/action/upgradereadinesscheck", {"upgradeFile": None}, "upgradeFile"),
    ("/action/upgradereadinesscheck", {"upgradeFile": {"type": "upgradefile"}}, "upgradeFile.id"),
    ("/action/upgradereadinesscheck", {"scheduleType": ""}, "scheduleType"),
    ("/action/upgrade", {"cancelOnFailure": "yes"}, "cancelOnFailure"),
    ("/object/networks", {"name": "n", "subType": "SUBNET", "value": "10.0.0.0/8"}, "subType"),
    ("/object/networks", {"name": "n", "subType": "HOST", "value": "10.0.0.1", "isSystemDefined": 1},
     "isSystemDefined"),
], ids=["null-upgrade-file", "null-upgrade-file-check", "reference-without-id", "schedule-type", "flag-as-text",
        "sub-type", "number-for-boolean"])
def test_fdm_refuses_body_values_its_spec_forbids(lab, path, body, location):
    r = httpx.post(lab.ftd + FDM + path, verify=False, json=body, headers={"Authorization": f"Bearer {fdm_token(lab)}"})
    assert r.status_code == 422 and r.json()["error"]["key"] == "Validation", r.text
    assert r.json()["error"]["messages"][0]["location"] == location, r.text


@pytest.mark.parametrize("call", [
    ("GET", "/api/events", {"params": {"limit": 1001}}),
    ("GET", "/api/events", {"params": {"limit": 0}}),
    ("POST", "/api/devices/ftd-1/reimage", {"json": {"version": None}}),
    ("POST", "/api/devices/ftd-1/reimage", {"json": {"version": 7}}),
    ("POST", "/api/clock/run", {"json": {"device": None, "state": None}}),
    ("POST", "/api/clock/run", {"json": {"limit": None}}),
    ("POST", "/api/devices/ftd-1/reimage", {"content": b" "}),
], ids=["limit-over-1000", "limit-0", "reimage-null-version", "reimage-number-version", "run-null-device",
        "run-null-limit", "blank-body"])
def test_control_refuses_values_its_spec_forbids(lab, call):
    method, path, options = call
    r = httpx.request(method, lab.control + path, **options)
    assert r.status_code == 400 and r.json()["error"], r.text


def test_a_malformed_request_is_one_line_in_the_log(lab):
    for url in (lab.ftd, lab.control):
        answer = raw_exchange(url, "GET /api/lab HTTP/1.1\nHost: x\nno colon here\n")
        assert answer.split(b" ", 2)[1] == b"400", answer[:200]
    deadline = time.monotonic() + 5           # the log line follows the answer
    while (log := lab.log.read_text()).count("Error handling request") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [line for line in log.splitlines() if "Error handling request" in line]
    assert len(lines) == 2 and all("BadHttpMessage" in line for line in lines), log
    assert "Traceback" not in log
