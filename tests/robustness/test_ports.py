"""Item 9: a device keeps its ports for life. While it is down they refuse
connections and nobody else can take them; the endpoints file names them
(never port 0) from the start and follows every change."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import asyncssh
import httpx

from simulator import sockets
from simulator.lab import Lab
from simulator.sockets import HeldPort
from simulator.surfaces import following
from tests.conftest import ROOT

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


def blocker(port: int = 0) -> socket.socket:
    """Another program's listener (with SO_REUSEADDR, as most servers set)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen()
    return sock


def lab_ports(lab: Lab) -> list[int]:
    ports = [lab.control.port]
    for name in lab.devices:
        ports += ports_of(lab, name)
        line = lab.console.endpoints[name]                  # type: ignore[union-attr]
        ports += [line.port] + ([line.ssh_port] if line.ssh_port else [])
    return ports + [p.port for p in lab.probes.probes.values()]     # type: ignore[union-attr]


async def test_the_lab_hands_out_ports_from_its_range_skipping_taken_ones(tmp_path):
    taken = blocker()
    first = taken.getsockname()[1] - 1
    profile = {"lab": "ranged", "ports": f"{first}-{first + 40}",
               "devices": [{"name": "ftd-{n}", "model": "FTDv", "version": "7.4.1-172", "count": 3}]}
    try:
        async with Lab(profile, state_dir=tmp_path / "state", virtual_time=True, seed=7) as lab:
            ports = lab_ports(lab)
            assert len(ports) == len(set(ports)) == 1 + 3 * 5        # control, and 5 listeners per FTD
            assert all(first <= p <= first + 40 for p in ports) and taken.getsockname()[1] not in ports
    finally:
        taken.close()


def test_a_lab_too_big_for_its_port_range_is_refused_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "simulator", "up", "ftd-ha", "--ports", "30000-30007",
                             "--state-dir", str(tmp_path / "state")], capture_output=True, text=True, timeout=60,
                            cwd=ROOT)
    assert result.returncode == 2 and result.stderr.splitlines() == [
        "error: lab ftd-ha needs 10 ports for 2 devices but its port range 30000-30007 has 8; give a wider one "
        "(`ports:` in the profile, `simulator up --ports 20000-59999`) or fewer devices"]
    assert not (tmp_path / "state").exists()


async def api_entry(lab: Lab) -> dict:
    async with httpx.AsyncClient(base_url=lab.control.url) as client:
        return (await client.get("/api/devices/ftd-1")).json()


def port_events(lab: Lab) -> list[tuple[str, str, int]]:
    return [(e["kind"], e["surface"], e["port"]) for e in lab.journal.events if e["kind"].startswith("port.")]


async def test_a_fixed_port_another_program_holds_is_a_visible_fault_until_it_is_free(tmp_path, monkeypatch):
    monkeypatch.setattr(following, "RETRY", 0.05)
    taken = blocker()
    port = taken.getsockname()[1]
    profile = {"lab": "fixed", "devices": [{"name": "ftd-1", "model": "FTDv", "version": "7.4.1-172",
                                            "ssh_port": port}]}
    async with Lab(profile, state_dir=tmp_path / "state", virtual_time=True, seed=7) as lab:
        await boot(lab)
        shown = await api_entry(lab)
        assert lab.device("ftd-1").state == "online" and shown["state"] == "unreachable"
        assert shown["ssh"]["port"] == port and shown["port_faults"] == [
            {"surface": "ssh", "port": port, "error": f"cannot listen on {HOST} port {port}: Address already in use"}]
        assert port_events(lab) == [("port.lost", "ssh", port)]
        status = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "simulator", "status", "--lab",
                                                          str(tmp_path / "state")], capture_output=True, text=True,
                                         timeout=60, cwd=ROOT)
        assert "unreachable" in status.stdout and "online" not in status.stdout
        assert f"ftd-1: ssh: cannot listen on {HOST} port {port}: Address already in use" in status.stdout
        taken.close()
        for _ in range(100):
            if lab.ssh.endpoints["ftd-1"].listening:        # type: ignore[union-attr]
                break
            await asyncio.sleep(0.05)
        assert await ssh_works(lab, port)
        shown = await api_entry(lab)
        assert shown["state"] == "online" and "port_faults" not in shown
        assert port_events(lab) == [("port.lost", "ssh", port), ("port.regained", "ssh", port)]


async def test_a_port_taken_while_the_device_reboots_shows_until_the_device_is_back_on_it(tmp_path, monkeypatch):
    """Where a listener cannot stop without closing (not Linux), a reboot gives the port up for a
    moment: if another program takes it then, the device says so, and comes back once it is free."""
    monkeypatch.setattr(following, "RETRY", 0.05)
    monkeypatch.setattr(sockets._Held, "stop", sockets._Held.release)
    async with Lab("ftd-standalone", state_dir=tmp_path / "state", virtual_time=True, seed=7) as lab:
        await boot(lab)
        ssh_port, _ = ports_of(lab, "ftd-1")
        lab.power("ftd-1", "off")
        await lab.settle()
        assert not can_bind(ssh_port)             # bound again at once, as the lab stopped listening
        lab.ssh.endpoints["ftd-1"].held.close()   # type: ignore[union-attr]  # the moment another program wins
        taken = blocker(ssh_port)
        lab.power("ftd-1", "on")
        await boot(lab)
        shown = await api_entry(lab)
        assert shown["state"] == "unreachable" and shown["port_faults"][0]["port"] == ssh_port
        taken.close()
        for _ in range(100):
            if (await api_entry(lab))["state"] == "online":
                break
            await asyncio.sleep(0.05)
        assert await ssh_works(lab, ssh_port)
        assert port_events(lab) == [("port.lost", "ssh", ssh_port), ("port.regained", "ssh", ssh_port)]


async def test_another_program_cannot_take_a_port_while_its_device_reboots(tmp_path):
    """On Linux the port is never unbound: the listener shuts down and listens again on the same socket."""
    async with Lab("ftd-standalone", state_dir=tmp_path / "state", virtual_time=True, seed=7) as lab:
        await boot(lab)
        ssh_port, https_port = ports_of(lab, "ftd-1")
        held = lab.ssh.endpoints["ftd-1"].held._sock       # type: ignore[union-attr]
        lab.power("ftd-1", "cycle")
        await lab.settle()
        for port in (ssh_port, https_port):
            other = subprocess.run([sys.executable, "-c", f"import socket; s = socket.socket(); "
                                    f"s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                                    f"s.bind(('{HOST}', {port})); s.listen()"], capture_output=True, text=True)
            assert "Address already in use" in other.stderr
        await boot(lab)
        assert lab.ssh.endpoints["ftd-1"].held._sock is held    # type: ignore[union-attr]  # one socket all along
        assert await ssh_works(lab, ssh_port) and port_events(lab) == []


async def test_a_console_or_probe_port_another_program_holds_is_shown_and_taken_once_free(tmp_path, monkeypatch):
    monkeypatch.setattr(following, "RETRY", 0.05)
    console, probe = blocker(), blocker()
    console_port, probe_port = console.getsockname()[1], probe.getsockname()[1]
    profile = {"lab": "fixed", "devices": [
        {"name": "ftd-{n}", "model": "FTDv", "version": "7.4.1-172", "count": 2, "console_ssh_port": None},
        {"name": "ftd-3", "model": "FTDv", "version": "7.4.1-172", "console_port": console_port}],
        "ha_pairs": [{"name": "ha", "primary": "ftd-1", "secondary": "ftd-2", "probe_port": probe_port}]}
    async with Lab(profile, state_dir=tmp_path / "state", virtual_time=True, seed=7) as lab:
        await lab.clock.run_until(lambda: lab.pairs["ha"].state == "healthy", limit=3600)
        await lab.settle()
        shown = lab.endpoints()
        assert shown["devices"][2]["port_faults"][0]["port"] == console_port
        assert shown["pairs"][0]["port_faults"][0] == {
            "surface": "probe", "port": probe_port,
            "error": f"cannot listen on {HOST} port {probe_port}: Address already in use"}
        console.close()
        probe.close()
        for _ in range(100):
            if [k for k, _, _ in port_events(lab)].count("port.regained") == 2:
                break
            await asyncio.sleep(0.05)
        assert sorted(port_events(lab)) == [("port.lost", "console", console_port), ("port.lost", "probe", probe_port),
                                            ("port.regained", "console", console_port),
                                            ("port.regained", "probe", probe_port)]
        shown = lab.endpoints()
        assert "port_faults" not in shown["devices"][2] and "port_faults" not in shown["pairs"][0]
        _, writer = await asyncio.open_connection(HOST, console_port)     # the console answers
        writer.close()
        assert not await refused(probe_port)
