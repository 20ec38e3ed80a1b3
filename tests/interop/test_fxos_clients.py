"""Real client libraries against the simulated FXOS chassis: the ntc-templates
`cisco_fxos` template for `show system firmware`, and unicon's `fxos/fp4k`
plugin (pyATS) connecting over OpenSSH, moving into the hosted FTD's CLI
through the module console and back, unmodified (the lab in a thread: the
plugin's `fxos_lab_sync`)."""

from __future__ import annotations

import shutil

import pytest

from simulator.kinds.fxos.bundles import make_fxos_bundle
from tests.conftest import connect
from tests.kinds.fxos.test_fxos import BUNDLE, TARGET, Rig, fxos_exec

pytestmark = pytest.mark.clients


@pytest.fixture
async def rig(tmp_path):
    running = await Rig(tmp_path).start()
    yield running
    await running.stop()


async def exec_command(port: int, command: str) -> str:
    async with await connect(port) as conn:
        return (await conn.run(command)).stdout.replace("\r\n", "\n")


async def test_ntc_templates_parse_show_system_firmware(rig, tmp_path):
    parse_output = pytest.importorskip("ntc_templates.parse").parse_output
    port = rig.ssh_port()
    for command in ("show system firmware", "sh sy fi", "show version"):
        out = await exec_command(port, command)
        assert parse_output(platform="cisco_fxos", command="show system firmware", data=out) == [
            {"version": "2.12(0.498)", "startup_version": "2.12(0.498)"}], (command, out)
    # during an install the startup version is the target until the chassis reboots into it
    make_fxos_bundle(BUNDLE, rig.fs(rig.chassis.name) / "local")      # a file of the chassis' own file system
    task = rig.chassis.start_download(f"/local/{BUNDLE}")
    await rig.downloader.settled()
    await rig.run_until(lambda: task.state == "Downloaded")
    rig.chassis.start_platform_install(TARGET)
    interactive = (await fxos_exec(port, "show system firmware"))[0]
    body = "\n".join(interactive.splitlines()[1:-1])
    assert parse_output(platform="cisco_fxos", command="show system firmware", data=body) == [
        {"version": "2.12(0.498)", "startup_version": TARGET}]


def test_unicon_fxos_fp4k_into_hosted_ftd_and_back(fxos_lab_sync, tmp_path):
    pytest.importorskip("unicon.plugins.fxos")
    if shutil.which("ssh") is None:
        pytest.skip("OpenSSH client not installed")
    from unicon import Connection

    port = fxos_lab_sync.endpoint("fpr4k-1")["ssh"]["port"]
    conn = Connection(
        hostname="FPR4K-1-A",
        start=[f"ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
               f"-p {port} admin@127.0.0.1"],
        os="fxos", platform="fp4k",
        credentials={"default": {"username": "admin", "password": "Admin123"},
                     "enable": {"password": ""}, "sudo": {"password": "Admin123"}},
        log_stdout=False, logfile=str(tmp_path / "unicon.log"), connection_timeout=30)
    conn.settings.GRACEFUL_DISCONNECT_WAIT_SEC = 0      # client-side waits, shortened for the test
    conn.settings.POST_DISCONNECT_WAIT_SEC = 0
    try:
        conn.connect()
        assert conn.state_machine.current_state == "fxos"
        out = conn.execute("show version")
        assert "Version: 2.12(0.498)" in out and "Startup-Vers: 2.12(0.498)" in out
        conn.execute("scope system", allow_state_change=True)
        assert conn.state_machine.current_state == "fxos_scope"
        assert "Upgrade-Status: Ready" in conn.execute("show firmware monitor")
        conn.execute("top", allow_state_change=True)
        conn.switchto("ftd")
        assert conn.state_machine.current_state == "ftd"
        out = conn.execute("show version")
        assert "Cisco Firepower 4145 Threat Defense (76) Version 7.2.5 (Build 208)" in out
        conn.switchto("fxos")
        assert conn.state_machine.current_state == "fxos"
        conn.execute("scope ssa", allow_state_change=True)
        assert " Online " in conn.execute("show app-instance")
    finally:
        conn.disconnect()


def test_unicon_fxos_fp4k_reload_reboots_the_chassis_and_reconnects(fxos_lab_sync, tmp_path):
    """unicon's fp4k reload(): `connect local-mgmt`, `reboot`, yes; the broadcast, the connection
    dropped; it reconnects to the chassis once it is back (issue 13, FXOS half)."""
    pytest.importorskip("unicon.plugins.fxos")
    if shutil.which("ssh") is None:
        pytest.skip("OpenSSH client not installed")
    from unicon import Connection

    lab = fxos_lab_sync
    port = lab.endpoint("fpr4k-1")["ssh"]["port"]
    conn = Connection(
        hostname="FPR4K-1-A",
        start=[f"ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "
               f"-p {port} admin@127.0.0.1"],
        os="fxos", platform="fp4k",
        credentials={"default": {"username": "admin", "password": "Admin123"},
                     "enable": {"password": ""}, "sudo": {"password": "Admin123"}},
        log_stdout=False, logfile=str(tmp_path / "unicon.log"), connection_timeout=30)
    for setting, seconds in (("GRACEFUL_DISCONNECT_WAIT_SEC", 0), ("POST_DISCONNECT_WAIT_SEC", 0),
                             ("RELOAD_WAIT", 3), ("POST_RELOAD_WAIT", 1)):    # client-side waits, shortened
        setattr(conn.settings, setting, seconds)
    booted = lab.run(lambda: lab.lab.device("fpr4k-1").booted_at)
    try:
        conn.connect()
        output = conn.reload(timeout=60)
        assert "All shells being terminated due to system /sbin/reboot" in output
        assert lab.run(lambda: lab.lab.device("fpr4k-1").booted_at) > booted      # the chassis did reboot
        assert conn.state_machine.current_state == "fxos"
        assert "Version: 2.12(0.498)" in conn.execute("show version")
    finally:
        conn.disconnect()
