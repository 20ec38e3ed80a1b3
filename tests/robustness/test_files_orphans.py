"""Items 3 and 13 of issue 12 (orphans): a file on its way is written under its
partial name (`simulator.transfer.partial_path`) and a lab start removes the
partial files a stop or kill -9 left — FTD uploads in /var/sf/updates, ASA
copies and uploads in disk0:, FXOS downloads — and nothing else of what the
devices keep."""

from __future__ import annotations

import asyncio
import http.client
import os
import signal
import ssl
import time
from pathlib import Path

from aiohttp import web

from simulator.kinds.ftd.packages import make_package
from simulator.kinds.fxos.bundles import make_fxos_bundle
from simulator.lab import Lab
from simulator.transfer import is_partial, partial_path
from tests.conftest import connect, end_lab, fdm_client, start_lab, upload
from tests.conftest import ssh_port as port_of

PACKAGE = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
BUNDLE = "fxos-k9.2.14.1.131.SPA"


def partials(state: Path) -> list[str]:
    return sorted(str(p.relative_to(state)) for p in state.rglob("*") if is_partial(p))


def test_a_partial_name_is_hidden_beside_the_file():
    path = Path("/var/sf/updates") / PACKAGE
    assert partial_path(path) == Path(f"/var/sf/updates/.{PACKAGE}.part") and is_partial(partial_path(path))
    assert is_partial(path.with_name(f".{PACKAGE}.k3j9x2.part"))           # SFTP/SCP's names (a random part)
    assert not is_partial(path)


async def test_a_start_removes_what_a_killed_lab_left_half_written(tmp_path):
    state = tmp_path / "state"
    async with Lab("ftd-standalone", state_dir=state, virtual_time=True, seed=7) as lab:
        await upload(port_of(lab), make_package(PACKAGE, tmp_path / "pkgs"))
        updates = lab.store.device_fs("ftd-1") / "var/sf/updates"
    (updates / ".Cisco_FTD_Upgrade-7.6.1-1.sh.REL.tar.part").write_bytes(b"half")
    async with Lab("ftd-standalone", state_dir=state, virtual_time=True) as lab:
        assert lab.devices["ftd-1"].package is not None
        assert [p.name for p in updates.iterdir()] == [PACKAGE]
    async with Lab("asa-ha", state_dir=state / "asa", virtual_time=True, seed=7) as lab:
        disk0 = lab.store.device_fs("asa-a")
    (disk0 / ".asa9-20-2-smp-k8.bin.part").write_bytes(b"half")
    async with Lab("asa-ha", state_dir=state / "asa", virtual_time=True) as lab:
        assert not partials(disk0) and lab.devices["asa-a"].disk.file(".asa9-20-2-smp-k8.bin.part") is None
    async with Lab("fxos-4100-standalone", state_dir=state / "fxos", virtual_time=True, seed=5) as lab:
        chassis = lab.devices["fpr4k-1"]
        make_fxos_bundle(BUNDLE, lab.store.device_fs(chassis.name) / "usb")
        task = chassis.start_download(f"/usb/{BUNDLE}")
        await lab.settle()
        assert await lab.clock.run_until(lambda: task.state == "Downloaded", limit=4 * 3600)
        images = lab.store.device_fs(chassis.name) / "workspace/fxos/images"
    (images / ".fxos-k9.2.16.1.147.SPA.part").write_bytes(b"half")
    make_fxos_bundle("fxos-k9.2.13.0.212.SPA", images)        # whole, but the chassis never counted it in
    async with Lab("fxos-4100-standalone", state_dir=state / "fxos", virtual_time=True) as lab:
        assert list(lab.devices["fpr4k-1"].packages) == [BUNDLE]
        assert [p.name for p in images.iterdir()] == [BUNDLE]


def _upload_forever(https: dict, filename: str, updates: Path) -> http.client.HTTPSConnection:
    """Start an FDM upload that never ends; return once its partial file is on disk."""
    with fdm_client(https) as api:
        token = api.headers["Authorization"]
    url = https["url"].removeprefix("https://")
    conn = http.client.HTTPSConnection(url, context=ssl._create_unverified_context(), timeout=10)
    boundary = "sim-boundary"
    conn.putrequest("POST", "/api/fdm/latest/action/uploadupgrade")
    conn.putheader("Authorization", token)
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(200 * 1024 * 1024))
    conn.endheaders()
    conn.send(f'--{boundary}\r\nContent-Disposition: form-data; name="fileToUpload"; filename="{filename}"\r\n'
              "Content-Type: application/octet-stream\r\n\r\n".encode())
    deadline = time.monotonic() + 20
    while not partials(updates):
        conn.send(bytes(64 * 1024))
        assert time.monotonic() < deadline, "the upload never reached the device's disk"
    return conn


def test_kill_9_in_the_middle_of_an_upload_leaves_no_orphan(tmp_path):
    state = tmp_path / "state"
    endpoints, proc = start_lab("ftd-standalone", tmp_path, state_dir=state, log=tmp_path / "lab.log")
    updates = state / "devices/ftd-1/fs/var/sf/updates"
    try:
        conn = _upload_forever(endpoints["devices"][0]["https"], PACKAGE, updates)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        conn.close()
        assert partials(state), "the kill left a partial upload"
        endpoints, proc = start_lab("ftd-standalone", tmp_path, state_dir=state, log=tmp_path / "lab2.log")
        assert partials(state) == [] and list(updates.iterdir()) == []
    finally:
        end_lab(proc)


async def test_kill_9_in_the_middle_of_an_sftp_upload_keeps_the_package_and_leaves_no_orphan(tmp_path):
    """A whole package, then the same name again over SFTP, killed a third of the way."""
    state = tmp_path / "state"
    good = make_package(PACKAGE, tmp_path / "pkgs")
    endpoints, proc = start_lab("ftd-standalone", tmp_path, state_dir=state, log=tmp_path / "lab.log")
    updates = state / "devices/ftd-1/fs/var/sf/updates"
    try:
        port = endpoints["devices"][0]["ssh"]["port"]
        await upload(port, good)
        conn = await connect(port)
        sftp = await conn.start_sftp_client()
        fh = await sftp.open(f"/var/sf/updates/{PACKAGE}", "wb")
        await fh.write(good.read_bytes()[:good.stat().st_size // 3])
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        conn.abort()
        assert partials(state), "the kill left a partial upload"
        endpoints, proc = start_lab("ftd-standalone", tmp_path, state_dir=state, log=tmp_path / "lab2.log")
        assert partials(state) == [] and [p.name for p in updates.iterdir()] == [PACKAGE]
        assert (updates / PACKAGE).read_bytes() == good.read_bytes()
    finally:
        end_lab(proc)


async def test_kill_9_in_the_middle_of_an_asa_copy_leaves_no_orphan(tmp_path):
    """`copy http://.../endless disk0:/copy.bin` is writing its partial file when the lab is killed."""
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            while True:
                await response.write(bytes(64 * 1024))
                await asyncio.sleep(0.01)
        except ConnectionError:
            return response

    app = web.Application()
    app.router.add_get("/endless", endless)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state = tmp_path / "state"
    endpoints, proc = start_lab("asa-ha", tmp_path, state_dir=state, log=tmp_path / "lab.log")
    disk0 = state / "devices/asa-a/fs"
    try:
        asa = next(d for d in endpoints["devices"] if d["name"] == "asa-a")["ssh"]
        async with await connect(asa["port"]) as conn:
            copying = await conn.create_process(
                f"copy /noconfirm http://127.0.0.1:{runner.addresses[0][1]}/endless disk0:/copy.bin")
            while not partials(disk0):
                await asyncio.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            copying.close()
        endpoints, proc = start_lab("asa-ha", tmp_path, state_dir=state, log=tmp_path / "lab2.log")
        assert partials(state) == [] and not (disk0 / "copy.bin").exists()
    finally:
        end_lab(proc)
        await runner.cleanup()
