"""The chassis console (kinds/fxos/console.py) in a lab of profile
fxos-4100-standalone on virtual time: the login prompt, the FXOS CLI after
login, the supervisor's shutdown and boot text through a reboot, the boot
into a new FXOS during an install; over telnet and over SSH."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh
import pytest

from simulator.kinds.fxos.bundles import make_fxos_bundle
from simulator.kinds.fxos.model import FxosChassis
from simulator.lab import Lab
from tests.kinds.fxos.conftest import BUNDLE
from tests.surfaces.test_console import TelnetClient, in_order

PROMPT = r"FPR4K-1-A# $"
LOGIN = r"FPR4K-1-A login: $"


@pytest.fixture
async def lab(lab_factory) -> Lab:
    return await lab_factory("fxos-4100-standalone", seed=5)


def console_of(lab: Lab) -> dict:
    return next(d for d in lab.endpoints()["devices"] if d["name"] == "fpr4k-1")["console"]


async def log_in(term: TelnetClient) -> str:
    term.send("admin\n")
    await term.read_until(r"Password: $")
    term.send("Admin123\n")
    return await term.read_until(PROMPT)


async def until(lab: Lab, chassis: FxosChassis, state: str) -> None:
    assert await lab.clock.run_until(lambda: chassis.state == state), chassis.state
    await lab.settle()


async def test_login_the_fxos_cli_and_a_reboot_on_telnet(lab: Lab):
    chassis = lab.devices["fpr4k-1"]
    term = await TelnetClient.open(console_of(lab)["telnet"]["port"])
    await term.read_until(LOGIN)
    banner = await log_in(term)
    in_order(banner, "Successful login attempts for user 'admin' : 1", "Last login: ", " on ttyS0",
             "Cisco Firepower Extensible Operating System (FX-OS) Software")
    assert "Version: 2.12(0.498)" in await term.cmd("show version", prompt=PROMPT)
    await term.cmd("connect local-mgmt", prompt=r"FPR4K-1-A\(local-mgmt\)# $")
    await term.cmd("reboot", prompt=r"\(yes/no\):$")
    term.send("yes\n")
    await term.read_until(r"All shells being terminated due to system /sbin/reboot\n")
    assert chassis.state == "shutdown"
    await until(lab, chassis, "boot_os")
    shutdown = await term.quiet()
    in_order(shutdown, "writing reset reason 9", "Cisco FPR Series Security Appliance",
             "Unmounting filesystems...", "/bootflash               : successfully unmounted",
             "reboot: Restarting system", "!!  Rommon image verified successfully  !!")
    await until(lab, chassis, "boot_dme")
    boot = await term.read_until(LOGIN)
    in_order(boot, "Cisco System ROMMON, Version 1.0.15, RELEASE SOFTWARE", "Last reset cause: ResetRequest",
             "Platform FPR-4145-SUP with 8192 Mbytes of main memory",
             "find the string ! boot bootflash:/installables/switch/fxos-k9-kickstart.5.0.3.N2.4.120.498.SPA",
             "Kickstart Image verified successfully", "Loading system software",
             "INIT: Entering runlevel: 3", "%VDC_MGR-2-VDC_ONLINE: vdc 1 has come online",
             "System is coming up ... Please wait ...", "Cisco FPR Series Security Appliance\n")
    # the CLI answers before its management engine: the shows wait for the DME
    banner = await log_in(term)
    assert "Successful login attempts for user 'admin' : 2" in banner
    assert "Timed out communicating with DME" in await term.cmd("scope system", prompt=PROMPT)
    await until(lab, chassis, "online")
    await term.cmd("top", prompt=PROMPT)
    assert "Version: 2.12(0.498)" in await term.cmd("show version", prompt=PROMPT)
    assert [e["ok"] for e in lab.journal.select("fpr4k-1", "console.login")] == [True, True]
    await term.close()


async def test_the_console_over_ssh(lab: Lab):
    ssh = console_of(lab)["ssh"]
    assert ssh["username"] == "console"
    async with asyncssh.connect("127.0.0.1", ssh["port"], username=ssh["username"], password=ssh["password"],
                                known_hosts=None) as conn:
        proc = await conn.create_process(term_type="vt100")
        seen = ""

        async def read_until(text: str) -> str:
            nonlocal seen
            while text not in seen:
                seen += await asyncio.wait_for(proc.stdout.read(4096), 3)
            out, seen = seen[:seen.index(text) + len(text)], seen[seen.index(text) + len(text):]
            return out

        await read_until("FPR4K-1-A login: ")
        proc.stdin.write("admin\r")
        await read_until("Password: ")
        proc.stdin.write("Admin123\r")
        await read_until("FPR4K-1-A# ")
        proc.stdin.write("scope ssa\r")
        await read_until("FPR4K-1-A /ssa # ")
        proc.stdin.write("show slot\r")
        assert "Online" in await read_until("FPR4K-1-A /ssa # ")


async def test_an_install_boots_the_new_fxos_on_the_console(lab: Lab, tmp_path: Path):
    """Seed ch. 3: after FPRM the chassis reboots into the new FXOS; its kickstart
    is the new one; with firmware (2.14.1+) it boots twice."""
    chassis = lab.devices["fpr4k-1"]
    term = await TelnetClient.open(console_of(lab)["telnet"]["port"])
    await term.read_until(LOGIN)
    make_fxos_bundle(BUNDLE, lab.store.device_fs(chassis.name) / "local")   # a file of the chassis' own
    task = chassis.start_download(f"/local/{BUNDLE}")
    await lab.settle()
    await lab.clock.run_until(lambda: task.state == "Downloaded")
    chassis.start_platform_install("2.14(1.131)")
    await until(lab, chassis, "upgrade_reboot_dme")
    first = await term.read_until(LOGIN)
    in_order(first, "All shells being terminated", "reboot: Restarting system", "Cisco System ROMMON",
             "fxos-k9-kickstart.5.0.3.N2.4.141.131.SPA", "System is coming up ... Please wait ...")
    await until(lab, chassis, "upgrade_firmware_reboot_dme")
    second = await term.read_until(LOGIN)
    in_order(second, "All shells being terminated", "Cisco System ROMMON", "fxos-k9-kickstart.5.0.3.N2.4.141.131.SPA")
    await until(lab, chassis, "online")
    assert chassis.install is not None and chassis.install.state == "COMPLETED" and chassis.install.reboots == 2
    await term.close()
