"""The console surface driven by real clients (a telnet client over asyncio
streams with its own IAC handling, and asyncssh), the lab on virtual time."""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import httpx
import pytest

from simulator.clock import Clock
from simulator.journal import Journal
from simulator.kinds.base import DeviceContext
from simulator.kinds.ftd.console import CONSOLE
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.packages import inspect_package, make_package
from simulator.surfaces.console import ConsoleSurface
from simulator.surfaces.console.telnet import (
    DO,
    DONT,
    ECHO,
    IAC,
    IP,
    SB,
    SE,
    SGA,
    WILL,
    WONT,
    TelnetCodec,
)

NAWS, TTYPE = 31, 24


class TelnetClient:
    """A character-mode telnet client: accepts the server's ECHO and SGA,
    refuses everything else, keeps what the server printed."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.buffer = ""
        self.options: list[tuple[int, int]] = []     # (verb, option) the server sent
        self._state, self._verb = "data", 0

    @classmethod
    async def open(cls, port: int) -> TelnetClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    def _parse(self, data: bytes) -> None:
        out = bytearray()
        for b in data:
            if self._state == "data":
                if b == IAC:
                    self._state = "iac"
                else:
                    out.append(b)
            elif self._state == "iac":
                self._state = "data"
                if b in (WILL, WONT, DO, DONT):
                    self._verb, self._state = b, "option"
                elif b == SB:
                    self._state = "sb"
                elif b == IAC:
                    out.append(IAC)
            elif self._state == "option":
                self._state = "data"
                self.options.append((self._verb, b))
                if self._verb == WILL:
                    self.writer.write(bytes([IAC, DO if b in (ECHO, SGA) else DONT, b]))
                elif self._verb == DO:
                    self.writer.write(bytes([IAC, WILL if b == SGA else WONT, b]))
            elif self._state == "sb":
                self._state = "sb_iac" if b == IAC else "sb"
            elif self._state == "sb_iac":
                self._state = "data" if b == SE else "sb"
        self.buffer += out.decode("utf-8", errors="replace").replace("\r\n", "\n")

    async def read_until(self, pattern: str, timeout: float = 3) -> str:
        rx = re.compile(pattern)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (m := rx.search(self.buffer)):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no {pattern!r} in {self.buffer[-800:]!r}")
            try:
                data = await asyncio.wait_for(self.reader.read(65536), remaining)
            except asyncio.TimeoutError:
                continue
            if not data:
                raise EOFError(f"connection closed; got {self.buffer[-800:]!r}")
            self._parse(data)
        out, self.buffer = self.buffer[: m.end()], self.buffer[m.end():]
        return out

    async def quiet(self, seconds: float = 0.1) -> str:
        """Whatever arrives within `seconds` (wall time), consumed."""
        try:
            while data := await asyncio.wait_for(self.reader.read(65536), seconds):
                self._parse(data)
        except asyncio.TimeoutError:
            pass
        out, self.buffer = self.buffer, ""
        return out

    def send(self, text: str) -> None:
        """Typed keys; Enter goes out as CR LF (or CR NUL, as BSD telnet does)."""
        self.writer.write(text.replace("\n", "\r\n").encode())

    async def login(self, hostname: str = "ftd-1", password: str = "Admin123", prompted: bool = False) -> str:
        if not prompted:
            await self.read_until(rf"{hostname} login: $")
        self.send("admin\n")
        await self.read_until(r"Password: $")
        self.send(password + "\r\0")
        return await self.read_until(r"\n> $")

    async def cmd(self, line: str, prompt: str = r"\n> $") -> str:
        self.send(line + "\n")
        return await self.read_until(prompt)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


@dataclass
class Rig:
    clock: Clock
    journal: Journal
    device: FtdDevice
    surface: ConsoleSurface

    @property
    def port(self) -> int:
        return self.surface.endpoints[self.device.name].port

    @property
    def ssh_port(self) -> int:
        port = self.surface.endpoints[self.device.name].ssh_port
        assert port is not None
        return port

    async def client(self) -> TelnetClient:
        return await TelnetClient.open(self.port)

    async def until(self, state: str) -> None:
        assert await self.clock.run_until(lambda: self.device.state == state), self.device.state
        await self.surface.settled()


@pytest.fixture
async def make_rig(tmp_path: Path):
    surfaces: list[ConsoleSurface] = []

    async def make(model: str = "FTDv", name: str = "ftd-1") -> Rig:
        clock = Clock(virtual=True, start=1_767_225_600)
        journal = Journal(clock.now)
        ctx = DeviceContext(clock, journal, rng=random.Random(3))
        device = FtdDevice(ctx, name, model, "7.4.1-172", hostname=name)
        surface = ConsoleSurface(journal, "127.0.0.1")
        surface.add(device, 0, tmp_path / name, CONSOLE, ssh_port=0)
        await surface.start()
        surfaces.append(surface)
        return Rig(clock, journal, device, surface)

    yield make
    for surface in surfaces:
        await surface.stop()


@pytest.fixture
async def rig(make_rig) -> Rig:
    return await make_rig()


def in_order(text: str, *parts: str) -> None:
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} missing after offset {at} in {text!r}"
        at = found + len(part)


# -- login and the CLI --------------------------------------------------------------

async def test_login_prompt_and_the_ftd_cli(rig: Rig):
    term = await rig.client()
    assert (await term.read_until(r"ftd-1 login: $")).endswith("ftd-1 login: ")
    assert (WILL, ECHO) in term.options and (WILL, SGA) in term.options
    term.send("admin\n")
    assert (await term.read_until(r"Password: $")).startswith("admin")      # the server echoes
    term.send("Admin123\n")
    banner = await term.read_until(r"\n> $")
    assert "Admin123" not in banner                                         # the password does not
    assert "Cisco Firepower Threat Defense for VMware v7.4.1 (build 172)" in banner
    assert re.search(r"Last login: .* on ttyS0", banner)
    out = await term.cmd("show version")
    assert "Model                     : Cisco Firepower Threat Defense for VMware (75) Version 7.4.1 (Build 172)" in out
    assert "[ ftd-1 ]" in out
    assert [e["line"] for e in rig.journal.select("ftd-1", "command")] == ["show version"]
    assert rig.journal.select("ftd-1", "console.login")[-1]["ok"] is True
    # Leaving the CLI brings the login prompt back; a new hostname shows in it.
    await term.cmd("configure network hostname edge-fw")
    await term.cmd("exit", prompt=r"edge-fw login: $")
    await term.close()


async def test_wrong_password_then_login(rig: Rig):
    term = await rig.client()
    await term.read_until(r"ftd-1 login: $")
    term.send("admin\n")
    await term.read_until(r"Password: $")
    term.send("wrong\n")
    out = await term.read_until(r"ftd-1 login: $")
    assert "Login incorrect" in out and "wrong" not in out
    term.send("\n")                                       # an empty name asks again
    await term.read_until(r"ftd-1 login: $")
    term.send("nobody\n")
    await term.read_until(r"Password: $")
    term.send("Admin123\n")
    assert "Login incorrect" in await term.read_until(r"ftd-1 login: $")
    term.send("admin\nAdmin123\n")                        # typed ahead, as a script does
    await term.read_until(r"\n> $")
    assert [e["ok"] for e in rig.journal.select("ftd-1", "console.login")] == [False, False, True]
    await term.close()


async def test_hanging_up_logs_the_shell_out(rig: Rig):
    term = await rig.client()
    await term.login()
    await term.close()
    await asyncio.sleep(0.05)
    await rig.surface.settled()
    term = await rig.client()
    out = await term.read_until(r"login: $")
    assert "> " not in out
    await term.close()


# -- boot messages ----------------------------------------------------------------------

async def test_reboot_is_streamed_in_simulated_time(rig: Rig):
    term = await rig.client()
    await term.read_until(r"ftd-1 login: $")
    rig.device.reboot()
    out = await term.read_until(r"The system is going down for reboot NOW!\n")
    assert "Broadcast message from root@ftd-1" in out
    assert "Rebooting..." not in await term.quiet()       # later lines wait for the clock
    await rig.clock.advance(16)
    out = await term.quiet()
    in_order(out, "Stopping Cisco Firepower Threat Defense for VMware...", "Shutting down sfifd...",
             "Rebooting...")
    assert "INIT:" not in out                              # still shutting down
    await rig.until("boot_os")
    await rig.clock.advance(50)
    out = await term.quiet()
    in_order(out, "Booting 'Cisco Firepower Threat Defense (7.4.1-172)'", "INIT: version 2.88 booting",
             "Cisco Firepower Threat Defense 7.4.1 (build 172) booting ...")
    assert "login:" not in out and "ROMMON" not in out     # FTDv: no ROMMON
    await rig.until("online")
    out = await term.read_until(r"ftd-1 login: $")
    in_order(out, "INFO: SW-DRBG health test passed.", "Starting Cisco Firepower Threat Defense services...",
             "Starting the REST API service...", "Cisco FTD initialization finished successfully.",
             "Cisco Firepower Threat Defense for VMware v7.4.1 (build 172)", "ftd-1 login: ")
    await term.login(prompted=True)
    await term.close()


async def test_a_console_session_survives_the_reboot_it_starts(rig: Rig):
    term = await rig.client()
    await term.login()
    term.send("reboot\n")
    await term.read_until(r"Please enter 'YES' or 'NO': $")
    term.send("YES\n")
    await term.read_until(r"going down for reboot NOW!\n")
    await rig.until("online")
    out = await term.read_until(r"ftd-1 login: $")
    assert "\n> " not in out                               # the shell ended with the shutdown
    in_order(out, "Rebooting...", "INIT: version 2.88 booting", "Cisco FTD initialization finished")
    await term.login(prompted=True)
    assert "Version 7.4.1" in await term.cmd("show version")
    await term.close()


async def test_power_off_and_on_on_an_appliance(make_rig):
    rig = await make_rig("FPR-1120", "fw-branch")
    term = await rig.client()
    await term.login("fw-branch")
    rig.device.power_off()
    term.send("show version\n")
    await rig.clock.advance(60)
    assert (await term.quiet()).strip() == ""               # a dark line: no output, no echo
    rig.device.power_on()
    await rig.clock.advance(30)
    out = await term.quiet()
    in_order(out, "Cisco System ROMMON, Version", "Last reset cause: PowerCycleRequest",
             "Platform FPR-1120 with 7936 MBytes of main memory", "Use BREAK or ESC to interrupt boot.",
             "Located 'os.img' @ cluster", "LFBFF signature verified.", "INIT: version 2.88 booting")
    await rig.until("online")
    out = await term.read_until(r"fw-branch login: $")
    assert "Cisco Firepower 1120 Threat Defense v7.4.1 (build 172)" in out
    await term.login("fw-branch", prompted=True)
    await term.close()


async def test_console_listens_while_the_device_is_off(rig: Rig):
    rig.device.power_off()
    await rig.clock.advance(3600)
    term = await rig.client()                              # connects: the terminal server is up
    assert await term.quiet() == ""
    term.send("\n")
    assert await term.quiet() == ""
    rig.device.power_on()
    await rig.until("online")
    out = await term.read_until(r"ftd-1 login: $")
    in_order(out, "Booting from Hard Disk...", "INIT: version 2.88 booting", "Cisco FTD initialization")
    await term.close()


async def test_an_unusable_device_shows_its_failure_and_a_rescue_prompt(rig: Rig):
    rig.device.ctx.faults.add("reboot", "fail")
    term = await rig.client()
    await term.read_until(r"ftd-1 login: $")
    rig.device.reboot()
    await rig.until("unusable")
    out = await term.read_until(r"firepower-boot>$")
    in_order(out, "Rebooting...", "INIT: version 2.88 booting", "ERROR: Cisco FTD initialization failed.",
             "Cisco FTD Boot 7.4.1 (rescue)", "Type ? for list of commands", "firepower-boot>")
    assert "Starting Cisco Firepower Threat Defense services" not in out and "login:" not in out
    out = await term.cmd("system install http://10.0.0.1/ftd.pkg", prompt=r"firepower-boot>$")
    assert "ERROR: Unable to run 'system'" in out and "Reimage the device" in out
    assert "setup" in await term.cmd("?", prompt=r"firepower-boot>$")
    assert "Unable to run 'admin'" in await term.cmd("admin", prompt=r"firepower-boot>$")
    # A client attaching later sees the failure too.
    late = await rig.client()
    out = await late.read_until(r"firepower-boot>$")
    in_order(out, "ERROR: Cisco FTD initialization failed.", "Reimage the device to recover.", "firepower-boot>")
    # A reimage is the way out: installer lines, a boot, the factory hostname.
    rig.device.reimage()
    await rig.until("online")
    out = await term.read_until(r"firepower login: $")
    in_order(out, "Cisco FTD begins installation ...", "Cisco FTD installation finished successfully.",
             "INIT: version 2.88 booting", "firepower login: ")
    await late.read_until(r"firepower login: $")
    await late.close()
    await term.close()


async def test_an_upgrade_reboot_boots_the_new_version(rig: Rig, tmp_path: Path):
    term = await rig.client()
    await term.read_until(r"ftd-1 login: $")
    package = make_package("Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar", tmp_path / "pkgs")
    rig.device.accept_package(inspect_package(package))
    rig.device.start_upgrade()
    assert await rig.clock.run_until(lambda: rig.device.job.state == "COMPLETED")
    await rig.surface.settled()
    out = await term.read_until(r"finished: COMPLETED\n")
    in_order(out, "[upgrade] Running script 000_start/107_version_check.sh...", "going down for reboot NOW!",
             "Booting 'Cisco Firepower Threat Defense (7.6.0-113)'", "Cisco FTD begins upgrade to 7.6.0-113 ...",
             "Cisco Firepower Threat Defense for VMware v7.6.0 (build 113)", "ftd-1 login: ",
             "[upgrade] upgrade to 7.6.0-113 finished: COMPLETED")
    await term.close()


async def test_a_hung_boot_stops_the_output(rig: Rig):
    rig.device.ctx.faults.add("boot", "hang")
    term = await rig.client()
    await term.read_until(r"ftd-1 login: $")
    rig.device.reboot()
    await rig.clock.advance(3600)
    out = await term.quiet()
    in_order(out, "Rebooting...", "Booting from Hard Disk...")
    assert "INIT:" not in out and "login:" not in out and rig.device.state == "boot_os"
    await term.close()


async def test_clients_share_the_line(rig: Rig):
    one, two = await rig.client(), await rig.client()
    await one.read_until(r"ftd-1 login: $")
    await two.read_until(r"ftd-1 login: $")
    one.send("admin\n")
    assert "admin" in await two.read_until(r"Password: $")  # the echo reaches every client
    two.send("Admin123\n")                                   # anyone may type on the line
    await one.read_until(r"\n> $")
    await two.read_until(r"\n> $")
    rig.device.reboot()
    await rig.until("online")
    outs = [await one.read_until(r"ftd-1 login: $"), await two.read_until(r"ftd-1 login: $")]
    for out in outs:
        in_order(out, "going down for reboot NOW!", "Rebooting...", "INIT: version 2.88 booting",
                 "Cisco FTD initialization finished successfully.", "ftd-1 login: ")
    assert outs[0] == outs[1]
    await one.close()
    await two.close()


# -- the SSH console --------------------------------------------------------------------------

async def test_ssh_console_attaches_to_the_same_line(rig: Rig):
    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect("127.0.0.1", rig.ssh_port, username="admin", password="Admin123", known_hosts=None)
    async with asyncssh.connect("127.0.0.1", rig.ssh_port, username="console", password="Admin123",
                                known_hosts=None) as conn:
        proc = await conn.create_process(term_type="vt100")
        term = await rig.client()
        await term.read_until(r"ftd-1 login: $")
        assert (await asyncio.wait_for(proc.stdout.readuntil("ftd-1 login: "), 3)).endswith("ftd-1 login: ")
        proc.stdin.write("admin\r")
        await asyncio.wait_for(proc.stdout.readuntil("Password: "), 3)
        proc.stdin.write("Admin123\r")
        await asyncio.wait_for(proc.stdout.readuntil("\n> "), 3)
        proc.stdin.write("show version\r")
        out = await asyncio.wait_for(proc.stdout.readuntil("\n> "), 3)
        assert "Version 7.4.1 (Build 172)" in out
        assert "Version 7.4.1 (Build 172)" in await term.read_until(r"\n> $")   # telnet saw it too
        rig.device.reboot()
        await rig.until("online")
        out = await asyncio.wait_for(proc.stdout.readuntil("ftd-1 login: "), 3)
        in_order(out, "Rebooting...", "INIT: version 2.88 booting", "ftd-1 login: ")
        await term.close()
    assert [e["ok"] for e in rig.journal.select("ftd-1", "console.ssh_login")] == [False, True]


# -- the telnet codec ----------------------------------------------------------------------------

def test_telnet_codec_strips_and_answers_negotiation():
    sent: list[bytes] = []
    codec = TelnetCodec(sent.append)
    data = bytes([IAC, DO, ECHO, IAC, DO, SGA, IAC, WILL, NAWS, IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE,
                  IAC, WILL, TTYPE, IAC, DO, 99]) + b"ad" + bytes([IAC, IAC]) + b"min\r\0"
    assert codec.feed(data) == "ad\ufffdmin\r"
    assert sent == [bytes([IAC, DONT, NAWS]), bytes([IAC, DONT, TTYPE]), bytes([IAC, WONT, 99])]
    sent.clear()
    codec.feed(bytes([IAC, WILL, NAWS, IAC, DO, 99]))          # asked again: no loop
    assert sent == []
    assert codec.feed(b"x\r") == "x\r" and codec.feed(b"\ny") == "y"   # CR LF split across reads
    assert codec.feed(bytes([IAC, IP])) == "\x03"
    assert codec.feed("é".encode()[:1]) == "" and codec.feed("é".encode()[1:]) == "é"


async def test_lab_console_stays_up_through_a_power_cycle_from_the_control_api(lab):
    entry = lab.endpoints()["devices"][0]
    assert entry["console"]["ssh"]["username"] == "console"
    term = await TelnetClient.open(entry["console"]["telnet"]["port"])
    await term.read_until(r"ftd-1 login: $")
    async with httpx.AsyncClient(base_url=lab.control.url) as control:
        assert (await control.post("/api/devices/ftd-1/power", json={"action": "cycle"})).status_code == 200
        await control.post("/api/clock/run", json={"device": "ftd-1", "state": "online"})
    out = await term.read_until(r"ftd-1 login: $")
    in_order(out, "INIT: version 2.88 booting", "Cisco FTD initialization finished successfully.", "ftd-1 login: ")
    await term.close()
