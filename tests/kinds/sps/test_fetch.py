"""`/api/firmware/fetch` (202, asynchronous, cancellable, checksum) against a
real HTTP server, and `/api/transaction` (open, commit, discard, changes)
over real HTTPS (sps.md 4.4-4.6)."""

from __future__ import annotations

import hashlib
import http.client
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from simulator.kinds.sps.packages import make_iso
from tests.kinds.sps.conftest import logged_in


@contextmanager
def _server(data: bytes, stall: threading.Event | None = None) -> Iterator[str]:
    """Serves `data` at /sps.iso; with `stall`, sends half of it and waits for the event."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2] if stall else data)
            if stall:
                self.wfile.flush()
                stall.wait(10)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sps.iso"
    finally:
        if stall:
            stall.set()
        server.shutdown()
        server.server_close()


def _wait(api: httpx.Client, key: str, *statuses: str) -> dict:
    deadline = time.monotonic() + 20
    while (body := api.get(f"/api/firmware/fetch/{key}").json()["body"])["status"] not in statuses:
        assert time.monotonic() < deadline, body
        time.sleep(0.05)
    return body


def test_fetch_downloads_verifies_and_fills_a_slot(sps_lab, tmp_path):
    data = make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path).read_bytes()
    with _server(data) as url, logged_in(sps_lab) as api:
        started = api.post("/api/firmware/fetch", json={"url": url,
                                                         "checksum": {"sha256": hashlib.sha256(data).hexdigest()}})
        assert started.status_code == 202 and started.json()["body"]["status"] in ("queued", "in-progress")
        key = started.json()["key"]
        body = _wait(api, key, "finished", "failed")
        assert body["status"] == "finished" and body["slot"] == "/api/firmware/slots/2"
        assert api.get("/api/firmware/slots/2").json()["body"]["version"] == "7.0.2.1"
        refused = api.delete(f"/api/firmware/fetch/{key}")
        assert refused.status_code == 400 and "cannot be cancelled" in refused.text
        wrong = api.post("/api/firmware/fetch", json={"url": url, "checksum": {"sha256": "0" * 64}}).json()["key"]
        assert "SHA-256" in _wait(api, wrong, "finished", "failed")["message"]
        assert api.post("/api/firmware/fetch", json={}).json()["error"]["type"] == "IncompleteRequestBodyError"


def test_a_fetch_in_progress_is_cancelled_and_forgotten_on_a_second_delete(sps_lab, tmp_path):
    data = make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path).read_bytes() * 64
    stall = threading.Event()
    with _server(data, stall) as url, logged_in(sps_lab) as api:
        key = api.post("/api/firmware/fetch", json={"url": url}).json()["key"]
        _wait(api, key, "in-progress")
        cancelled = api.delete(f"/api/firmware/fetch/{key}")
        assert cancelled.status_code == 200 and cancelled.json()["body"]["status"] == "cancelled"
        assert api.get(f"/api/firmware/fetch/{key}").json()["body"]["status"] == "cancelled"
        assert api.delete(f"/api/firmware/fetch/{key}").status_code == 200
        assert api.get(f"/api/firmware/fetch/{key}").json()["error"]["type"] == "ResourceNotFound"
        sps_lab.wait_until(lambda lab: bool(lab.journal.select("sps-1", "firmware.fetch")))
        folder = sps_lab.lab.store.device_fs("sps-1") / "opt/firmware"
        assert not list(folder.glob(".fetch-*")) and api.get("/api/firmware/slots/2").json()["body"] == {}


def test_transactions_open_commit_and_discard(sps_lab):
    with logged_in(sps_lab) as api:
        closed = api.get("/api/transaction").json()
        assert closed["transaction"] == {"status": "closed"} == closed["body"] and closed["key"] == "transaction"
        assert api.post("/api/transaction", json={}).json()["transaction"]["status"] == "open"
        assert api.get("/api/transaction").json()["body"]["status"] == "open"
        assert api.get("/api/transaction/changes").json()["changes"] == []
        bad = api.put("/api/transaction", json={"status": "maybe"})
        assert bad.json()["error"]["type"] == "IncompleteRequestBodyError"
        assert api.put("/api/transaction", json={"status": "commit"}).json()["body"]["status"] == "closed"
        api.post("/api/transaction", json={})
        assert api.delete("/api/transaction").json()["body"]["status"] == "closed"
        cookie = api.cookies["session_id"]
    url = httpx.URL(sps_lab.endpoint("sps-1")["https"]["url"])
    conn = http.client.HTTPSConnection(url.host, url.port, context=ssl._create_unverified_context())
    conn.putrequest("POST", "/api/transaction")          # no body, no Content-Length: 411 (sps.md 4.1)
    conn.putheader("Cookie", f"session_id={cookie}")
    conn.endheaders()
    assert conn.getresponse().status == 411
    conn.close()
