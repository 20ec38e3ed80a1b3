"""Real clients against the simulated ASA pair: netmiko `cisco_asa` (with an
enable secret, and with `login`), scrapli `cisco_asa`, unicon's `asa` plugin,
and the parsers that judge the output: ntc-templates `cisco_asa` (show
failover, show version, dir) and genie `asa` (ShowFailover, ShowVersion).

The rig of test_asa.py runs in a background thread on virtual time that jumps
whenever it is idle, so blocking clients drive it like a real device."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from netmiko import ConnectHandler
from ntc_templates.parse import parse_output

from simulator.kinds.asa.views import show_failover, show_version
from tests.kinds.asa.test_asa import PASSWORD, Rig

pytestmark = pytest.mark.clients


class Background:
    """A Rig in its own event loop thread, time jumping whenever the rig is idle."""

    def __init__(self, tmp: Path, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.rig: Rig = self.call(Rig(tmp, **options).start())
        self.jumper = asyncio.run_coroutine_threadsafe(self.rig.clock.autojump(0.02), self.loop)

    def call(self, coro, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def do(self, fn: Callable[[], Any]) -> Any:
        """Run a model call in the rig's thread."""
        async def call() -> Any:
            return fn()
        return self.call(call())

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.do(predicate):
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached")
            time.sleep(0.05)
        self.call(self.rig.settle())

    def port(self, name: str) -> int:
        return self.rig.ssh.endpoints[name].port

    def close(self) -> None:
        self.jumper.cancel()
        try:
            self.call(self.rig.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop.close()


@pytest.fixture
def background(tmp_path):
    made: list[Background] = []

    def make(**options: Any) -> Background:
        bg = Background(tmp_path / f"bg{len(made)}", **options)
        made.append(bg)
        return bg

    yield make
    for bg in made:
        bg.close()


def _netmiko(port: int, **extra: Any):
    return ConnectHandler(device_type="cisco_asa", host="127.0.0.1", port=port, username="admin",
                          password=PASSWORD, **extra)


# -- netmiko ------------------------------------------------------------------------------------------
def test_netmiko_cisco_asa_with_secret(background):
    bg = background()
    bg.do(lambda: bg.rig.a.set_prompt(["hostname", "priority", "state"]))
    conn = _netmiko(bg.port("asa-a"), secret=PASSWORD)
    try:
        assert conn.find_prompt() == "fw/pri/act#"
        out = conn.send_command("show version")
        assert "Cisco Adaptive Security Appliance Software Version 9.19(1)" in out
        assert "ERROR: % Invalid input detected at '^' marker." in conn.send_command("show bogus")
        parsed = conn.send_command("show failover", use_textfsm=True)
        assert parsed[0]["role"] == "Primary" and parsed[0]["service_state"] == ["Active"]
        assert parsed[0]["service_state_mate"] == ["Standby Ready"]
        assert parsed[0]["sw_version"] == parsed[0]["sw_version_mate"] == "9.19(1)"
        version = conn.send_command("show version", use_textfsm=True)
        assert version[0]["version"] == "9.19(1)" and version[0]["hostname"] == "fw"
        out = conn.send_config_set(["boot system disk0:/asa9-19-1-smp-k8.bin", "domain-name example.net"])
        assert "ERROR" not in out
        assert "[OK]" in conn.save_config()
        assert bg.rig.b.startup["domain"] == "example.net"          # replicated and saved on the mate
        files = conn.send_command("dir disk0:", use_textfsm=True)
        assert any(f["name"] == "asa9-19-1-smp-k8.bin" for f in files)
    finally:
        conn.disconnect()


def test_netmiko_cisco_asa_login_without_secret_on_the_standby(background):
    bg = background()
    conn = _netmiko(bg.port("asa-b"))            # no secret: netmiko uses `login`
    try:
        assert conn.find_prompt() == "fw#"
        assert "Username : admin" in conn.send_command("show curpriv")
        parsed = conn.send_command("show failover", use_textfsm=True)
        assert parsed[0]["role"] == "Secondary" and parsed[0]["service_state"] == ["Standby Ready"]
        assert parsed[0]["service_state_mate"] == ["Active"]
    finally:
        conn.disconnect()


def test_netmiko_drives_the_seed_003_upgrade(background, tmp_path):
    """The Active/Standby procedure as an automation script would run it with netmiko."""
    bg = background()
    new = "asa9-20-2-smp-k8.bin"
    from simulator.kinds.asa.images import write_image
    folder = bg.rig.a.import_dir                 # the lab's import directory: `copy` reads the host there only
    folder.mkdir(parents=True, exist_ok=True)
    image = write_image(folder / new, "9.20(2)", size=32 * 1024)
    active = _netmiko(bg.port("asa-a"), secret=PASSWORD)
    try:
        for command in (f"copy /noconfirm {image} disk0:/{new}",
                        f"failover exec mate copy /noconfirm {image} disk0:/{new}"):
            assert "bytes copied" in active.send_command(command, read_timeout=30)
        active.send_config_set(["no boot system disk0:/asa9-19-1-smp-k8.bin", f"boot system disk0:/{new}"])
        active.save_config()
        active.send_command("failover reload-standby", expect_string=r"fw#")
        bg.wait_for(lambda: bg.rig.state(bg.rig.b) == "Standby Ready" and bg.rig.b.version == "9.20(2)")
        parsed = active.send_command("show failover", use_textfsm=True)
        assert (parsed[0]["sw_version"], parsed[0]["sw_version_mate"]) == ("9.19(1)", "9.20(2)")
        assert parsed[0]["service_state_mate"] == ["Standby Ready"]
        active.send_command("no failover active", expect_string=r"fw#")
    finally:
        active.disconnect()
    bg.wait_for(lambda: bg.rig.pair.active == "asa-b")
    newstandby = _netmiko(bg.port("asa-a"), secret=PASSWORD)
    try:
        out = newstandby.send_command_timing("reload", read_timeout=10)
        assert "Proceed with reload? [confirm]" in out
        newstandby.write_channel("\n")
        time.sleep(0.2)
    finally:
        newstandby.disconnect()
    bg.wait_for(lambda: bg.rig.state(bg.rig.a) == "Standby Ready" and bg.rig.a.version == "9.20(2)")
    conn = _netmiko(bg.port("asa-a"), secret=PASSWORD)
    try:
        conn.send_command("failover active", expect_string=r"fw#")
        parsed = conn.send_command("show failover", use_textfsm=True)
        assert parsed[0]["service_state"] == ["Active"] and parsed[0]["sw_version_mate"] == "9.20(2)"
    finally:
        conn.disconnect()
    assert bg.rig.traffic.outages == []


def test_netmiko_autodetect_says_cisco_asa(background):
    from netmiko import SSHDetect

    bg = background()
    guesser = SSHDetect(device_type="autodetect", host="127.0.0.1", port=bg.port("asa-a"), username="admin",
                        password=PASSWORD)
    try:
        assert guesser.autodetect() == "cisco_asa"
    finally:
        guesser.connection.disconnect()


# -- scrapli -----------------------------------------------------------------------------------------
def test_scrapli_cisco_asa(background):
    scrapli = pytest.importorskip("scrapli")
    bg = background()
    try:
        cli = scrapli.Cli(definition_file_or_name="cisco_asa", host="127.0.0.1", port=bg.port("asa-a"),
                          auth_options=scrapli.AuthOptions(
                              username="admin", password=PASSWORD,
                              lookups=[scrapli.auth.LookupKeyValue(key="enable", value=PASSWORD)]))
    except Exception as exc:  # the FFI build of scrapli may not load on every machine
        pytest.skip(f"scrapli cannot load here: {exc}")
    with cli as conn:
        result = conn.send_input(input_="show version")
        assert "Software Version 9.19(1)" in result.result
        assert conn.get_prompt().result.strip() == "fw#"
        failover = conn.send_input(input_="show failover")
        parsed = parse_output(platform="cisco_asa", command="show failover", data=failover.result)
        assert parsed[0]["service_state"] == ["Active"]
        bad = conn.send_input(input_="show bogus")
        assert "% Invalid input detected" in bad.result
        conn.send_input(input_="hostname fw2", requested_mode="configuration")
    assert bg.rig.a.hostname == "fw2" and bg.rig.b.hostname == "fw2"


# -- unicon ------------------------------------------------------------------------------------------
def test_unicon_asa_plugin(background, tmp_path):
    unicon = pytest.importorskip("unicon")
    if not shutil.which("ssh") or not shutil.which("sshpass"):
        pytest.skip("OpenSSH client not installed")
    bg = background()
    bg.do(lambda: bg.rig.a.set_prompt(["hostname", "priority", "state"]))
    command = (f"ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p {bg.port('asa-a')} "
               f"admin@127.0.0.1")
    conn = unicon.Connection(hostname="fw", start=[command], os="asa",
                             credentials={"default": {"username": "admin", "password": PASSWORD},
                                          "enable": {"password": PASSWORD}},
                             log_stdout=False, logfile=str(tmp_path / "unicon.log"), learn_hostname=False,
                             connection_timeout=20)
    conn.settings.GRACEFUL_DISCONNECT_WAIT_SEC = 0      # client-side waits, shortened for the test
    conn.settings.POST_DISCONNECT_WAIT_SEC = 0
    try:
        conn.connect()
        out = conn.execute("show version")
        assert "Software Version 9.19(1)" in out
        conn.configure("domain-name unicon.example")
        assert bg.rig.a.running["domain"] == "unicon.example"
        assert "This host: Primary - Active" in conn.execute("show failover")
    finally:
        conn.disconnect()


def test_unicon_asa_reload_comes_back(background, tmp_path):
    """unicon's reload(): confirm, wait for the connection to drop, reconnect once the unit is back (issue 13)."""
    unicon = pytest.importorskip("unicon")
    if not shutil.which("ssh"):
        pytest.skip("OpenSSH client not installed")
    bg = background()
    command = (f"ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p {bg.port('asa-b')} "
               f"admin@127.0.0.1")
    conn = unicon.Connection(hostname="fw", start=[command], os="asa",
                             credentials={"default": {"username": "admin", "password": PASSWORD},
                                          "enable": {"password": PASSWORD}},
                             log_stdout=False, logfile=str(tmp_path / "unicon.log"), learn_hostname=False,
                             connection_timeout=20)
    for setting, seconds in (("GRACEFUL_DISCONNECT_WAIT_SEC", 0), ("POST_DISCONNECT_WAIT_SEC", 0),
                             ("RELOAD_WAIT", 3), ("POST_RELOAD_WAIT", 1)):    # client-side waits, shortened
        setattr(conn.settings, setting, seconds)
    booted = bg.do(lambda: bg.rig.b.booted_at)
    try:
        conn.connect()
        conn.reload(timeout=60)
        assert bg.do(lambda: bg.rig.b.booted_at) > booted                  # the unit did reload
        assert "Software Version 9.19(1)" in conn.execute("show version")
    finally:
        conn.disconnect()


# -- parsers on rendered output ---------------------------------------------------------------------------
def test_ntc_templates_parse_active_standby_mixed_versions(background):
    bg = background(version="9.19(1)")
    rig = bg.rig
    from simulator.kinds.asa.images import write_image
    from simulator.kinds.asa.ssh import SSH
    image = "asa9-20-2-smp-k8.bin"

    async def stage() -> None:
        for unit in (rig.a, rig.b):     # as if uploaded by SCP
            await SSH.file_arrived(unit, write_image(rig.disk(unit) / image, "9.20(2)"), None)
        rig.a.clear_boot_system()
        rig.a.add_boot_system(f"disk0:/{image}")
        rig.a.write_memory()
        rig.pair.reload_standby(rig.a)

    bg.call(stage())
    bg.wait_for(lambda: rig.state(rig.b) == "Standby Ready")
    ours = parse_output(platform="cisco_asa", command="show failover", data=bg.do(lambda: show_failover(rig.a)))[0]
    mate = parse_output(platform="cisco_asa", command="show failover", data=bg.do(lambda: show_failover(rig.b)))[0]
    assert (ours["role"], ours["service_state"], ours["service_state_mate"]) == ("Primary", ["Active"],
                                                                                  ["Standby Ready"])
    assert (ours["sw_version"], ours["sw_version_mate"]) == ("9.19(1)", "9.20(2)")
    assert (mate["role"], mate["service_state"], mate["sw_version"]) == ("Secondary", ["Standby Ready"], "9.20(2)")
    assert ours["lan_intf_name"] == "folink" and ours["lan_intf_state"] == "up"
    assert ours["ssp_model"] == ["ASAv"] and ours["interfaces"] == ["outside", "inside", "management"]
    # the mate gone: not detected, Mate Unknown
    bg.do(lambda: rig.b.power_off())
    gone = parse_output(platform="cisco_asa", command="show failover", data=bg.do(lambda: show_failover(rig.a)))[0]
    assert gone["service_state_mate"] == ["Not Detected"] and gone["sw_version_mate"] == "Unknown"


def test_ntc_templates_parse_active_active(background):
    bg = background(model="ASA5516-X", version="9.16(4)", mode="active-active")
    rig = bg.rig
    parsed = parse_output(platform="cisco_asa", command="show failover", data=bg.do(lambda: show_failover(rig.a)))[0]
    assert parsed["failover_group"] == [] or parsed["failover_group"] == ["1", "2"]
    assert parsed["service_state"] == ["Active", "Standby Ready"]
    assert parsed["service_state_mate"] == ["Standby Ready", "Active"]
    assert parsed["sw_version"] == "9.16(4)" and parsed["ssp_model"] == ["ASA5516"]
    assert parsed["interfaces_context"] == ["admin", "admin", "ctx2", "ctx2"]
    bg.do(lambda: rig.pair.failover_active(rig.b, 1))
    parsed = parse_output(platform="cisco_asa", command="show failover", data=bg.do(lambda: show_failover(rig.a)))[0]
    assert parsed["failover_group"] == ["1"] and parsed["service_state"] == ["Standby Ready", "Standby Ready"]
    assert parsed["service_state_mate"] == ["Active", "Active"]


def test_ntc_templates_parse_show_version_of_each_model(background):
    for model, version in (("ASAv", "9.20(2)"), ("ASA5516-X", "9.16(4)"), ("ASA5555-X", "9.14(4)"),
                           ("FPR-2110", "9.18(4)5")):
        bg = background(model=model, version=version)
        parsed = parse_output(platform="cisco_asa", command="show version", data=bg.do(lambda: show_version(bg.rig.a)))
        assert parsed[0]["version"] == version and parsed[0]["hostname"] == "fw"
        assert parsed[0]["serial"] == [bg.rig.a.serial]


def test_genie_asa_parsers():
    pytest.importorskip("pyats")
    genie_failover = pytest.importorskip("genie.libs.parser.asa.show_failover")
    genie_version = pytest.importorskip("genie.libs.parser.asa.show_version")
    import random

    from simulator.clock import Clock
    from simulator.journal import Journal
    from simulator.kinds.asa.failover import AsaFailoverPair
    from simulator.kinds.asa.model import AsaDevice
    from simulator.kinds.base import DeviceContext

    clock = Clock(virtual=True, start=1_700_000_000)
    ctx = DeviceContext(clock, Journal(clock.now), rng=random.Random(4))
    a = AsaDevice(ctx, "a", "ASAv", "9.19(1)", hostname="fw")
    b = AsaDevice(ctx, "b", "ASAv", "9.19(1)", hostname="fw")
    pair = AsaFailoverPair("p", a, b)
    parsed = genie_failover.ShowFailover(device=mock.Mock()).parse(output=show_failover(b))
    assert parsed["failover_enabled"] is True and parsed["failover_unit"] == "Secondary"
    assert parsed["this_host"]["state"] == "Standby Ready" and parsed["other_host"]["state"] == "Active"
    assert parsed["version"] == {"ours": "9.19(1)", "mate": "9.19(1)"}
    assert parsed["this_host"]["slots"]["0"] == {"model": "ASAv", "version": "/9.19(1)", "status": "Up Sys"}
    assert parsed["unit_hold_time"] == {"value": 15, "time_unit": "seconds"}
    assert parsed["stateful_failover_interface"]["name"] == "folink"
    version = genie_version.ShowVersion(device=mock.Mock()).parse(output=show_version(a))["version"]
    assert version["asa_version"] == "9.19(1)" and version["platform"] == "ASAv" and version["hostname"] == "fw"
    assert version["serial_number"] == a.serial
    pair.close()


def test_netmiko_file_transfer_scp_into_disk0(background, tmp_path):
    """netmiko's cisco_asa file transfer: `dir` for space and presence, SCP, `verify /md5`."""
    from netmiko import file_transfer

    from simulator.kinds.asa.images import write_image

    bg = background()
    local = write_image(tmp_path / "asa9-20-2-smp-k8.bin", "9.20(2)", size=50_000)
    conn = _netmiko(bg.port("asa-a"), secret=PASSWORD)
    try:
        result = file_transfer(conn, source_file=str(local), dest_file=local.name, file_system="disk0:",
                               direction="put", overwrite_file=True)
        assert result["file_exists"] and result["file_transferred"] and result["file_verified"]
        again = file_transfer(conn, source_file=str(local), dest_file=local.name, file_system="disk0:",
                              direction="put")
        assert again["file_exists"] and not again["file_transferred"] and again["file_verified"]
    finally:
        conn.disconnect()
    assert bg.do(lambda: bg.rig.a.image_of(local.name)) is not None
