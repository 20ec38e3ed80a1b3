"""The simulated Cisco ASA: version rules, the device model, failover pairs
(Active/Standby and Active/Active) and the zero-downtime upgrade procedures of
seeds 002 and 003, driven through SSH on a small rig of its own (virtual time,
one asyncssh listener per unit that closes while the unit reloads)."""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from simulator.clock import Clock
from simulator.faults import FaultPlan
from simulator.journal import Journal
from simulator.kinds.asa.disk import header_of, stand_in
from simulator.kinds.asa.facts import asa_data
from simulator.kinds.asa.failover import AsaFailoverPair
from simulator.kinds.asa.images import write_image
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.asa.ssh import SSH
from simulator.kinds.asa.versions import (
    AsaVersion,
    ImageName,
    image_name,
    upgrade_step,
    zero_downtime,
)
from simulator.kinds.asa.views import show_failover
from simulator.kinds.asa.worker import AsaDiskWorker
from simulator.kinds.base import DeviceContext, Refused
from simulator.surfaces.ssh.server import SSHSurface
from simulator.traffic import TrafficMonitor
from tests.conftest import Terminal as SshTerminal

START = 1_700_000_000.0
PASSWORD = "Admin123"
_HOST_KEY = asyncssh.generate_private_key("ssh-ed25519")


# -- the rig ----------------------------------------------------------------------------------------
class Rig:
    """Two ASA units in a failover pair, their SSH listeners and a traffic monitor."""

    def __init__(self, tmp: Path, *, model: str = "ASAv", version: str = "9.19(1)", mode: str = "active-standby",
                 groups: dict[int, dict[str, Any]] | None = None, vpn_tunnels: int = 2, seed: int = 7) -> None:
        self.tmp = tmp
        self.clock = Clock(virtual=True, start=START)
        self.journal = Journal(self.clock.now)
        self.faults = FaultPlan(lambda: self.clock.now() - START, random.Random(seed))
        self.ctx = DeviceContext(self.clock, self.journal, self.faults, random.Random(seed))
        self.a = AsaDevice(self.ctx, "asa-a", model, version, hostname="fw")
        self.b = AsaDevice(self.ctx, "asa-b", model, version, hostname="fw")
        self.pair = AsaFailoverPair("fw-pair", self.a, self.b, mode=mode, groups=groups, vpn_tunnels=vpn_tunnels)
        self.traffic = TrafficMonitor("fw-pair", self.clock, self.journal, [self.a.name, self.b.name],
                                      self.pair.traffic_up, self.pair.carries)
        # The lab's own SSH surface and disk0: workers: each unit's file system root is its disk0:;
        # `copy` reads local paths from there and from the import directory.
        self.ssh = SSHSurface(self.journal, "127.0.0.1", _HOST_KEY)
        for unit in (self.a, self.b):
            unit.import_dir = tmp / "import"
        self.workers = {unit.name: AsaDiskWorker(unit, tmp / unit.name).attach() for unit in (self.a, self.b)}
        for unit in (self.a, self.b):
            self.ssh.add(unit, 0, self.disk(unit), SSH)

    def disk(self, unit: AsaDevice) -> Path:
        """The folder behind a unit's disk0:."""
        return self.workers[unit.name].folder

    async def start(self) -> Rig:
        await self.ssh.start()
        return self

    async def settle(self) -> None:
        await self.ssh.settled()
        for worker in self.workers.values():
            await worker.settled()

    async def run_until(self, predicate, limit: float = 3600) -> None:
        assert await self.clock.run_until(predicate, limit=limit), "condition not reached in simulated time"
        await self.settle()

    async def stop(self) -> None:
        for unit in (self.a, self.b):
            unit.power_off()
        await self.settle()
        await self.ssh.stop()
        for worker in self.workers.values():
            worker.detach()
        self.traffic.close()
        self.pair.close()

    def port(self, device: AsaDevice) -> int:
        return self.ssh.endpoints[device.name].port

    def state(self, device: AsaDevice, group: int = 1) -> str:
        return self.pair.state_of[group][device.name]


class Terminal(SshTerminal):
    """An interactive SSH session on an ASA: `\n` line ends in all it reads, `#` prompts."""

    async def read_until(self, pattern: str, timeout: float = 5) -> str:
        return (await super().read_until(pattern, timeout)).replace("\r\n", "\n")

    async def cmd(self, line: str, prompt: str = r"# $") -> str:
        return await self.answer(line, prompt)

    async def answer(self, line: str, until: str) -> str:
        self.proc.stdin.write(line + "\r")
        return await self.read_until(until)


async def login(port: int, *, enable: bool = True, password: str = PASSWORD) -> Terminal:
    conn = await asyncssh.connect("127.0.0.1", port, username="admin", password=password, known_hosts=None)
    proc = await conn.create_process(term_type="vt100")
    term = Terminal(conn, proc)
    await term.read_until(r"> $")
    if enable:
        await term.answer("enable", "Password: ")
        await term.answer(PASSWORD, r"# $")
        await term.cmd("terminal pager 0")
    return term


# -- versions and the zero-downtime rule (seed 002, table 81-1) -----------------------------------------
def test_version_parsing_and_image_names():
    v = AsaVersion.parse("9.18(4)5")
    assert (v.major, v.minor, v.maintenance, v.interim) == (9, 18, 4, 5)
    assert str(v) == "9.18(4)5" and str(AsaVersion.parse("9.20(2)")) == "9.20(2)"
    assert AsaVersion.parse("9.8(4)10") < AsaVersion.parse("9.12(1)") < AsaVersion.parse("9.12(1)2")
    assert AsaVersion.parse("9.20.2") == AsaVersion.parse("9.20(2)")
    with pytest.raises(ValueError):
        AsaVersion.parse("7.4.1-172")
    cases = {"asa9-20-2-smp-k8.bin": ("smp", "9.20(2)"), "asa9-18-4-5-lfbff-k8.SPA": ("lfbff", "9.18(4)5"),
             "asa952-2-lfbff-k8.SPA": ("lfbff", "9.5(2)2"), "asa984-10-smp-k8.bin": ("smp", "9.8(4)10"),
             "asa9121-smp-k8.bin": ("smp", "9.12(1)"), "cisco-asa-fp2k.9.20.2.SPA": ("fp2k", "9.20(2)"),
             "asav9-20-2.zip": ("asav", "9.20(2)")}
    for name, (family, version) in cases.items():
        image = ImageName.parse(name)
        assert image is not None and (image.family, str(image.version)) == (family, version), name
    assert ImageName.parse("asdm-7181.bin") is None and ImageName.parse("notes.txt") is None
    assert image_name("smp", AsaVersion.parse("9.20(2)")) == "asa9-20-2-smp-k8.bin"
    assert image_name("fp2k", AsaVersion.parse("9.18(4)5")) == "cisco-asa-fp2k.9.18.4.5.SPA"


def test_zero_downtime_table_of_seed_002():
    trains = {7: ["7.0", "7.1", "7.2"], 8: ["8.0", "8.1", "8.2"]}
    step = lambda a, b: upgrade_step(AsaVersion.parse(a), AsaVersion.parse(b), trains)  # noqa: E731
    # the seed's own examples
    assert step("7.0(1)", "7.0(4)").kind == "maintenance" and step("7.0(1)", "7.0(4)").supported
    assert step("7.0(1)", "7.1(1)").supported and step("7.0(1)", "7.1(1)").kind == "minor"
    assert not step("7.0(1)", "7.2(1)").supported and step("7.0(1)", "7.2(1)").reason == "skipped_minor"
    assert step("7.2(1)", "8.0(1)").supported and step("7.2(1)", "8.0(1)").kind == "major"
    assert step("7.1(1)", "8.0(1)").reason == "not_last_minor"
    assert step("7.2(1)", "8.1(1)").reason == "skipped_minor"
    # with the real train table: there is no 9.11, so 9.10 -> 9.12 is one minor step
    assert zero_downtime("9.10(1)", "9.12(4)").supported
    assert not zero_downtime("9.18(4)5", "9.20(2)").supported
    assert zero_downtime("9.19(1)", "9.20(2)").supported
    assert zero_downtime("9.20(2)", "9.19(1)").supported          # the pair runs either way round
    assert zero_downtime("8.7(1)", "9.0(1)").supported and not zero_downtime("8.6(1)", "9.0(1)").supported
    assert "9.23" in asa_data().trains[9] and "9.11" not in asa_data().trains[9]


# -- the device model ----------------------------------------------------------------------------------
def _device(version: str = "9.19(1)", model: str = "ASAv") -> tuple[Clock, AsaDevice]:
    clock = Clock(virtual=True, start=START)
    ctx = DeviceContext(clock, Journal(clock.now), FaultPlan(lambda: 0.0), random.Random(1))
    return clock, AsaDevice(ctx, "asa-1", model, version, hostname="edge")


def arrive(unit: AsaDevice, name: str, version: str, size: int = 4096) -> None:
    """A stand-in image of `version` lands in the unit's disk0: (what its worker reports)."""
    data = stand_in(version, size)
    unit.file_arrived(name, size, header_of(data), hashlib.md5(data).hexdigest())


async def test_reload_boots_the_first_bootable_boot_system_image():
    clock, asa = _device()
    assert asa.version == "9.19(1)" and asa.image == "asa9-19-1-smp-k8.bin"
    assert asa.disk.file("asa9-19-1-smp-k8.bin") is not None     # its bytes: test_disk_worker_keeps_disk0_in_step
    arrive(asa, "asa9-20-2-smp-k8.bin", "9.20(2)")
    asa.add_boot_system("disk0:/missing.bin")
    asa.add_boot_system("disk0:/asa9-20-2-smp-k8.bin")
    # lines are tried in order: the old image, listed first, still wins
    asa.write_memory()
    assert asa.next_version() == "9.19(1)"
    assert asa.remove_boot_system("disk0:/asa9-19-1-smp-k8.bin")
    # not saved: the startup configuration still boots the old image
    assert asa.next_version() == "9.19(1)" and asa.config_modified
    asa.write_memory()
    assert asa.next_version() == "9.20(2)" and not asa.config_modified
    asa.reload()
    assert asa.state == "reloading" and not asa.services_up
    await clock.run_until(lambda: asa.state == "booting")
    await clock.run_until(lambda: asa.state == "online")
    assert asa.version == "9.20(2)" and asa.image == "asa9-20-2-smp-k8.bin"
    assert asa.boot_variable == ["disk0:/missing.bin", "disk0:/asa9-20-2-smp-k8.bin"]


async def test_missing_image_falls_back_then_rommon():
    clock, asa = _device()
    asa.clear_boot_system()
    asa.add_boot_system("disk0:/asa9-20-2-smp-k8.bin")       # never copied
    asa.write_memory()
    asa.reload()
    await clock.run_until(lambda: asa.state == "online")
    assert asa.version == "9.19(1)"                            # the first image in disk0:
    assert any(e["kind"] == "boot.fallback" for e in asa.ctx.journal.events)
    # an image this hardware cannot run does not boot either; with nothing left: ROMMON
    asa.delete_file("asa9-19-1-smp-k8.bin")
    arrive(asa, "asa9-16-4-lfbff-k8.SPA", "9.16(4)")   # another family
    asa.reload()
    await clock.run_until(lambda: asa.state in ("online", "rommon"))
    assert asa.state == "rommon" and not asa.services_up
    asa.reimage("9.20(2)")
    await clock.run_until(lambda: asa.state == "online")
    assert asa.version == "9.20(2)" and asa.running["boot_system"] == ["disk0:/asa9-20-2-smp-k8.bin"]


async def test_snapshot_restore_resumes_a_reload():
    clock, asa = _device()
    asa.set_hostname("fw-x")
    asa.write_memory()
    asa.reload()
    data = asa.snapshot()
    ctx = DeviceContext(clock, Journal(clock.now), FaultPlan(lambda: 0.0), random.Random(2))
    again = AsaDevice(ctx, "asa-1", "ASAv", "9.19(1)")
    again.restore(data)
    assert again.state == "booting" and again.serial == asa.serial
    await clock.run_until(lambda: again.state == "online")
    assert again.hostname == "fw-x"


def test_unknown_model_and_unsupported_release_are_refused():
    clock = Clock(virtual=True, start=START)
    ctx = DeviceContext(clock, Journal(clock.now))
    with pytest.raises(ValueError, match="unknown ASA model"):
        AsaDevice(ctx, "x", "ASA9999", "9.19(1)")
    with pytest.raises(ValueError, match="runs ASA 9.3 to 9.16"):
        AsaDevice(ctx, "x", "ASA5516-X", "9.20(2)")


# -- the CLI ------------------------------------------------------------------------------------------------
async def test_login_banner_enable_prompts_and_errors(rig):
    r = await rig()
    conn = await asyncssh.connect("127.0.0.1", r.port(r.a), username="admin", password=PASSWORD, known_hosts=None)
    proc = await conn.create_process(term_type="vt100")
    term = Terminal(conn, proc)
    out = await term.read_until(r"fw> $")
    assert "User admin logged in to fw" in out and "Logins over the last 1 days: 1." in out
    assert "Failed logins since the last login: 0." in out
    assert "Type help or '?' for a list of available commands." in out
    assert "P_UNPR" in await term.cmd("show curpriv", r"fw> $")
    await term.answer("enable", "Password: ")
    out = await term.answer("wrong", "Password: ")
    assert "Invalid password" in out
    await term.answer(PASSWORD, r"fw# $")
    out = await term.cmd("show curpriv")
    assert "Username : enable_15" in out and "Current privilege level : 15" in out and "P_PRIV" in out
    out = await term.cmd("show bogus")
    lines = out.split("\n")
    caret = next(i for i, ln in enumerate(lines) if ln.strip() == "^")
    assert lines[caret].index("^") == len("fw# show ")
    assert lines[caret + 1] == "ERROR: % Invalid input detected at '^' marker."
    assert await term.cmd("copy") == "copy\nERROR: % Incomplete command\nfw# "
    assert await term.cmd("d") == 'd\nERROR: % Ambiguous command:  "d"\nfw# '
    assert "running-config" in await term.cmd("show ?")
    await term.cmd("configure terminal", r"fw\(config\)# $")
    await term.cmd("prompt hostname priority state", r"fw/pri/act\(config\)# $")
    await term.cmd("end", r"fw/pri/act# $")
    assert "Cisco Adaptive Security Appliance Software Version 9.19(1)" in await term.cmd("show version | include Version")
    out = await term.cmd("show failover | include host|Version")          # alternation in a pipe
    assert "This host: Primary - Active" in out and "Other host: Secondary - Standby Ready" in out
    assert "Version: Ours 9.19(1), Mate 9.19(1)" in out and "ERROR" not in out
    # paging: 24 lines then <--- More --->
    await term.cmd("terminal pager 24", r"fw/pri/act# $")
    term.proc.stdin.write("show running-config\r")
    await term.read_until("<--- More --->")
    term.proc.stdin.write("q")
    await term.read_until(r"fw/pri/act# $")
    await term.cmd("no terminal pager", r"fw/pri/act# $")        # as Ansible's cisco.asa does first
    assert "<--- More --->" not in await term.cmd("show running-config", r"fw/pri/act# $")
    out = await term.cmd("exit", r"Logoff")
    assert "Logoff" in out
    with pytest.raises(EOFError):
        await term.read_until("never")
    # the standby's prompt, and the replication warning when it is configured
    term = await login(r.port(r.b))
    await term.cmd("configure terminal")
    out = await term.cmd("hostname other", r"\(config\)# $")
    assert "**** WARNING **** Configuration Replication is NOT performed from Standby unit to Active unit." in out
    assert r.a.hostname == "fw"                 # nothing flows from the standby to the active unit
    await term.close()


async def test_netmiko_login_command_and_exec_requests(rig):
    r = await rig()
    conn = await asyncssh.connect("127.0.0.1", r.port(r.a), username="admin", password=PASSWORD, known_hosts=None)
    result = await conn.run("show failover | include host")
    assert "This host: Primary - Active" in result.stdout
    conn.close()
    term = await login(r.port(r.a), enable=False)
    await term.answer("login", "Username: ")
    await term.answer("admin", "Password: ")
    await term.answer(PASSWORD, r"fw# $")
    assert "Username : admin" in await term.cmd("show curpriv")
    await term.close()


async def test_copy_from_http_dir_bootvar_write_memory(rig, images):
    r = await rig()
    term = await login(r.port(r.a))
    url = images("asa9-20-2-smp-k8.bin")
    term.proc.stdin.write(f"copy {url} disk0:/asa9-20-2-smp-k8.bin\r")
    assert "Address or name of remote host [127.0.0.1]?" in await term.read_until(r"\]\? $")
    assert "Source filename [asa9-20-2-smp-k8.bin]?" in await term.answer("", r"\]\? $")
    assert "Destination filename [asa9-20-2-smp-k8.bin]?" in await term.answer("", r"\]\? $")
    out = await term.answer("", r"# $")
    assert f"Accessing {url}..." in out and "Writing file disk0:/asa9-20-2-smp-k8.bin..." in out
    assert re.search(r"65536 bytes copied in [\d.]+ secs \(\d+ bytes/sec\)", out)
    assert (r.disk(r.a) / "asa9-20-2-smp-k8.bin").stat().st_size == 65536
    out = await term.cmd("dir disk0:")
    assert "Directory of disk0:/" in out and "asa9-20-2-smp-k8.bin" in out and "bytes free" in out
    out = await term.cmd(f"copy /noconfirm {url.replace('.bin', '.nope')} disk0:")
    assert "%Error opening" in out and "(No such file or directory)" in out
    out = await term.cmd("verify /md5 disk0:/asa9-20-2-smp-k8.bin")
    assert re.search(r"verify /MD5 \(disk0:/asa9-20-2-smp-k8.bin\) = [0-9a-f]{32}", out)
    await term.cmd("configure terminal")
    await term.cmd("boot system disk0:/asa9-20-2-smp-k8.bin")
    await term.cmd("end")
    out = await term.cmd("show bootvar")
    assert "BOOT variable = disk0:/asa9-19-1-smp-k8.bin\n" in out
    assert "Current BOOT variable = disk0:/asa9-19-1-smp-k8.bin;disk0:/asa9-20-2-smp-k8.bin" in out
    out = await term.cmd("write memory")
    assert "Building configuration..." in out and "Cryptochecksum:" in out and "[OK]" in out
    # `write memory` on the active unit is saved on the standby too
    assert r.b.startup["boot_system"] == r.a.startup["boot_system"]
    assert "boot system disk0:/asa9-20-2-smp-k8.bin" in await term.cmd("show running-config boot system")
    out = await term.cmd("show running-config failover")
    assert "failover lan unit primary" in out and "failover lan interface folink GigabitEthernet0/2" in out
    await term.close()


async def test_reload_asks_to_save_then_confirm(rig):
    r = await rig()
    term = await login(r.port(r.b))          # the standby: no traffic impact
    await term.cmd("configure terminal")
    await term.cmd("hostname changed", r"\(config\)# $")
    term.proc.stdin.write("reload\r")
    await term.read_until(r"System config has been modified. Save\? \[Y\]es/\[N\]o: $")
    await term.answer("N", r"Proceed with reload\? \[confirm\]$")
    out = await term.answer("n", r"# $")
    assert r.b.state == "online"
    term.proc.stdin.write("reload\r")
    await term.read_until(r"Save\? \[Y\]es/\[N\]o: $")
    out = await term.answer("Y", r"Proceed with reload\? \[confirm\]$")
    assert "[OK]" in out
    out = await term.answer("", "SHUTDOWN NOW ---")
    assert "*** --- START GRACEFUL SHUTDOWN ---" in out
    assert r.b.state == "reloading"
    with pytest.raises(EOFError):
        await term.read_until("never")
    assert not term.buffer.rstrip().endswith("#"), term.buffer      # no prompt after SHUTDOWN NOW
    await r.settle()
    with pytest.raises(OSError):
        await asyncssh.connect("127.0.0.1", r.port(r.b), username="admin", password=PASSWORD, known_hosts=None)
    await r.run_until(lambda: r.state(r.b) == "Standby Ready")
    assert r.b.hostname == "fw"          # the active unit's configuration came back with Sync Config
    assert r.traffic.outages == []


class _ScpServer(asyncssh.SSHServer):
    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == ("files", "secret")


async def test_copy_from_scp_local_files_delete_and_a_corrupt_transfer(rig, tmp_path):
    r = await rig()
    root = tmp_path / "scp-root"
    root.mkdir()
    write_image(root / "asa9-20-2-smp-k8.bin", "9.20(2)", size=20000)
    server = await asyncssh.create_server(
        _ScpServer, "127.0.0.1", 0, server_host_keys=[_HOST_KEY], allow_scp=True,
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()))
    port = server.sockets[0].getsockname()[1]
    try:
        term = await login(r.port(r.a))
        term.proc.stdin.write(f"copy scp://files@127.0.0.1:{port}/asa9-20-2-smp-k8.bin disk0:\r")
        assert "Address or name of remote host [127.0.0.1]?" in await term.read_until(r"\]\? $")
        assert "Source username [files]?" in await term.answer("", r"\]\? $")
        assert "Source filename [asa9-20-2-smp-k8.bin]?" in await term.answer("", r"\]\? $")
        assert "Destination filename [asa9-20-2-smp-k8.bin]?" in await term.answer("", r"\]\? $")
        assert "Accessing scp://files@127.0.0.1" in await term.answer("", "Password: ")
        out = await term.answer("secret", r"# $")
        assert "20000 bytes copied in" in out and r.a.image_of("asa9-20-2-smp-k8.bin") is not None
        out = await term.cmd(f"copy /noconfirm scp://files:wrong@127.0.0.1:{port}/asa9-20-2-smp-k8.bin disk0:/x.bin")
        assert "(Permission denied)" in out
        # a file of the lab's import directory, and a copy inside disk0:
        (r.tmp / "import").mkdir()
        (r.tmp / "import" / "notes.txt").write_text("hello")
        out = await term.cmd(f"copy /noconfirm {r.tmp / 'import' / 'notes.txt'} disk0:/notes.txt")
        assert "INFO: No digital signature found" in out and "5 bytes copied" in out
        out = await term.cmd("copy /noconfirm disk0:/notes.txt disk0:/notes2.txt")
        assert "5 bytes copied" in out
        # delete asks for the name and a confirmation; /replicate deletes on the mate too
        term.proc.stdin.write("delete disk0:/notes2.txt\r")
        assert "Delete filename [notes2.txt]?" in await term.read_until(r"\]\? $")
        assert "Delete disk0:/notes2.txt? [confirm]" in await term.answer("", r"\[confirm\]$")
        await term.answer("", r"# $")
        assert not (r.disk(r.a) / "notes2.txt").exists()
        assert "No such file" in await term.cmd("delete /noconfirm disk0:/notes2.txt")
        # a transfer cut short by the fault plan leaves an image that does not boot
        r.faults.add("package.transfer", "corrupt", device=r.a.name)
        await term.cmd(f"copy /noconfirm scp://files:secret@127.0.0.1:{port}/asa9-20-2-smp-k8.bin disk0:/c.bin")
        await term.cmd("copy /noconfirm disk0:/c.bin disk0:/asa9-20-2-smp-k8.bin")
        assert r.a.image_of("asa9-20-2-smp-k8.bin") is None
        assert "Verifying file integrity" in await term.cmd("verify disk0:/asa9-20-2-smp-k8.bin")
        r.faults.add("package.transfer", "disk_full", device=r.a.name)
        out = await term.cmd("copy /noconfirm disk0:/notes.txt disk0:/n3.txt")
        assert "No space left on device" in out
        await term.close()
    finally:
        server.close()


async def test_show_failover_state_write_erase_and_failover_exec(rig):
    r = await rig()
    term = await login(r.port(r.a))
    out = await term.cmd("show failover state")
    assert "This host  -   Primary" in out and "Active         None" in out and "Sync Done" in out
    out = await term.cmd("failover exec mate show failover | include This host")
    assert "This host: Secondary - Standby Ready" in out
    out = await term.cmd("failover exec standby show curpriv")
    assert "P_PRIV" in out
    term.proc.stdin.write("write erase\r")
    await term.read_until(r"Erase configuration in flash memory\? \[confirm\]$")
    assert "[OK]" in await term.answer("", r"# $")
    assert r.a.startup["boot_system"] == [] and r.a.config_modified
    r.b.power_off()
    await r.clock.advance(1)
    out = await term.cmd("show failover state")
    assert "Comm Failure" not in out and "Not Detected" in out
    await term.close()


async def copy_to_both(term, url: str, name: str) -> str:
    """Copy an image to this unit's disk0: and, through `failover exec mate`, its mate's (seed 003 step 1)."""
    await term.cmd(f"copy /noconfirm {url} disk0:/{name}")
    return await term.cmd(f"failover exec mate copy /noconfirm {url} disk0:/{name}")


# -- seed 003: Active/Standby zero-downtime upgrade, end to end through SSH --------------------------------
async def test_active_standby_upgrade_of_seed_003(rig, images):
    r = await rig(version="9.19(1)")
    new = "asa9-20-2-smp-k8.bin"
    url = images(new)
    active = await login(r.port(r.a))
    # Step 1: download the new software to both units; boot system on both
    out = await copy_to_both(active, url, new)
    assert "bytes copied in" in out
    assert (r.disk(r.b) / new).is_file()
    await active.cmd("configure terminal")
    assert "WARNING" not in await active.cmd("no boot system disk0:/asa9-19-1-smp-k8.bin")
    await active.cmd(f"boot system disk0:/{new}")
    await active.cmd("boot system disk0:/asa9-19-1-smp-k8.bin")
    await active.cmd("end")
    standby = await login(r.port(r.b))
    await standby.cmd("configure terminal")
    out = await standby.cmd(f"boot system disk0:/{new}")         # already replicated: nothing added
    assert "Configuration Replication is NOT performed" in out
    await standby.cmd("end")
    assert r.b.running["boot_system"] == [f"disk0:/{new}", "disk0:/asa9-19-1-smp-k8.bin"]
    await active.cmd("write memory")
    assert r.b.next_version() == "9.20(2)" and r.a.next_version() == "9.20(2)"
    await standby.close()

    # Step 2: reload the standby from the active unit
    out = await active.cmd("failover reload-standby")
    assert "WARNING" not in out
    assert r.b.state == "reloading" and r.traffic.up
    await r.run_until(lambda: r.state(r.b) == "Standby Ready")
    assert r.b.version == "9.20(2)" and r.a.version == "9.19(1)"
    out = await active.read_until(r"Mate version 9.20\(2\) is not identical with ours 9.19\(1\)")
    out = await active.cmd("show failover")
    assert "Version: Ours 9.19(1), Mate 9.20(2)" in out
    assert "This host: Primary - Active" in out and "Other host: Secondary - Standby Ready" in out
    assert r.pair.state == "mixed"

    # Step 3: the standby is Standby Ready: the active unit gives up the active role
    out = await active.cmd("no failover active", r"fw# $")
    assert r.pair.active == r.b.name and r.state(r.a) == "Standby Ready"
    # seed 003 troubleshooting: the new active unit logs %ASA-5-720012 while the mate runs the old version
    await r.clock.advance(asa_data().failover.vpn_update_interval + 1)
    newactive = await login(r.port(r.b))
    out = await newactive.cmd("show logging")
    assert ("%ASA-5-720012: (VPN-Secondary) Failed to update IPSec failover runtime data on the standby unit."
            in out)
    out = await newactive.cmd("write standby")
    assert "Building configuration..." in out and "[OK]" in out
    logged = len(r.b.syslog)
    await r.clock.advance(300)
    assert len(r.b.syslog) == logged                    # `wr standby` resolved it
    await newactive.close()

    # Step 4: reload the former active unit (now the new standby)
    term_prompt = r"fw# $"
    active.proc.stdin.write("reload\r")
    await active.read_until(r"Proceed with reload\? \[confirm\]$")
    await active.answer("", "SHUTDOWN NOW")
    with pytest.raises(EOFError):
        await active.read_until("never")
    await r.run_until(lambda: r.state(r.a) == "Standby Ready")
    assert r.a.version == "9.20(2)" and r.pair.state == "healthy"

    # Step 5: return the original active unit to active status
    newstandby = await login(r.port(r.a))
    assert "Standby Ready" in await newstandby.cmd("show failover | include This host", term_prompt)
    await newstandby.cmd("failover active", term_prompt)
    assert r.pair.active == r.a.name and r.state(r.b) == "Standby Ready"
    out = await newstandby.cmd("show failover")
    assert "Version: Ours 9.20(2), Mate 9.20(2)" in out and "This host: Primary - Active" in out
    await newstandby.close()
    # traffic never stopped: every role change was a stateful switchover
    assert r.traffic.outages == [] and r.traffic.up
    assert r.pair.takeovers == []                            # nothing happened on its own
    assert [e["cause"] for e in r.journal.select(kind="ha.failover")] == [
        "no failover active", "failover active"]


async def test_skipped_minor_release_is_warned_and_failover_stays_off(rig, images):
    r = await rig(version="9.18(4)5")
    new = "asa9-20-2-smp-k8.bin"
    url = images(new)
    term = await login(r.port(r.a))
    await copy_to_both(term, url, new)
    await term.cmd("configure terminal")
    await term.cmd("clear configure boot system")
    out = await term.cmd(f"boot system disk0:/{new}")
    assert "not supported for zero-downtime upgrades" in out and "Upgrade to 9.19 first" in out
    await term.cmd("end")
    await term.cmd("write memory")
    out = await term.cmd("failover reload-standby")
    assert "WARNING: Upgrading from 9.18(4)5 to 9.20(2) skips a minor release" in out
    await r.run_until(lambda: r.b.state == "online")
    await r.clock.advance(60)
    assert r.state(r.b) == "Disabled" and r.pair.state == "incompatible"
    out = await term.read_until(r"Mate version 9.20\(2\) is not compatible with ours 9.18\(4\)5")
    out = await term.cmd("no failover active")
    assert "cannot take over" in out and r.pair.active == r.a.name
    assert r.traffic.outages == []
    # the only way on is an outage: reload the active unit too (nothing can take over)
    r.a.reload()
    await r.clock.advance(1)
    assert not r.traffic.up
    await r.run_until(lambda: r.pair.traffic_up())
    await r.run_until(lambda: r.state(r.b) == "Standby Ready")
    assert r.a.version == r.b.version == "9.20(2)" and r.pair.active == r.a.name
    assert len(r.traffic.outages) == 1 and r.traffic.lost_seconds() > 100
    assert r.pair.takeovers == []


# -- seed 003: Active/Active with failover groups ------------------------------------------------------------
async def test_active_active_upgrade_of_seed_003(rig, images):
    r = await rig(model="ASA5516-X", version="9.15(1)10", mode="active-active",
                  groups={1: {"unit": "primary", "preempt": 30}, 2: {"unit": "secondary", "preempt": None}})
    assert r.pair.active_of == {1: r.a.name, 2: r.b.name}
    new = "asa9-16-4-lfbff-k8.SPA"
    url = images(new)
    primary = await login(r.port(r.a))
    out = await primary.cmd("show failover")
    assert "Group 1 State: Active" in out and "Group 2 State: Standby Ready" in out
    # Step 1: software to both units, boot system (replicated), saved on both
    await copy_to_both(primary, url, new)
    await primary.cmd("configure terminal")
    await primary.cmd("clear configure boot system")
    await primary.cmd(f"boot system disk0:/{new}")
    await primary.cmd("end")
    await primary.cmd("write memory")
    assert r.b.next_version() == "9.16(4)"
    # Step 2: both failover groups active on the primary unit
    await primary.cmd("failover active")
    assert r.pair.active_of == {1: r.a.name, 2: r.a.name}
    # Step 3: reload the secondary from the primary
    await primary.cmd("failover reload-standby")
    await r.run_until(lambda: all(r.state(r.b, g) == "Standby Ready" for g in (1, 2)))
    assert r.b.version == "9.16(4)"
    # Step 4: both groups active on the secondary unit
    await primary.cmd("no failover active")
    assert r.pair.active_of == {1: r.b.name, 2: r.b.name}
    # Step 5: both groups Standby Ready on the primary, then reload it
    assert all(r.state(r.a, g) == "Standby Ready" for g in (1, 2))
    primary.proc.stdin.write("reload\r")
    await primary.read_until(r"Proceed with reload\? \[confirm\]$")
    await primary.answer("", "SHUTDOWN NOW")
    await r.run_until(lambda: r.a.state == "online" and r.state(r.a, 1) == "Standby Ready")
    assert r.a.version == "9.16(4)"
    # Step 6: group 1 (preempt 30) goes back to the primary by itself after the delay ...
    ready_at = r.clock.now()
    await r.run_until(lambda: r.pair.active_of[1] == r.a.name)
    assert r.clock.now() - ready_at == pytest.approx(30, abs=1)
    assert r.pair.active_of[2] == r.b.name
    # ... and a group without preempt is moved with `failover active group N`
    secondary = await login(r.port(r.b))
    await secondary.cmd("no failover active group 2")
    assert r.pair.active_of[2] == r.a.name
    await secondary.cmd("failover active group 2")
    assert r.pair.active_of == {1: r.a.name, 2: r.b.name}
    out = await secondary.cmd("show failover")
    assert "Group 1 State: Standby Ready" in out and "Group 2 State: Active" in out
    assert "Version: Ours 9.16(4), Mate 9.16(4)" in out
    out = await secondary.cmd("failover active group 3")
    assert "Invalid input" in out
    await secondary.close()
    assert r.traffic.outages == []
    assert [t["cause"] for t in r.pair.takeovers] == ["preempt (group 1)"]


async def test_active_active_group_commands_and_preempt_config(rig):
    r = await rig(model="ASA5516-X", version="9.16(4)", mode="active-active")
    term = await login(r.port(r.a))
    await term.cmd("configure terminal")
    await term.cmd("failover group 2", r"\(config-fover-group\)# $")
    await term.cmd("preempt 45", r"\(config-fover-group\)# $")
    await term.cmd("exit", r"\(config\)# $")
    await term.cmd("end")
    assert r.pair.preempt_delay(2) == 45 and r.b.running["failover"]["groups"]["2"]["preempt"] == 45
    out = await term.cmd("show running-config failover")
    assert "failover group 2\n  secondary\n  preempt 45" in out
    # the secondary dies: group 2 comes to the primary after the hold time
    r.b.power_off()
    await r.clock.advance(1)
    assert not r.traffic.up
    await r.run_until(lambda: r.pair.active_of[2] == r.a.name)
    assert r.traffic.up and r.traffic.lost_seconds() == pytest.approx(asa_data().failover.unit_hold, abs=1)
    r.b.power_on()
    await r.run_until(lambda: r.pair.active_of[2] == r.b.name)      # preempt 45 after Standby Ready
    await term.close()


async def test_active_standby_takeover_after_hold_time_and_split_brain(rig):
    r = await rig()
    r.a.power_off()
    await r.clock.advance(1)
    assert not r.traffic.up and r.pair.active is None
    await r.run_until(lambda: r.pair.active == r.b.name)
    assert r.traffic.lost_seconds() == pytest.approx(15, abs=1)
    r.a.power_on()
    await r.run_until(lambda: r.state(r.a) == "Standby Ready")
    assert r.pair.active == r.b.name
    r.pair.set_link(False)
    assert r.state(r.a) == r.state(r.b) == "Active" and r.pair.state == "split_brain"
    term = await login(r.port(r.a))
    out = await term.cmd("show failover")
    assert "Other host: Secondary - Failed" in out and "Mate Unknown" in out
    r.pair.set_link(True)
    assert r.state(r.b) == "Active" and r.state(r.a) != "Active"
    await r.run_until(lambda: r.state(r.a) == "Standby Ready")
    await term.close()


async def test_failover_commands_refused_where_they_do_not_apply(rig):
    r = await rig()
    term = await login(r.port(r.b))
    assert "only be entered on the active unit" in await term.cmd("failover reload-standby")
    assert "only be entered on the active unit" in await term.cmd("write standby")
    assert "Active/Active" in await term.cmd("failover active group 1")
    assert await term.cmd("no failover active") == "no failover active\nfw# "
    await term.close()
    r.pair.set_link(False)
    r.pair.set_link(True)
    await r.run_until(lambda: r.state(r.b) == "Standby Ready")
    r.b.power_off()
    await r.settle()
    term = await login(r.port(r.a))
    assert "not available" in await term.cmd("failover reload-standby")
    assert "not available" in await term.cmd("failover exec mate show version")
    out = await term.cmd("show failover")
    assert "Other host: Secondary - Not Detected" in out
    await term.close()


def test_refusals_are_refused_objects():
    _clock, asa = _device()
    with pytest.raises(Refused):
        asa.delete_file("nothing.bin")
    with pytest.raises(Refused):
        asa.disk.check_name("../../etc/passwd")


async def test_pair_snapshot_restore(rig):
    r = await rig(mode="active-active", model="ASA5516-X", version="9.16(4)")
    await r.clock.advance(10)
    data = r.pair.snapshot()
    assert data["active_of"] == {"1": r.a.name, "2": r.b.name}
    r.pair.restore(data)
    assert r.pair.state == "healthy"
    assert show_failover(r.a).startswith("Failover On")


# -- a stateful property test over the pair (model level, virtual time) -----------------------------------
from hypothesis import HealthCheck, event, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule  # noqa: E402

UNITS = st.sampled_from(["asa-a", "asa-b"])
VERSIONS = st.sampled_from(["9.19(1)", "9.19(1)3", "9.20(2)", "9.18(4)5", "9.22(1)"])


class FailoverPairMachine(RuleBasedStateMachine):
    """Random operator actions, faults and time on a pair; the rules of failover always hold."""

    mode = "active-standby"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = Clock(virtual=True, start=START)
        self.journal = Journal(self.clock.now)
        self.ctx = DeviceContext(self.clock, self.journal, FaultPlan(lambda: 0.0), random.Random(3))

    @initialize(preempt=st.sampled_from([None, 0, 20]))
    def build(self, preempt):
        self.units = {n: AsaDevice(self.ctx, n, "ASAv", "9.19(1)", hostname="fw")
                      for n in ("asa-a", "asa-b")}
        groups = {1: {"preempt": preempt}, 2: {"preempt": preempt}} if self.mode == "active-active" else None
        self.pair = AsaFailoverPair("p", self.units["asa-a"], self.units["asa-b"], mode=self.mode, groups=groups,
                                    vpn_tunnels=1)

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def refused(self, call) -> None:
        try:
            call()
        except Refused:
            pass

    @rule(name=UNITS)
    def reload(self, name):
        if self.units[name].state == "online":
            self.units[name].reload()

    @rule(name=UNITS)
    def power_cycle(self, name):
        """A pulled cord put back: the unit is gone at once and boots again."""
        unit = self.units[name]
        unit.power_off(cause="test")
        unit.power_on()

    @rule(up=st.booleans())
    def link(self, up):
        self.pair.set_link(up)

    @rule(name=UNITS, group=st.sampled_from([None, 1, 2]))
    def failover_active(self, name, group):
        if self.units[name].state == "online" and (group is None or self.mode == "active-active"):
            self.refused(lambda: self.pair.failover_active(self.units[name], group))

    @rule(name=UNITS, group=st.sampled_from([None, 1, 2]))
    def no_failover_active(self, name, group):
        if self.units[name].state == "online" and (group is None or self.mode == "active-active"):
            self.refused(lambda: self.pair.no_failover_active(self.units[name], group))

    @rule(name=UNITS)
    def reload_standby(self, name):
        if self.units[name].state == "online":
            self.refused(lambda: self.pair.reload_standby(self.units[name]))

    @rule(name=UNITS, version=VERSIONS)
    def stage(self, name, version):
        """Copy an image and point the unit's saved boot configuration at it."""
        unit = self.units[name]
        if unit.state != "online":
            return
        image = image_name("smp", AsaVersion.parse(version))
        arrive(unit, image, version)
        unit.clear_boot_system()
        unit.add_boot_system(f"disk0:/{image}")
        unit.write_memory()

    @rule(version=VERSIONS)
    def upgrade_mate(self, version):
        """Seed 003 step 1-2 from the active unit: image on both, boot system, write memory, reload-standby."""
        active = self.pair.active_unit
        if active is None:
            return
        image = image_name("smp", AsaVersion.parse(version))
        for unit in self.units.values():
            arrive(unit, image, version)
        active.clear_boot_system()
        active.add_boot_system(f"disk0:/{image}")
        active.write_memory()
        self.refused(lambda: self.pair.reload_standby(active))

    @rule(seconds=st.sampled_from([1, 5, 16, 30, 120, 600]))
    def advance(self, seconds):
        self.run(self.clock.advance(seconds))

    @invariant()
    def one_active_per_group_unless_cut(self):
        if not hasattr(self, "pair"):
            return
        for g in self.pair.groups:
            active = [u for u in self.units.values() if self.pair.state_of[g][u.name] == "Active"
                      and u.state == "online"]
            assert len(active) <= 1 or not self.pair.link_up, (g, self.pair.state_of)

    @invariant()
    def no_automatic_failover_to_an_incompatible_version(self):
        if not hasattr(self, "pair"):
            return
        never = asa_data().failover.auto_failover_mixed == "never"
        for takeover in self.pair.takeovers:
            same = takeover["to_version"] == takeover["from_version"]
            assert same or (not never and zero_downtime(takeover["to_version"], takeover["from_version"]).supported), \
                takeover

    def teardown(self):
        try:
            if hasattr(self, "pair"):
                # a healthy link, both units up: one Active and one Standby Ready per group
                event(f"pair state before settling: {self.pair.state}")
                event(f"automatic takeovers: {bool(self.pair.takeovers)}")
                seen = {e["state"] for e in self.journal.select(kind="ha.state")}
                event(f"ran mixed versions: {'mixed' in seen}; incompatible: {'incompatible' in seen}")
                self.pair.set_link(True)
                for unit in self.units.values():
                    if unit.state == "off":
                        unit.power_on()
                    elif unit.state == "rommon":
                        unit.reimage()
                self.run(self.clock.run_until(
                    lambda: all(u.state == "online" for u in self.units.values()), limit=4000))
                self.run(self.clock.advance(600))
                mate_state = "Standby Ready" if self.pair.compatible else "Disabled"
                for g in self.pair.groups:
                    states = sorted(self.pair.state_of[g].values())
                    assert states == sorted(["Active", mate_state]), (g, self.pair.state_of, self.pair.snapshot())
                assert self.pair.traffic_up()
                self.pair.close()
        finally:
            self.loop.close()


class FailoverPairMachineAA(FailoverPairMachine):
    mode = "active-active"


_settings = settings(max_examples=100, stateful_step_count=40, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])
TestFailoverPairActiveStandby = FailoverPairMachine.TestCase
TestFailoverPairActiveStandby.settings = _settings
TestFailoverPairActiveActive = FailoverPairMachineAA.TestCase
TestFailoverPairActiveActive.settings = _settings


async def test_scp_into_disk0_and_dir_of_one_file(rig, tmp_path):
    r = await rig()
    local = write_image(tmp_path / "asa9-20-2-smp-k8.bin", "9.20(2)", size=12345)
    async with asyncssh.connect("127.0.0.1", r.port(r.a), username="admin", password=PASSWORD,
                                known_hosts=None) as conn:
        await asyncssh.scp(str(local), (conn, "disk0:/asa9-20-2-smp-k8.bin"))
    assert r.a.image_of("asa9-20-2-smp-k8.bin") is not None
    assert any(e["kind"] == "file" and e["name"] == "asa9-20-2-smp-k8.bin" for e in r.journal.events)
    term = await login(r.port(r.a))
    out = await term.cmd("dir disk0:/asa9-20-2-smp-k8.bin")
    assert "Directory of disk0:/asa9-20-2-smp-k8.bin" in out and " 12345 " in out and "log" not in out
    assert "%Error opening disk0:/nothing.bin (No such file or directory)" in await term.cmd("dir disk0:/nothing.bin")
    await term.close()
