"""Idle and slow clients are closed (issue 12 item 12): with a budget of file
descriptors shared by every device, a connection that never finishes a
request must not stay open forever. Every listener has a wall-clock limit:

- HTTPS (every device's web server): the TLS handshake, a request head
  after connecting or after the last answer (idle keep-alive and header
  trickle alike), and a JSON body (408), as nginx's defaults (60 s, 75 s,
  60 s);
- the control API: the same request-head and body limits;
- the serial console (telnet and SSH): nothing moving either way for a
  terminal server line's exec-timeout (10 min), and an SSH console
  connection that opens no session.

The limits count in wall time (they protect the host, whatever the lab's
clock); these tests make them half a second."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator

import asyncssh
import pytest

from simulator import webserver
from simulator.lab import Lab
from simulator.surfaces.console import server as console_server

LIMIT = 0.5
CLOSED_WITHIN = 5.0       # generous: a closed connection shows long before; an open one never does


@pytest.fixture
async def lab(tmp_path, monkeypatch) -> AsyncIterator[Lab]:
    monkeypatch.setattr(webserver, "TIMEOUTS", webserver.Timeouts(handshake=LIMIT, idle=LIMIT, body=LIMIT))
    monkeypatch.setattr(console_server, "IDLE", LIMIT)
    async with Lab("ftd-standalone", state_dir=tmp_path / "state", virtual_time=True, seed=7) as running:
        yield running


def endpoint(lab: Lab) -> dict:
    return lab.endpoints()["devices"][0]


def tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


async def closed_after(reader: asyncio.StreamReader) -> float:
    """Seconds until the server closes the connection (reading and dropping what it sends)."""
    started = time.monotonic()
    try:
        while await asyncio.wait_for(reader.read(65536), CLOSED_WITHIN):
            pass
    except (ConnectionResetError, ssl.SSLError):
        pass
    return time.monotonic() - started


async def test_https_closes_a_client_that_sends_nothing_after_tls(lab):
    reader, writer = await asyncio.open_connection("127.0.0.1", lab.https.sites["ftd-1"].port, ssl=tls())
    assert await closed_after(reader) < CLOSED_WITHIN
    writer.close()


async def test_https_closes_a_client_that_trickles_its_request_head(lab):
    reader, writer = await asyncio.open_connection("127.0.0.1", lab.https.sites["ftd-1"].port, ssl=tls())
    writer.write(b"GET /api/versions HTTP/1.1\r\nHost: x\r\n")

    async def trickle() -> None:
        for n in range(100):
            writer.write(b"X-%d: 1\r\n" % n)
            await asyncio.sleep(0.05)

    task = asyncio.create_task(trickle())
    try:
        assert await closed_after(reader) < CLOSED_WITHIN
    finally:
        task.cancel()
        writer.close()


async def test_https_closes_a_client_that_never_starts_tls(lab):
    reader, writer = await asyncio.open_connection("127.0.0.1", lab.https.sites["ftd-1"].port)
    assert await closed_after(reader) < CLOSED_WITHIN
    writer.close()


async def test_https_closes_an_idle_keep_alive_connection_and_serves_a_prompt_one(lab):
    reader, writer = await asyncio.open_connection("127.0.0.1", lab.https.sites["ftd-1"].port, ssl=tls())
    writer.write(b"GET /api/versions HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 200")
    assert await closed_after(reader) < CLOSED_WITHIN
    writer.close()


async def trickled_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> bytes:
    """What the server answers a request whose body comes a byte at a time."""
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: 100\r\n\r\n".encode())

    async def trickle() -> None:
        for _ in range(100):
            writer.write(b" ")
            await asyncio.sleep(0.05)

    task = asyncio.create_task(trickle())
    try:
        return await asyncio.wait_for(reader.read(65536), CLOSED_WITHIN)
    finally:
        task.cancel()


async def test_a_body_that_trickles_is_408_in_each_apis_envelope(lab):
    reader, writer = await asyncio.open_connection("127.0.0.1", lab.https.sites["ftd-1"].port, ssl=tls())
    answer = await trickled_body(reader, writer, "/api/fdm/latest/fdm/token")
    assert answer.startswith(b"HTTP/1.1 408") and b'"severity": "ERROR"' in answer, answer
    assert b"Connection: close" in answer      # after aiohttp's lingering (10 s at most) for the body
    writer.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", lab.control.port)
    answer = await trickled_body(reader, writer, "/api/clock/advance")
    assert answer.startswith(b"HTTP/1.1 408") and b'"error"' in answer and b"Connection: close" in answer, answer
    writer.close()


async def test_control_api_closes_a_client_that_sends_nothing(lab):
    reader, writer = await asyncio.open_connection("127.0.0.1", lab.control.port)
    assert await closed_after(reader) < CLOSED_WITHIN
    writer.close()


async def test_telnet_console_closes_a_silent_client(lab):
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint(lab)["console"]["telnet"]["port"])
    assert await closed_after(reader) < CLOSED_WITHIN
    writer.close()


async def test_telnet_console_keeps_a_client_that_types(lab):
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint(lab)["console"]["telnet"]["port"])
    for _ in range(4 * int(1 / LIMIT)):        # 2 s of a key every quarter limit
        writer.write(b" ")
        await asyncio.sleep(LIMIT / 4)
        assert not reader.at_eof()
    writer.close()


async def test_ssh_console_closes_a_silent_session_and_a_connection_without_one(lab):
    ssh = endpoint(lab)["console"]["ssh"]
    options = {"username": ssh["username"], "password": ssh["password"], "known_hosts": None}
    async with asyncssh.connect("127.0.0.1", ssh["port"], **options) as conn:
        process = await conn.create_process(term_type="vt100")
        started = time.monotonic()
        await asyncio.wait_for(process.wait_closed(), CLOSED_WITHIN)
        assert time.monotonic() - started < CLOSED_WITHIN
    async with asyncssh.connect("127.0.0.1", ssh["port"], **options) as conn:
        await asyncio.wait_for(conn.wait_closed(), CLOSED_WITHIN)
