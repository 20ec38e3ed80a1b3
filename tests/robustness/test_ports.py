"""Item 9: a device keeps its ports for life. While it is down they refuse
connections and nobody else can take them; the endpoints file names them
(never port 0) from the start and follows every change."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from pathlib import Path

import asyncssh
import httpx
import pytest

from simulator.lab import Lab
from simulator.sockets import HeldPort

HOST = "127.0.0.1"


def ports_of(lab: Lab, name: str) -> tuple[int, int]:
    return lab.ssh.endpoints[name].port, lab.https.sites[name].port       # type: ignore[union-attr]


async def refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(HOST, port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


def can_bind(port: int) -> bool:
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as asyncio's servers do
    try:
        other.bind((HOST, port))
    except OSError:
        return False
    finally:
        other.close()
    return True


async def ssh_works(lab: Lab, port: int) -> bool:
    async with asyncssh.connect(HOST, port, username="admin", password=lab.device("ftd-1").password,
                                known_hosts=None) as conn:
        return (await conn.run("show version", check=False)).exit_status == 0


async def boot(lab: Lab) -> None:
    for _ in range(60):
        if lab.device("ftd-1").services_up:
            break
        await lab.clock.advance(30)
    await lab.settle()


def entry(path: Path) -> dict:
    """ftd-1's entry in the endpoints file."""
    return next(d for d in json.loads(path.read_text())["devices"] if d["name"] == "ftd-1")


async def written(path: Path, check, seconds: float = 5.0) -> dict:
    """ftd-1's entry once `check` holds (the file is rewritten a moment after a change)."""
    for _ in range(int(seconds / 0.05)):
        data = entry(path)
        if check(data):
            return data
        await asyncio.sleep(0.05)
    raise AssertionError(f"endpoints file never matched: {path.read_text()[:500]}")


def test_a_held_port_refuses_until_it_listens_and_stays_taken():
    held = HeldPort(HOST)
    try:
        assert held.number > 0 and not can_bind(held.number)
        probe = socket.socket()
        assert probe.connect_ex((HOST, held.number)) != 0
        probe.close()
        for _ in range(3):                      # reboots, with a connection left open across them
            server = held.listen()
            client = socket.create_connection((HOST, held.number))
            accepted, _ = server.accept()
            server.close()
            held.refuse()
            assert not can_bind(held.number)
        accepted.close()
        client.close()
    finally:
        held.close()
    assert can_bind(held.number)


async def test_a_rebooting_device_refuses_on_its_ports_nobody_takes_them_and_it_comes_back_on_them(tmp_path):
    endpoints = tmp_path / "endpoints.json"
    async with Lab("ftd-standalone", state_dir=tmp_path / "state", virtual_time=True, seed=7,
                   endpoints_file=endpoints) as lab:
        ssh_port, https_port = ports_of(lab, "ftd-1")
        lab.power("ftd-1", "off")
        await lab.settle()
        assert await refused(ssh_port) and await refused(https_port)
        assert not can_bind(ssh_port) and not can_bind(https_port)
        data = await written(endpoints, lambda d: d["state"] == "off")
        assert data["ssh"]["port"] == ssh_port

        lab.power("ftd-1", "on")
        await boot(lab)
        assert ports_of(lab, "ftd-1") == (ssh_port, https_port)
        assert await ssh_works(lab, ssh_port)
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(lab.ca_path))) as client:
            answer = await client.get(f"https://{HOST}:{https_port}/api/fdm/latest/operational/systeminfo/default")
        assert answer.status_code == 401            # served again (no token given)
        await written(endpoints, lambda d: d["state"] == lab.device("ftd-1").state)


async def test_a_device_down_when_the_lab_starts_is_written_with_the_ports_it_will_serve_on(tmp_path):
    state = tmp_path / "state"
    async with Lab("ftd-standalone", state_dir=state, virtual_time=True, seed=7) as lab:
        lab.power("ftd-1", "off")
        await lab.settle()
    endpoints = tmp_path / "endpoints.json"
    async with Lab("ftd-standalone", state_dir=state, virtual_time=True, seed=7, endpoints_file=endpoints) as lab:
        assert not lab.device("ftd-1").services_up
        written_now = entry(endpoints)
        ports = [written_now["ssh"]["port"], int(written_now["https"]["url"].rsplit(":", 1)[1])]
        assert 0 not in ports and tuple(ports) == ports_of(lab, "ftd-1")
        assert await refused(ports[0])
        lab.power("ftd-1", "on")
        await boot(lab)
        assert await ssh_works(lab, ports[0])


def test_a_taken_port_in_the_profile_is_named_in_the_error(tmp_path):
    blocker = socket.socket()
    blocker.bind((HOST, 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        with pytest.raises(OSError, match=f"port {port}"):
            HeldPort(HOST, port)
    finally:
        blocker.close()
