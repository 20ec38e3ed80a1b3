"""Sealed mode (sps.md 1: no remote SSH, the root password cannot be changed,
lifted only from the local console): enabled from the console menu over SSH
or with the web UI's *Activate sealed mode*, the SSH port closes; on the
local console (the lab's console server) the root password stays, and
*Sealed mode > Disable* opens SSH again. Real SSH (asyncssh), HTTPS (httpx)."""

from __future__ import annotations

import asyncio
import time

import asyncssh
import httpx
import pytest

from tests.conftest import Terminal

CHOOSE = r"Select an option: $"


async def _menu(port: int, password: str = "Admin123") -> Terminal:
    conn = await asyncssh.connect("127.0.0.1", port, username="root", password=password, known_hosts=None)
    term = Terminal(conn, await conn.create_process(term_type="vt100"))
    await term.read_until(CHOOSE)
    return term


async def _ssh_refused(port: int) -> bool:
    """The port stops answering (the SSH server follows the model on the lab's loop)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            conn = await asyncssh.connect("127.0.0.1", port, username="root", password="x", known_hosts=None,
                                          connect_timeout=2)
            conn.close()
        except OSError:
            return True
        except asyncssh.Error:
            pass
        await asyncio.sleep(0.05)
    return False


async def _console(lab) -> asyncssh.SSHClientProcess:
    ssh = lab.endpoints()["devices"][0]["console"]["ssh"]
    conn = await asyncssh.connect(ssh["host"], ssh["port"], username=ssh["username"], password=ssh["password"],
                                  known_hosts=None)
    return await conn.create_process(term_type="vt100")


async def _until(proc: asyncssh.SSHClientProcess, text: str) -> str:
    return str(await asyncio.wait_for(proc.stdout.readuntil(text), 20))


def test_sealed_over_ssh_closes_ssh_and_only_the_local_console_lifts_it(lab_runner):
    lab = lab_runner("sps-standalone")
    port = lab.endpoint("sps-1")["ssh"]["port"]

    async def over_ssh() -> None:
        term = await _menu(port)
        try:
            await term.cmd("Change root password", r"New root password: $")
            await term.cmd("N3w-root", r"Retype new root password: $")
            assert "The root password was changed." in await term.cmd("N3w-root", CHOOSE)
            await term.cmd("Sealed mode", CHOOSE)
            assert "Sealed mode is not enabled." in await term.cmd("Disable", CHOOSE)
            await term.cmd("Enable", r"\(y/n\) $")
            assert "remote SSH access is disabled" in await term.cmd("y", CHOOSE)
        finally:
            await term.close()
        assert await _ssh_refused(port)

    lab.call(over_ssh())
    lab.assert_event("access", "sps-1", sealed=True, ssh=False)

    async def on_the_console() -> tuple[str, str]:
        proc = await _console(lab.lab)
        proc.stdin.write("\r")
        await _until(proc, "sps-1 login: ")
        proc.stdin.write("root\r")
        await _until(proc, "Password: ")
        proc.stdin.write("N3w-root\r")
        await _until(proc, "Select an option: ")
        proc.stdin.write("Change root password\r")
        refused = await _until(proc, "Select an option: ")
        proc.stdin.write("Sealed mode\r")
        await _until(proc, "Select an option: ")
        proc.stdin.write("Disable\r")
        lifted = await _until(proc, "Select an option: ")
        proc.close()
        return refused, lifted

    refused, lifted = lab.call(on_the_console())
    assert "The root password cannot be changed in sealed mode." in refused
    assert "Sealed mode is disabled." in lifted
    term = lab.call(_menu(port, "N3w-root"))          # SSH is back, with the new password
    lab.call(term.close())


def test_the_web_ui_activates_sealed_mode_and_has_no_way_back(lab_runner):
    lab = lab_runner("sps-standalone")
    https, port = lab.endpoint("sps-1")["https"], lab.endpoint("sps-1")["ssh"]["port"]
    with httpx.Client(base_url=https["url"], verify=False) as web:
        web.post("/login", data={"username": https["username"], "password": https["password"]})
        page = web.get("/basic/system/sealed").text
        assert '<span class="status" id="sealed-status">Disabled</span>' in page and "activate-sealed-mode" in page
        page = web.post("/basic/system/sealed/activate").text
        assert '<span class="status" id="sealed-status">Enabled</span>' in page
        assert "activate-sealed-mode" not in page and "can be disabled only from the local console" in page
        again = web.post("/basic/system/sealed/activate")
        assert again.status_code == 400 and "Sealed mode is already enabled." in again.text
    assert lab.call(_ssh_refused(port))
    with pytest.raises(OSError):
        lab.call(_menu(port))
