"""The local console of an SPS node over the lab's console server (its SSH
door, user `console`; asyncssh), on virtual time: boot lines and the upgrade
log as a new firmware's first boot runs, root's login to the console menu,
and a node whose core cannot start after a failed upgrade showing the
upgrade log (seed 004: "check the information displayed on the local console")."""

from __future__ import annotations

import asyncio

import asyncssh
import httpx

from simulator.kinds.sps.packages import make_iso


def _in_order(text: str, *parts: str) -> None:
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} not after position {at} in:\n{text}"
        at = found + len(part)


async def _console(lab, node: str = "sps-1") -> asyncssh.SSHClientProcess:
    ssh = lab.endpoints()["devices"][0]["console"]["ssh"]
    conn = await asyncssh.connect(ssh["host"], ssh["port"], username="console", password="Admin123",
                                  known_hosts=None)
    return await conn.create_process(term_type="vt100")


async def _until(proc: asyncssh.SSHClientProcess, text: str) -> str:
    return str(await asyncio.wait_for(proc.stdout.readuntil(text), 20))


async def _upgrade(lab, iso) -> None:
    https = next(d for d in lab.endpoints()["devices"] if d["name"] == "sps-1")["https"]
    async with httpx.AsyncClient(base_url=https["url"], verify=False) as api:
        await api.get("/api/authentication", auth=(https["username"], https["password"]))
        slot = (await api.post("/api/upload/firmware", content=iso.read_bytes(),
                               headers={"Content-Type": "application/x-iso9660-image"})).json()["key"]
        assert (await api.post("/api/firmware/upgrade", json={"slot_id": int(slot)})).status_code == 200


def test_the_console_shows_the_boot_and_the_upgrade_log_then_roots_menu(lab_runner, tmp_path):
    lab = lab_runner("sps-standalone")
    iso = make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path)

    async def watch() -> tuple[str, str]:
        proc = await _console(lab.lab)
        await _until(proc, "sps-1 login: ")
        await _upgrade(lab.lab, iso)
        seen = await _until(proc, "sps-1 login: ")
        proc.stdin.write("root\r")
        await _until(proc, "Password: ")
        proc.stdin.write("Admin123\r")
        menu = await _until(proc, "Select an option: ")
        proc.close()
        return seen, menu

    seen, menu = lab.call(watch())
    _in_order(seen, "Booting firmware 7.0.2.1 LTS from slot 2", "Loading the boot firmware",
              "Starting the core firmware", "Upgrading the configuration from 6.0.3 to 7.0.2.1",
              "Upgrade finished, firmware 7.0.2.1 LTS is running",
              "One Identity Safeguard for Privileged Sessions 7.0.2.1 LTS", "sps-1 login: ")
    assert "One Identity Safeguard for Privileged Sessions 7.0.2.1 LTS - sps-1" in menu


def test_a_core_that_cannot_start_shows_the_upgrade_log_on_the_console(lab_runner, tmp_path):
    lab = lab_runner({"lab": "rescue", "devices": [{"name": "sps-1", "kind": "sps", "model": "T-4",
                                                    "version": "6.0.3", "sealed": True}],
                      "faults": [{"point": "upgrade.stage:firmware", "action": "fail", "device": "sps-1",
                                  "message": "configuration conversion failed"},
                                 {"point": "revert", "action": "hang", "device": "sps-1"}]})
    iso = make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path)

    async def watch() -> tuple[str, str, str]:
        proc = await _console(lab.lab)
        await _until(proc, "sps-1 login: ")
        await _upgrade(lab.lab, iso)
        seen = await _until(proc, "sps-1 rescue# ")
        proc.stdin.write("log\r")
        again = await _until(proc, "sps-1 rescue# ")
        late = await _console(lab.lab)                # someone attaching later sees it too
        greeting = await _until(late, "sps-1 rescue# ")
        proc.close()
        late.close()
        return seen, again, greeting

    seen, again, greeting = lab.call(watch())
    _in_order(seen, "Upgrading the configuration from 6.0.3 to 7.0.2.1",
              "Upgrade to 7.0.2.1 failed: configuration conversion failed", "The core firmware cannot start.",
              "SSH access stays disabled (sealed mode)", "The web interface is not available.", "sps-1 rescue# ")
    assert "Upgrade to 7.0.2.1 failed: configuration conversion failed" in again
    assert "Upgrade to 7.0.2.1 failed" in greeting and "The core firmware cannot start." in greeting


def test_the_console_shows_a_reboot_and_a_shutdown(lab_runner):
    lab = lab_runner("sps-standalone")
    https = lab.endpoint("sps-1")["https"]

    async def system_control(action: str) -> None:
        async with httpx.AsyncClient(base_url=https["url"], verify=False) as api:
            await api.get("/api/authentication", auth=(https["username"], https["password"]))
            assert (await api.post(f"/api/_simulator/system_control/this_node/{action}", json={})).status_code == 200

    async def watch() -> tuple[str, str]:
        proc = await _console(lab.lab)
        await _until(proc, "sps-1 login: ")
        await system_control("reboot")
        rebooted = await _until(proc, "sps-1 login: ")
        await system_control("shutdown")
        halted = await _until(proc, "reboot: Power down")
        proc.close()
        return rebooted, halted

    rebooted, halted = lab.call(watch())
    _in_order(rebooted, "the system is going down for reboot NOW!", "reboot: Restarting system",
              "Loading the boot firmware", "sps-1 login: ")
    assert "the system is going down for shutdown NOW!" in halted
    lab.wait_for_state("sps-1", "off")
