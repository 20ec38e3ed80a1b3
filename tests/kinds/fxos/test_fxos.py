"""The FXOS chassis (Firepower 4100/9300) hosting FTD logical devices: the
model, its CLI over real SSH (seed 000 ch. 3 step by step), its REST API over
real HTTPS, downloads from loopback servers, and a hypothesis state machine.

The rig is a lab of a bundled chassis profile on a virtual clock, with
shortcuts to its chassis, its FTDs and the chassis' downloader."""

from __future__ import annotations

import asyncio
import random
import re
from pathlib import Path

import asyncssh
import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from simulator.clock import Clock
from simulator.journal import Journal
from simulator.kinds.base import DeviceContext, Refused
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.packages import inspect_package, make_package
from simulator.kinds.fxos import views
from simulator.kinds.fxos.bundles import (
    BundleInfo,
    FxosVersion,
    inspect_fxos_bundle,
    make_fxos_bundle,
)
from simulator.kinds.fxos.downloads import parse_url
from simulator.kinds.fxos.facts import fxos_data
from simulator.kinds.fxos.kind import FxosSpec
from simulator.kinds.fxos.model import FxosChassis
from simulator.kinds.fxos.spec import check_profile
from simulator.kinds.fxos.transfer import FxosDownloader, images_dir
from simulator.lab import Lab
from tests.conftest import Terminal, connect, open_terminal
from tests.kinds.fxos.conftest import BUNDLE

TARGET = "2.14(1.131)"
START = 1_760_000_000.0


# -- the rig ---------------------------------------------------------------------------------
class Rig:
    """A lab of a bundled chassis profile on virtual time, with shortcuts to its chassis and FTDs."""

    def __init__(self, tmp: Path, profile: str = "fxos-4100-standalone", seed: int = 7) -> None:
        self.lab = Lab(profile, state_dir=tmp / "state", virtual_time=True, seed=seed, start_time=START)
        self.root = self.lab.state_dir
        self.clock, self.journal, self.faults, self.ctx = self.lab.clock, self.lab.journal, self.lab.faults, \
            self.lab.context
        self.chassis: FxosChassis = next(d for d in self.lab.devices.values() if isinstance(d, FxosChassis))
        self.devices: dict[str, FtdDevice] = {n: d for n, d in self.lab.devices.items() if isinstance(d, FtdDevice)}

    @property
    def downloader(self) -> FxosDownloader:
        return next(w for w in self.lab.workers if isinstance(w, FxosDownloader))

    def fs(self, name: str) -> Path:
        return self.lab.store.device_fs(name)

    async def start(self) -> Rig:
        await self.lab.start()
        return self

    async def stop(self) -> None:
        await self.lab.stop()

    async def settle(self) -> None:
        await self.lab.settle()

    async def advance(self, seconds: float) -> None:
        await self.settle()
        await self.clock.advance(seconds)
        await self.settle()

    async def run_until(self, predicate, limit: float = 4 * 3600) -> None:
        await self.settle()
        assert await self.clock.run_until(predicate, limit=limit), "condition not reached"
        await self.settle()

    def ssh_port(self, name: str | None = None) -> int:
        assert self.lab.ssh is not None
        return self.lab.ssh.endpoints[name or self.chassis.name].port

    @property
    def url(self) -> str:
        assert self.lab.https is not None
        return self.lab.https.sites[self.chassis.name].url


@pytest.fixture
async def rig(tmp_path):
    running = await Rig(tmp_path).start()
    yield running
    await running.stop()


@pytest.fixture
async def rig9300(tmp_path):
    running = await Rig(tmp_path, "fxos-9300-multi").start()
    yield running
    await running.stop()


class _ImageServer(asyncssh.SSHServer):
    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == ("images", "secret")


@pytest.fixture
async def images(tmp_path):
    """An SCP/SFTP server on loopback (user images / secret) serving /images."""
    root = tmp_path / "image-server"
    make_fxos_bundle(BUNDLE, root / "images")
    make_fxos_bundle("fxos-k9.2.16.1.147.SPA", root / "images")
    make_fxos_bundle("fxos-k9.2.13.0.212.SPA", root / "images")
    make_fxos_bundle("fxos-k9.2.10.1.179.SPA", root / "images")
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.create_server(
        _ImageServer, "127.0.0.1", 0, server_host_keys=[key], allow_scp=True,
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()))
    port = server.sockets[0].getsockname()[1]
    yield port, root
    server.close()
    await server.wait_closed()


def scp_url(port: int, name: str = BUNDLE, proto: str = "scp") -> str:
    return f"{proto}://images@127.0.0.1:{port}/images/{name}"


async def download(rig: Rig, url: str, password: str | None = "secret"):
    task = rig.chassis.start_download(url, password)
    await rig.downloader.settled()
    await rig.run_until(lambda: task.state != "Downloading", limit=3600)
    return task


# -- FXOS terminal helpers -------------------------------------------------------------------
ANY = r"\n[\w.-]+-A[^\n#]*# $"


async def fxos_terminal(port: int) -> Terminal:
    conn = await connect(port)
    proc = await conn.create_process(term_type="vt100")
    term = Terminal(conn, proc)
    await term.read_until(ANY)
    return term


async def fxos_exec(port: int, *lines: str) -> list[str]:
    """Run commands on a fresh interactive session (one output per command)."""
    term = await fxos_terminal(port)
    try:
        return [await term.cmd(line, prompt=ANY) for line in lines]
    finally:
        await term.close()


async def poll_cli(rig: Rig, lines: list[str], done, step: float = 30, limit: float = 4 * 3600) -> list[str]:
    """Connect (the chassis may be rebooting), run `lines`, until done(outputs)."""
    waited = 0.0
    while True:
        try:
            outs = await fxos_exec(rig.ssh_port(), *lines)
            if done(outs):
                return outs
        except (OSError, asyncssh.Error, EOFError, TimeoutError):
            pass
        assert waited < limit, "chassis never reached the state"
        await rig.advance(step)
        waited += step


# -- bundles and versions ----------------------------------------------------------------------
def test_bundle_files_and_versions(tmp_path):
    assert str(FxosVersion.from_filename(BUNDLE)) == TARGET
    assert FxosVersion.parse("2.14.1.131") == FxosVersion.parse(TARGET) > FxosVersion.parse("2.12(0.498)")
    good = inspect_fxos_bundle(make_fxos_bundle(BUNDLE, tmp_path / "a"))
    assert good.version == TARGET and good.problem is None and good.size_kb == 853688
    assert inspect_fxos_bundle(make_fxos_bundle(BUNDLE, tmp_path / "b", unsigned=True)).problem == "signature"
    assert inspect_fxos_bundle(make_fxos_bundle(BUNDLE, tmp_path / "c", corrupt=True)).problem == "corrupt"
    renamed = make_fxos_bundle(BUNDLE, tmp_path / "d").rename(tmp_path / "d" / "fxos-k9.2.16.1.147.SPA")
    assert inspect_fxos_bundle(renamed).problem == "signature"
    with pytest.raises(ValueError):
        make_fxos_bundle("fxos-k8-fp2k-lfbff.2.14.1.131.SPA", tmp_path)
    assert parse_url("scp://user@10.1.1.1:/images/x.SPA")["path"] == "/images/x.SPA"
    assert parse_url("tftp://10.1.1.1:69/x.SPA")["port"] == 69
    assert parse_url("/tmp/x.SPA")["protocol"] == "local"


def test_profiles_validate():
    models = {"ftd-1": "FPR-4145", "ftd-2": "FPR-4112"}
    assert check_profile([{"name": "c", "model": "FPR-4145", "modules": [{"slot": 1, "apps": [{"device": "ftd-1"}]}]}],
                         models) == []
    problems = check_profile([{"name": "c", "model": "FPR-4145",
                               "modules": [{"slot": 2, "apps": [{"device": "ftd-2"}, {"device": "nope"}]}]}], models)
    assert any("no slot 2" in p for p in problems) and any("'nope'" in p for p in problems)
    assert any("a logical device on FPR-4145 is a FPR-4145" in p for p in problems)
    with pytest.raises(ValueError):
        FxosSpec(name="c", kind="fxos", model="FPR-4145", version="2.x")


# -- the model ---------------------------------------------------------------------------------------
async def test_model_upgrade_timeline(rig, images):
    ch, ftd = rig.chassis, rig.devices["ftd-1"]
    task = await download(rig, scp_url(images[0]))
    assert task.state == "Downloaded" and task.size_kb == 853688 and BUNDLE in ch.packages
    assert (images_dir(rig.fs(ch.name)) / BUNDLE).exists()
    t0 = rig.clock.now()
    ch.start_platform_install(TARGET)
    assert ch.state == "upgrade_fprm" and ch.component("FPRM").status == "Upgrading"
    assert ch.startup_version == TARGET and ch.version == "2.12(0.498)"
    seen_states, ftd_online_while_down = [], False

    def watch() -> bool:
        if not seen_states or seen_states[-1] != ch.state:
            seen_states.append(ch.state)
        nonlocal ftd_online_while_down
        ftd_online_while_down |= not ch.ready and ftd.state == "online"
        return ch.install.state == "COMPLETED" and ftd.state == "online"

    while not watch():
        await rig.advance(10)
    assert not ftd_online_while_down
    # 2.14.1+ carries firmware: two reboots (FXOS, then firmware)
    assert [s for s in seen_states if s.endswith("_os")] == ["upgrade_reboot_os", "upgrade_firmware_reboot_os"]
    assert ch.install.reboots == 2
    assert all(c.package_vers == TARGET and c.status == "Ready" for c in ch.components)
    assert ch.version == ch.startup_version == TARGET and ftd.fxos_version == TARGET
    assert rig.clock.now() - t0 <= 40 * 60
    assert [e["state"] for e in rig.journal.select(ch.name, "fxos.install")
            if e["kind"] == "fxos.install"] == ["IN_PROGRESS", "COMPLETED"]


async def test_hosted_ftd_needs_companion_fxos(rig, images, tmp_path):
    ch, ftd = rig.chassis, rig.devices["ftd-1"]
    pkg = make_package("Cisco_FTD_SSP_Upgrade-7.4.1-172.sh.REL.tar", tmp_path / "pkgs")
    ftd.accept_package(inspect_package(pkg))
    ftd.run_readiness_check()
    await rig.run_until(lambda: ftd.readiness.state != "IN_PROGRESS")
    assert ftd.readiness.state == "FAILED"
    assert any("FXOS version incompatibility" in m and "2.14" in m for m in ftd.readiness.messages)
    await download(rig, scp_url(images[0]))
    ch.start_platform_install(TARGET)
    await rig.run_until(lambda: ch.install.state == "COMPLETED" and ftd.state == "online")
    ftd.run_readiness_check()
    await rig.run_until(lambda: ftd.readiness.state != "IN_PROGRESS")
    assert ftd.readiness.state == "SUCCESS", ftd.readiness.messages
    ftd.start_upgrade()
    await rig.run_until(lambda: ftd.job.state != "IN_PROGRESS" and ftd.state == "online")
    assert ftd.job.state == "COMPLETED" and ftd.version == "7.4.1-172"
    # show app-instance follows the FTD's own version
    assert "7.4.1.172" in views.app_instances(ch)


async def test_install_refusals(rig, images, tmp_path):
    ch = rig.chassis
    with pytest.raises(Refused, match="is not found"):
        ch.verify_platform(TARGET)
    with pytest.raises(Refused, match="already installed"):
        ch.verify_platform("2.12(0.498)")
    # downgrade: FXOS cannot be downgraded
    await download(rig, scp_url(images[0], "fxos-k9.2.10.1.179.SPA"))
    with pytest.raises(Refused, match="Downgrade of the FXOS platform bundle from 2.12"):
        ch.start_platform_install("2.10(1.179)")
    # an unsigned bundle fails verification
    make_fxos_bundle("fxos-k9.2.13.0.212.SPA", rig.fs(ch.name) / "local", unsigned=True)
    await download(rig, "/local/fxos-k9.2.13.0.212.SPA")
    check = ch.verify_platform("2.13(0.212)")
    assert not check.ok and "digital signature" in check.errors[0]
    with pytest.raises(Refused, match="digital signature"):
        ch.start_platform_install("2.13(0.212)")
    # a bundle for the 9300 only is refused on a 4100 at verification
    make_fxos_bundle("fxos-k9.2.14.1.131.SPA", rig.fs(ch.name) / "fp9k", platforms=("fp9k",))
    await download(rig, f"/fp9k/{BUNDLE}")
    with pytest.raises(Refused, match="does not support Cisco Firepower 4145"):
        ch.start_platform_install(TARGET)
    assert ch.install is None and ch.state == "online"


async def test_chassis_well_ahead_blocks_further_upgrade(tmp_path, images):
    """A chassis on 2.14 hosting FTD 6.6 cannot go to 2.16 (which does not run 6.6)."""
    rig = Rig(tmp_path)
    rig.devices["ftd-1"].version = "6.6.5-81"
    rig.chassis.version = "2.14(1.131)"
    for comp in rig.chassis.components:
        comp.package_vers = "2.14(1.131)"
    await rig.start()
    try:
        await download(rig, scp_url(images[0], "fxos-k9.2.16.1.147.SPA"))
        check = rig.chassis.verify_platform("2.16(1.147)")
        assert check.incompatible and check.incompatible[0]["version"] == "6.6.5.81"
        with pytest.raises(Refused) as err:
            rig.chassis.start_platform_install("2.16(1.147)")
        assert err.value.reason == "incompatible"
        outs = await fxos_exec(rig.ssh_port(), "scope firmware", "scope auto-install",
                               "install platform platform-vers 2.16(1.147)")
        assert "Invalid Config: The following application(s) are not compatible with FXOS platform version " \
               "2.16(1.147):" in outs[2]
        assert "ftd version 6.6.5.81 on slot 1" in outs[2] and "Do you want to proceed" not in outs[2]
    finally:
        await rig.stop()


async def test_failed_downloads_leave_nothing(rig, images, tmp_path):
    ch = rig.chassis
    store = images_dir(rig.fs(ch.name))
    port = images[0]
    missing = await download(rig, scp_url(port, "fxos-k9.2.99.1.1.SPA"))
    assert missing.state == "Failed" and missing.error_code == "ERR-DNLD-no-file"
    auth = await download(rig, scp_url(port), password="wrong")
    assert auth.state == "Failed" and "Authentication failure" in auth.error_text
    closed = await download(rig, "sftp://images@127.0.0.1:1/images/" + BUNDLE)
    assert closed.state == "Failed" and "Connection refused" in closed.error_text
    t0 = rig.clock.now()
    tftp = await download(rig, "tftp://127.0.0.1/" + BUNDLE, password=None)
    assert tftp.state == "Failed" and "Transfer timed out" in tftp.error_text
    assert rig.clock.now() - t0 >= fxos_data().unreachable_after
    ftp = await download(rig, "ftp://images@127.0.0.1/" + BUNDLE)
    assert ftp.state == "Failed" and "Connection timed out" in ftp.error_text
    big = make_fxos_bundle("fxos-k9.2.16.1.147.SPA", tmp_path / "big", size_kb=5_000_000)
    host = await download(rig, str(big))             # a file of the lab host is not the chassis'
    assert host.state == "Failed" and host.error_code == "ERR-DNLD-no-file"
    big.replace(rig.fs(ch.name) / big.name)
    full = await download(rig, f"/{big.name}")
    assert full.state == "Failed" and full.error_code == "ERR-DNLD-no-space"
    rig.faults.add("package.transfer", "corrupt", ch.name)
    bad = await download(rig, scp_url(port))
    assert bad.state == "Failed" and bad.error_code == "ERR-DNLD-invalid-image"
    assert ch.packages == {} and list(store.iterdir()) == []
    with pytest.raises(Refused, match="not found"):
        ch.verify_platform(TARGET)
    # the same image again, now whole
    again = await download(rig, scp_url(port))
    assert again.state == "Downloaded" and again.tries > 1 and [p.name for p in store.iterdir()] == [BUNDLE]


async def test_download_interrupted_by_reboot(rig, images):
    ch = rig.chassis
    task = ch.start_download(scp_url(images[0]), "secret")
    await rig.downloader.settled()
    await rig.advance(10)
    assert task.state == "Downloading" and 0 < task.size_kb < 853688
    ch.reboot()
    assert task.state == "Failed" and "interrupted" in task.error_text
    assert not any(images_dir(rig.fs(ch.name)).iterdir())


async def test_cancel_before_reboot_only(rig, images):
    ch = rig.chassis
    await download(rig, scp_url(images[0]))
    ch.start_platform_install(TARGET)
    await rig.advance(60)
    ch.cancel_install()
    assert ch.install.state == "CANCELLED" and ch.state == "online" and ch.startup_version == "2.12(0.498)"
    assert all(c.status == "Ready" and c.package_vers == "2.12(0.498)" for c in ch.components)
    ch.start_platform_install(TARGET)
    await rig.run_until(lambda: ch.state == "upgrade_fabric" and ch.install_phase == "fabric")
    with pytest.raises(Refused, match="can no longer be cancelled"):
        ch.cancel_install()


async def test_power_loss_mid_install_fails_it(rig, images):
    ch, ftd = rig.chassis, rig.devices["ftd-1"]
    await download(rig, scp_url(images[0]))
    ch.start_platform_install(TARGET)
    await rig.run_until(lambda: ch.install_phase == "servers")
    ch.power_off(cause="power_loss")
    assert ch.install.state == "FAILED" and ftd.state == "off"
    assert [c.status for c in ch.components] == ["Ready", "Ready", "Failed"]
    ch.power_on()
    await rig.run_until(lambda: ch.state == "online" and ftd.state == "online")
    assert ch.version == TARGET        # never goes back
    # retry: the same version installs what is left
    ch.start_platform_install(TARGET)
    await rig.run_until(lambda: ch.install.state != "IN_PROGRESS")
    assert ch.install.state == "COMPLETED"
    assert all(c.status == "Ready" and c.package_vers == TARGET for c in ch.components)


async def test_stage_fault_fails_component(rig, images):
    ch = rig.chassis
    await download(rig, scp_url(images[0]))
    rig.faults.add("upgrade.stage:fabric", "fail", ch.name, message="Fabric interconnect image activation failed")
    ch.start_platform_install(TARGET)
    await rig.run_until(lambda: ch.install.state != "IN_PROGRESS")
    assert ch.install.state == "FAILED" and ch.component("Fabric Interconnect A").status == "Failed"
    await rig.run_until(lambda: rig.devices["ftd-1"].state == "online")
    assert "F16932" in views.fault_table(ch)


async def test_snapshot_restore_resumes(tmp_path, images):
    first = await Rig(tmp_path / "one").start()
    try:
        await download(first, scp_url(images[0]))
        first.chassis.start_platform_install(TARGET)
        await first.run_until(lambda: first.chassis.state == "upgrade_reboot_os")
        saved = first.chassis.snapshot()
    finally:
        await first.stop()
    second = Rig(tmp_path / "two")
    second.chassis.restore(saved)
    await second.start()
    try:
        ch = second.chassis
        assert ch.packages and ch.install.state == "IN_PROGRESS"
        await second.run_until(lambda: ch.install.state == "COMPLETED" and second.devices["ftd-1"].state == "online")
        assert ch.version == TARGET
    finally:
        await second.stop()


# -- the CLI over SSH ---------------------------------------------------------------------------------
async def test_seed_cli_upgrade_standalone(rig, images):
    """Seed 000 ch. 3, "Upgrade FXOS for Standalone FTD Logical Devices Using the FXOS CLI"."""
    ch, ftd = rig.chassis, rig.devices["ftd-1"]
    port = images[0]
    term = await fxos_terminal(rig.ssh_port())
    assert "FPR4K-1-A# " in (await term.cmd("top", prompt=ANY))
    # Step 2: download over SCP and monitor the download task
    assert (await term.cmd("scope firmware", prompt=ANY)).endswith("FPR4K-1-A /firmware # ")
    out = await term.cmd(f"download image scp://images@127.0.0.1:{port}/images/{BUNDLE}", prompt=r"Password: $")
    await term.cmd("secret", prompt=ANY)
    out = await term.cmd(f"scope download-task {BUNDLE}", prompt=ANY)
    assert out.endswith("FPR4K-1-A /firmware/download-task # ")
    await rig.downloader.settled()
    await rig.advance(5)
    out = await term.cmd("show detail", prompt=ANY)
    assert re.search(r"Download task:\n  File Name: fxos-k9.2.14.1.131.SPA\n  Protocol: scp\n  Server: 127.0.0.1\n"
                     r"  Userid: images\n  Path: /images\n  Downloaded Image Size \(KB\): \d+\n  State: Downloading\n"
                     r"  Current Task: downloading image fxos-k9.2.14.1.131.SPA from 127.0.0.1 "
                     r"\(FSM-STAGE:sam:dme:FirmwareDownloaderDownload:Local\)", out), out
    await rig.advance(60)
    out = await term.cmd("show detail", prompt=ANY)
    assert "Downloaded Image Size (KB): 853688\n  State: Downloaded\n  Current Task: \n" in out
    # Steps 3-7: up, auto-install, install with both confirmations
    assert (await term.cmd("up", prompt=ANY)).endswith("/firmware # ")
    assert (await term.cmd("scope auto-install", prompt=ANY)).endswith("/firmware/auto-install # ")
    out = await term.cmd("install platform platform-vers 2.14.1.131", prompt=r"\(yes/no\):$")
    assert "Verifying FXOS platform bundle 2.14(1.131). Please wait..." in out
    assert "Verification of FXOS platform bundle 2.14(1.131) is complete." in out
    # the prompt names what it installs: the platform and the firmware the bundle carries, and what runs now
    assert ("The system is currently installed with security software package 2.12(0.498), which has:\n"
            "   - The platform version: 2.12(0.498)\n   - The firmware version: 1.0.12\n"
            "If you proceed with the upgrade 2.14(1.131), it will do the following:\n"
            "   - upgrade to the new platform version 2.14(1.131)\n"
            "   - upgrade to the new firmware version 1.0.18\n") in out
    assert "the system will be reboot" in out
    assert "sessions" in out and "Do you want to proceed ? (yes/no):" in out
    out = await term.cmd("yes", prompt=r"\(yes/no\):$")
    assert "(1) Review current critical/major faults" in out
    out = await term.cmd("yes", prompt=ANY)
    assert "Triggered Auto-Install" in out and ch.install is not None
    # Step 8: monitor through FPRM
    await term.cmd("scope system", prompt=ANY)
    out = await term.cmd("show firmware monitor", prompt=ANY)
    assert "FPRM:\n  Package-Vers: 2.12(0.498)\n  Upgrade-Status: Upgrading\n\nFabric Interconnect A:\n" \
           "  Package-Vers: 2.12(0.498)\n  Upgrade-Status: Ready\n\nChassis 1:\n  Server 1:\n" \
           "    Package-Vers: 2.12(0.498)\n    Upgrade-Status: Ready\n" in out
    # "After the FPRM component is upgraded, the system will reboot": the session ends
    await rig.run_until(lambda: ch.state == "upgrade_reboot_shutdown")
    with pytest.raises(EOFError) as closed:       # the session ends with the reboot broadcast
        await term.read_until(ANY)
    assert "Broadcast message from root@FPR4K-1" in str(closed.value)
    assert "All shells being terminated due to system /sbin/reboot" in str(closed.value)
    await term.close()
    with pytest.raises(OSError):
        await connect(rig.ssh_port())
    async with httpx.AsyncClient(verify=False) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(rig.url + "/api/sys/firmware/version/mgmt")
        # the hosted FTD went down with the chassis: its SSH refuses too
        with pytest.raises(OSError):
            await connect(rig.ssh_port("ftd-1"))
        await rig.run_until(lambda: ch.state == "upgrade_reboot_dme")
        r = await client.get(rig.url + "/api/sys/firmware/version/mgmt")
        assert r.status_code == 503
        outs = await fxos_exec(rig.ssh_port(), "scope system")
        assert "Timed out communicating with DME" in outs[0]
    # wait for all components Ready on the new version (the firmware reboot included)
    outs = await poll_cli(rig, ["scope system", "show firmware monitor"],
                          lambda o: o[1].count("Package-Vers: 2.14(1.131)") == 3
                          and o[1].count("Upgrade-Status: Ready") == 3)
    assert ch.install.reboots == 2
    # Step 9: top, scope ssa, show slot, show app-instance
    outs = await poll_cli(rig, ["top", "scope ssa", "show slot", "show app-instance"],
                          lambda o: "Online" in o[2] and " Online " in o[3], step=20)
    assert re.search(r"Slot:\n    Slot ID    Log Level Admin State  Oper State\n    -+ -+ -+ -+\n"
                     r"    1          Info      Ok           Online", outs[2]), outs[2]
    assert re.search(r"ftd +ftd-1 +1 +Enabled +Online +7\.2\.5\.208 +7\.2\.5\.208 +Native", outs[3]), outs[3]
    assert ch.version == TARGET and ftd.state == "online" and ftd.fxos_version == TARGET
    # the hosted FTD is back on its own SSH port
    ftd_term = await open_terminal(rig.ssh_port("ftd-1"))
    assert "Version 7.2.5 (Build 208)" in await ftd_term.cmd("show version")
    await ftd_term.close()
    outs = await fxos_exec(rig.ssh_port(), "show version", "show system firmware")
    assert "    Version: 2.14(1.131)\n    Startup-Vers: 2.14(1.131)" in outs[0]


async def test_app_instance_moves_through_states(rig, images):
    ch, ftd = rig.chassis, rig.devices["ftd-1"]
    await download(rig, scp_url(images[0]))
    ch.start_platform_install(TARGET)
    await rig.run_until(lambda: ch.install.state == "COMPLETED")
    states = []
    while ftd.state != "online":
        if ch.ready:
            out = (await fxos_exec(rig.ssh_port(), "scope ssa", "show app-instance", "show slot"))
            oper = re.search(r"ftd-1 +1 +Enabled +(\S+)", out[1]).group(1)
            slot = re.search(r"\n    1 +Info +Ok +(\S+)", out[2]).group(1)
            if not states or states[-1] != (slot, oper):
                states.append((slot, oper))
        await rig.advance(15)
    assert states[0] == ("Starting", "Offline")
    assert ("Online", "Starting") in states and ("Online", "Started") in states


async def test_cli_errors_scopes_and_filters(rig):
    port = rig.ssh_port()
    outs = await fxos_exec(port, "show bogus", "sh", "s", "scope firmware", "scope download-task nosuch",
                           "show package", "top", "show version | include Version", "show version | exclude Version",
                           "scope system", "show firmware monitor | begin Chassis",
                           "show firmware monitor | include Status", "scope ssa", "where")
    assert outs[0].splitlines()[-3].strip() == "^" and "% Invalid Command at '^' marker" in outs[0]
    assert "% Ambiguous command at '^' marker" in outs[2]
    assert "% Incomplete Command at '^' marker" in outs[1]
    assert "Error: Managed object does not exist" in outs[4]
    assert re.search(r"Name +Package-Vers\n-+ -+\nfxos-k9\.2\.12\.0\.498\.SPA +2\.12\(0\.498\)",
                     outs[5].replace("\r", "")), outs[5]
    assert outs[7].splitlines()[1:-1] == ["    Version: 2.12(0.498)"]
    assert outs[8].splitlines()[1:-1] == ["    Startup-Vers: 2.12(0.498)"]
    assert outs[10].splitlines()[1] == "Chassis 1:"
    assert outs[11].count("Upgrade-Status: Ready") == 3 and "Package" not in outs[11]
    assert outs[12].endswith("FPR4K-1-A /ssa # ")
    # exec requests run one command each
    async with await connect(port) as conn:
        result = await conn.run("show system firmware")
        assert result.stdout.replace("\r\n", "\n") == "    Version: 2.12(0.498)\n    Startup-Vers: 2.12(0.498)\n"


async def test_delete_package_uses_the_buffer(rig, images):
    await download(rig, scp_url(images[0]))
    outs = await fxos_exec(rig.ssh_port(), "scope firmware", f"delete package {BUNDLE}", "show package",
                           "commit-buffer", "show package")
    assert outs[1].endswith("FPR4K-1-A /firmware* # ") and BUNDLE in outs[2]
    assert outs[3].endswith("FPR4K-1-A /firmware # ") and BUNDLE not in outs[4]
    assert rig.chassis.packages == {} and not (images_dir(rig.fs(rig.chassis.name)) / BUNDLE).exists()


async def test_connect_module_console_ftd_and_back(rig):
    term = await fxos_terminal(rig.ssh_port())
    out = await term.cmd("connect module 1 console", prompt=r"Close Network Connection to Exit\r\n$")
    assert "Telnet escape character is '~'." in out and "Connected to 127.5.1.1." in out
    await term.cmd("", prompt=r"Firepower-module1> $")
    assert "asa is not running." in await term.cmd("connect asa", prompt=r"Firepower-module1> $")
    out = await term.cmd("connect ftd", prompt=r"\n> $")
    assert "Connecting to ftd(ftd) console... enter exit to return to bootCLI" in out
    out = await term.cmd("show version", prompt=r"\n> $")
    assert "Cisco Firepower 4145 Threat Defense (76) Version 7.2.5 (Build 208)" in out
    out = await term.cmd("exit", prompt=r"Firepower-module1> $")
    assert "Disconnected from ftd(ftd) console!" in out
    term.proc.stdin.write("~")
    await term.read_until(r"telnet> $")
    out = await term.cmd("q", prompt=ANY)
    assert out.endswith("FPR4K-1-A# ")
    out = await term.cmd("connect local-mgmt", prompt=r"\(local-mgmt\)# $")
    assert out.endswith("FPR4K-1-A(local-mgmt)# ")
    assert (await term.cmd("exit", prompt=ANY)).endswith("FPR4K-1-A# ")
    out = await term.cmd("connect fxos", prompt=r"\(fxos\)# $")
    assert "Cisco Firepower Extensible Operating System (FX-OS) Software" in out
    await term.cmd("exit", prompt=ANY)
    await term.close()


async def test_hosted_ftd_reboot_returns_to_the_module(rig):
    """`reboot` in the FTD behind the module console: its broadcast in the real box's words,
    then the module's prompt (the chassis session stays); the FTD comes back."""
    ftd = rig.devices["ftd-1"]
    term = await fxos_terminal(rig.ssh_port())
    await term.cmd("connect module 1 console", prompt=r"Close Network Connection to Exit\r\n$")
    await term.cmd("", prompt=r"Firepower-module1> $")
    await term.cmd("connect ftd", prompt=r"\n> $")
    await term.cmd("reboot", prompt=r"Please enter 'YES' or 'NO': $")
    out = await term.cmd("YES", prompt=r"Firepower-module1> $")
    assert "Broadcast message from admin@ftd-1" in out and "All shells being terminated" in out
    assert "Reboot requested by the user." in out and ftd.state == "shutdown"
    assert "ftd is not running." in await term.cmd("connect ftd", prompt=r"Firepower-module1> $")
    await term.close()
    await rig.run_until(lambda: ftd.state == "online")


async def test_ftd_not_running_while_booting(rig9300):
    rig = rig9300
    ftd = rig.devices["ftd-sm2"]
    ftd.power_off()
    ftd.power_on()
    term = await fxos_terminal(rig.ssh_port())
    await term.cmd("connect module 2 console", prompt=r"Exit\r\n$")
    await term.cmd("", prompt=r"Firepower-module2> $")
    assert "ftd is not running." in await term.cmd("connect ftd", prompt=r"Firepower-module2> $")
    await term.close()
    outs = await fxos_exec(rig.ssh_port(), "scope ssa", "show slot", "show app-instance")
    assert outs[1].count(" Online") == 3
    assert re.search(r"ftd-sm2 +2 +Enabled +Starting", outs[2]) and outs[2].count(" Online ") == 2


async def test_local_mgmt_reboot(rig):
    ch, ftd = rig.chassis, rig.devices["ftd-1"]
    term = await fxos_terminal(rig.ssh_port())
    await term.cmd("connect local-mgmt", prompt=r"\(local-mgmt\)# $")
    out = await term.cmd("reboot", prompt=r"\(yes/no\):$")
    assert "ungraceful reboot" in out and "Do you still want to reboot? (yes/no):" in out
    term.proc.stdin.write("yes\r")
    for _ in range(100):
        if ch.state != "online":
            break
        await asyncio.sleep(0.02)
    await rig.settle()
    assert ch.state == "shutdown" and ftd.state == "off"
    await term.close()
    await rig.run_until(lambda: ch.state == "online" and ftd.state == "online")
    assert ch.version == "2.12(0.498)"


# -- the REST API over HTTPS -----------------------------------------------------------------------------
async def rest_login(client: httpx.AsyncClient, url: str) -> str:
    r = await client.post(url + "/api/login", headers={"USERNAME": "admin", "PASSWORD": "Admin123"})
    assert r.status_code == 200, r.text
    assert r.json()["refreshPeriod"] == "0"
    return r.json()["token"]


async def test_rest_auth_and_errors(rig):
    async with httpx.AsyncClient(base_url=rig.url, verify=False) as client:
        r = await client.post("/api/login", headers={"USERNAME": "admin", "PASSWORD": "nope"})
        assert r.status_code == 400 and r.json() == {"error-code": "551", "error-description": "Authentication failed",
                                                      "error-nr": "unidentified-fail"}
        r = await client.get("/api/sys/firmware/version/mgmt")
        assert r.status_code == 400 and r.json()["error-code"] == "552"
        r = await client.get("/api/sys/firmware/version/mgmt", headers={"TOKEN": "bogus"})
        assert r.json()["error-description"] == "Authorization required"
        r = await client.post("/api/logout", headers={"TOKEN": "bogus"})
        assert r.status_code == 555 and r.json()["error-code"] == "555"
        token = await rest_login(client, "")
        r = await client.get("/api/sys/firmware/version/mgmt", headers={"token": token})
        assert r.json()["firmwareRunning"][0]["packageVersion"] == "2.12(0.498)"
        r = await client.get("/api/sys/firmware/distrib/nosuch", headers={"TOKEN": token})
        assert r.status_code == 404
        r = await client.patch("/api/sys/firmware/sched-platform-fw", headers={"TOKEN": token},
                               json={"firmwareInfraPack": [{"platformBundleVersion": "2.12(0.498)"}]})
        assert r.status_code == 400 and "already installed" in r.json()["error-description"]
        r = await client.patch("/api/sys/firmware/sched-platform-fw", headers={"TOKEN": token},
                               json={"firmwareInfraPack": [{"platformBundleVersion": "2.10(1.179)"}]})
        assert r.status_code == 400 and "Downgrade" in r.json()["error-description"]
        r = await client.post("/api/logout", headers={"TOKEN": token})
        assert r.status_code == 200 and "logout" in r.json()
        r = await client.get("/api/slot", headers={"TOKEN": token})
        assert r.json()["error-code"] == "552"


async def test_rest_upgrade(rig9300, images):
    rig = rig9300
    async with httpx.AsyncClient(base_url=rig.url, verify=False, timeout=10) as client:
        token = await rest_login(client, "")
        h = {"TOKEN": token}
        body = {"firmwareDownloader": [{"protocol": "scp", "port": str(images[0]), "user": "images", "pwd": "secret",
                                        "server": "127.0.0.1", "remotePath": "/images",
                                        "dn": f"sys/fw-catalogue/dnld-{BUNDLE}"}]}
        r = await client.post("/api/sys/firmware/dnld/", headers=h, json=body)
        assert r.status_code == 200, r.text
        assert r.json()["firmwareDownloader"][0]["transferState"] == "downloading"
        while True:
            await rig.advance(10)
            item = (await client.get(f"/api/sys/firmware/dnld/{BUNDLE}", headers=h)).json()["firmwareDownloader"][0]
            if item["transferState"] != "downloading":
                break
        assert item["transferState"] == "downloaded" and item["fsmProgr"] == "100"
        dist = (await client.get("/api/sys/firmware/distrib", headers=h)).json()["firmwareDistributable"]
        assert dist[0]["version"] == TARGET and dist[0]["dn"] == "sys/fw-catalogue/distrib-fxos-k9.2.14.1.131"
        val = (await client.get(f"/api/sys/firmware/validate-platform-fw/{TARGET}", headers=h)).json()
        assert val["firmwareValidatePlatform"][0]["validationStatus"] == "valid"
        r = await client.patch("/api/sys/firmware/sched-platform-fw", headers=h,
                               json={"firmwareInfraPack": [{"platformBundleVersion": TARGET}]})
        assert r.status_code == 200, r.text
        fsm = (await client.get("/api/sys/fw-system/fsm", headers=h)).json()["firmwareSystemFsm"][0]
        assert fsm["fsmStatus"] == "in-progress" and fsm["firmwareMonitor"][0]["upgradeStatus"] == "upgrading"
        # poll through the reboots: refused, then 503, then a new login
        seen = set()
        while True:
            await rig.advance(30)
            try:
                r = await client.get("/api/sys/fw-system/fsm", headers=h)
            except httpx.ConnectError:
                seen.add("refused")
                continue
            seen.add(r.status_code)
            if r.status_code == 503:
                continue
            if r.status_code == 400 and r.json()["error-code"] == "552":
                h = {"TOKEN": await rest_login(client, "")}     # tokens do not survive a reboot
                continue
            fsm = r.json()["firmwareSystemFsm"][0]
            if fsm["fsmStatus"] != "in-progress":
                break
        assert {"refused", 503, 400} <= seen and fsm["fsmStatus"] == "success"
        assert all(c["upgradeStatus"] == "ready" and c["packageVersion"] == TARGET for c in fsm["firmwareMonitor"])
        await rig.run_until(lambda: all(d.state == "online" for d in rig.devices.values()))
        slots = (await client.get("/api/slot", headers=h)).json()["smSlot"]
        assert [s["operState"] for s in slots] == ["online"] * 3
        app = (await client.get("/api/slot/2/app-inst/ftd-ftd-sm2", headers=h)).json()["smAppInstance"][0]
        assert app["operState"] == "online" and app["runningVersion"] == "7.2.5.208"
        apps = (await client.get("/api/", params={"classId": "smAppInstance"}, headers=h)).json()
        assert len(apps["smAppInstance"]) == 3
        lds = (await client.get("/api/ld", headers=h)).json()["smLogicalDevice"]
        assert [ld["name"] for ld in lds] == ["ftd-sm1", "ftd-sm2", "ftd-sm3"]
        ver = (await client.get("/api/sys/firmware/version/mgmt", headers=h)).json()
        assert ver["firmwareRunning"][0]["packageVersion"] == TARGET
        assert (await client.get("/api/sys/fault", headers=h)).json() == {"faultInst": []}


async def test_rest_download_cli_install(rig, images):
    """A mix: download by REST (seen by the CLI), install by CLI (seen by REST)."""
    ch = rig.chassis
    async with httpx.AsyncClient(base_url=rig.url, verify=False, timeout=10) as client:
        h = {"TOKEN": await rest_login(client, "")}
        body = {"firmwareDownloader": [{"protocol": "sftp", "port": str(images[0]), "user": "images", "pwd": "secret",
                                        "server": "127.0.0.1", "remotePath": f"/images/{BUNDLE}"}]}
        r = await client.post(f"/api/sys/firmware/dnld/{BUNDLE}", headers=h, json=body)
        assert r.status_code == 200, r.text
        await rig.downloader.settled()
        outs = await fxos_exec(rig.ssh_port(), "scope firmware", "show download-task",
                               f"show download-task {BUNDLE} detail | grep State")
        assert re.search(rf"{re.escape(BUNDLE)} +Sftp +127\.0\.0\.1 +\d+ +images +Downloading", outs[1]), outs[1]
        assert outs[2].splitlines()[1].strip() == "State: Downloading"
        await rig.run_until(lambda: BUNDLE in ch.packages)
        term = await fxos_terminal(rig.ssh_port())
        await term.cmd("scope firmware", prompt=ANY)
        await term.cmd("scope auto-install", prompt=ANY)
        await term.cmd(f"install platform platform-vers {TARGET}", prompt=r"\(yes/no\):$")
        await term.cmd("yes", prompt=r"\(yes/no\):$")
        assert "Triggered Auto-Install" in await term.cmd("yes", prompt=ANY)
        out = await term.cmd("show detail", prompt=ANY)
        assert "Package-Vers: 2.14(1.131)" in out and "Oper State: In Progress" in out
        await term.close()
        fsm = (await client.get("/api/sys/fw-system/fsm", headers=h)).json()["firmwareSystemFsm"][0]
        assert fsm["fsmStatus"] == "in-progress" and fsm["platformBundleVersion"] == TARGET
        # cancel by REST before the reboot
        r = await client.patch("/api/sys/firmware/cancel-platform-fw", headers=h)
        assert r.status_code == 200 and ch.install.state == "CANCELLED"


async def test_rest_http_download(rig, web_server):
    """http:// from an aiohttp server on loopback; a missing file fails the task."""
    missing = await download(rig, f"http://{web_server}/pub/fxos-k9.2.16.1.147.SPA")
    assert missing.state == "Failed" and missing.error_code == "ERR-DNLD-no-file"
    ok = await download(rig, f"http://{web_server}/pub/{BUNDLE}")
    assert ok.state == "Downloaded" and rig.chassis.bundle_for(TARGET) is not None


# -- hypothesis: the chassis model as a state machine ------------------------------------------------
VERSIONS = ["2.10(1.179)", "2.12(0.498)", "2.13(0.212)", TARGET, "2.16(1.147)"]


class ChassisMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = Clock(virtual=True, start=START)
        ctx = DeviceContext(self.clock, Journal(self.clock.now), rng=random.Random(3))
        self.ftds = [FtdDevice(ctx, "a", "FPR9K-SM-44", "7.2.5-208"), FtdDevice(ctx, "b", "FPR9K-SM-44", "6.6.5-81")]
        self.chassis = FxosChassis(ctx, "c", "FPR-9300", "2.12(0.498)",
                                   modules={1: [("a", self.ftds[0])], 2: [("b", self.ftds[1])]})
        self.chassis.transfer = self._transfer
        self.highest = FxosVersion.parse(self.chassis.version)

    def _transfer(self, task, password) -> None:
        version = str(FxosVersion.from_filename(task.filename))
        info = BundleInfo(task.filename, version, 853688, 10240, ("fp4k", "fp9k"), signed=True, intact=True)
        self.clock.call_later(0, self.chassis.download_received, task.filename, info)

    def _run(self, seconds: float) -> None:
        self.loop.run_until_complete(self.clock.advance(seconds))

    @initialize(versions=st.sets(st.sampled_from(VERSIONS)))
    def downloaded(self, versions):
        """Some bundles are on the chassis before the story starts."""
        for version in sorted(versions | {TARGET}):
            self.download(version)
        self._run(120)

    @rule(version=st.sampled_from(VERSIONS))
    def download(self, version):
        try:
            self.chassis.start_download(f"scp://u@10.0.0.1/{FxosVersion.parse(version).filename}", "pw")
        except Refused:
            pass

    @rule(version=st.sampled_from(VERSIONS + [TARGET, "2.13(0.212)"]))
    def install(self, version):
        try:
            self.chassis.start_platform_install(version)
        except Refused:
            pass

    @rule(seconds=st.sampled_from([1, 20, 120, 400, 1200, 1800]))
    def wait(self, seconds):
        self._run(seconds)

    @rule()
    def reboot(self):
        try:
            self.chassis.reboot()
        except Refused:
            pass

    @rule()
    def power_cycle(self):
        self.chassis.power_off(cause="power_loss")
        self._run(5)
        self.chassis.power_on()

    @rule()
    def cancel(self):
        try:
            self.chassis.cancel_install()
        except Refused:
            pass

    @invariant()
    def version_never_goes_down(self):
        current = FxosVersion.parse(self.chassis.version)
        assert current >= self.highest
        self.highest = current

    @invariant()
    def no_ftd_online_while_chassis_down(self):
        if not self.chassis.ready:
            assert all(f.state != "online" for f in self.ftds)

    def _last_failed(self) -> bool:
        """The last install that ran to an end (a cancel restores what was before it) failed."""
        ended = [h["result"] for h in self.chassis.history if h["result"] != "CANCELLED"]
        return bool(ended) and ended[-1] == "FAILED"

    @invariant()
    def components_ready_with_one_version_or_failed(self):
        ch = self.chassis
        running = ch.install is not None and ch.install.state == "IN_PROGRESS"
        if any(c.status == "Failed" for c in ch.components):
            assert running or self._last_failed()
        if not running and not self._last_failed():
            assert all(c.status == "Ready" and c.package_vers == ch.version for c in ch.components)

    def teardown(self):
        try:
            self.loop.run_until_complete(self.clock.run_until_idle(limit=6 * 3600))
            ch = self.chassis
            assert ch.state == "online"
            assert ch.install is None or ch.install.state != "IN_PROGRESS"
            if not self._last_failed():
                assert all(c.status == "Ready" and c.package_vers == ch.version for c in ch.components)
                assert all(f.fxos_version == ch.version for f in self.ftds)
            assert all(f.state == "online" for f in self.ftds)
        finally:
            self.loop.close()


ChassisMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
TestChassisStateMachine = ChassisMachine.TestCase


def test_9300_firmware_monitor_lists_three_servers(tmp_path):
    rig = Rig(tmp_path, "fxos-9300-multi")
    text = views.firmware_monitor(rig.chassis)
    assert text.count("  Server ") == 3 and text.endswith("  Server 3:\n    Package-Vers: 2.12(0.498)\n"
                                                            "    Upgrade-Status: Ready")


async def test_lab_runs_a_chassis_with_its_hosted_ftd(tmp_path, images):
    """The chassis in a Lab: endpoints, control API, a REST-driven upgrade, the
    hosted FTD down with its chassis and back on its own SSH port."""
    from simulator.lab import Lab

    async with Lab("fxos-4100-standalone", state_dir=tmp_path / "lab", virtual_time=True, seed=4) as lab:
        chassis, ftd = lab.devices["fpr4k-1"], lab.devices["ftd-1"]
        entries = {d["name"]: d for d in lab.endpoints()["devices"]}
        assert entries["fpr4k-1"]["kind"] == "fxos" and entries["fpr4k-1"]["modules"][0]["apps"][0]["device"] == "ftd-1"
        assert entries["ftd-1"]["chassis"] == {"name": "fpr4k-1", "slot": 1}
        url = entries["fpr4k-1"]["https"]["url"]
        async with httpx.AsyncClient(base_url=url, verify=False, timeout=10) as client, \
                httpx.AsyncClient(base_url=lab.control.url) as control:
            devices = (await control.get("/api/devices")).json()["items"]
            assert {d["name"]: d["kind"] for d in devices} == {"fpr4k-1": "fxos", "ftd-1": "ftd"}
            h = {"TOKEN": await rest_login(client, "")}
            body = {"firmwareDownloader": [{"protocol": "scp", "port": str(images[0]), "user": "images",
                                            "pwd": "secret", "server": "127.0.0.1", "remotePath": "/images",
                                            "dn": f"sys/fw-catalogue/dnld-{BUNDLE}"}]}
            assert (await client.post("/api/sys/firmware/dnld/", headers=h, json=body)).status_code == 200
            await lab.settle()
            await lab.clock.run_until(lambda: any(t.state == "Downloaded" for t in chassis.downloads.values()))
            r = await client.patch("/api/sys/firmware/sched-platform-fw", headers=h,
                                   json={"firmwareInfraPack": [{"platformBundleVersion": TARGET}]})
            assert r.status_code == 200, r.text
            await lab.clock.run_until(lambda: ftd.state == "off")
            await lab.settle()
            with pytest.raises(OSError):
                await connect(entries["ftd-1"]["ssh"]["port"])
            r = await control.post("/api/devices/ftd-1/power", json={"action": "on"})
            assert r.status_code == 409 and "starts when its chassis is up" in r.json()["error"]
            await lab.clock.run_until(lambda: chassis.version == TARGET and ftd.state == "online")
            await lab.settle()
        async with await connect(entries["ftd-1"]["ssh"]["port"]) as conn:
            assert "Version 7.2.5" in (await conn.run("show version")).stdout
        assert ftd.fxos_version == TARGET
