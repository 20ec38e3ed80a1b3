"""A profile's `ssh_algorithms: legacy` makes a device offer what older releases
offer and nothing newer: a current OpenSSH client fails to negotiate with its own
words, and one that enables the legacy set logs in (issue 13)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.robustness.terminal_lab import lab_with, port_of

SSH = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10"]
LEGACY = ["-o", "KexAlgorithms=+diffie-hellman-group14-sha1", "-o", "HostKeyAlgorithms=+ssh-rsa",
          "-o", "Ciphers=+aes256-cbc", "-o", "MACs=+hmac-sha1"]


def ssh(port: int, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sshpass", "-p", "Admin123", "ssh", *SSH, *options, "-p", str(port), "admin@127.0.0.1",
                           "show version"], capture_output=True, text=True, timeout=30)


@pytest.mark.skipif(not (shutil.which("ssh") and shutil.which("sshpass")), reason="OpenSSH client or sshpass missing")
async def test_a_legacy_device_refuses_a_modern_client_and_takes_one_with_the_legacy_set(tmp_path):
    async with lab_with("asa", tmp_path / "state", ssh_algorithms="legacy") as lab:
        import asyncio
        refused = await asyncio.to_thread(ssh, port_of(lab))
        assert refused.returncode == 255
        assert "no matching key exchange method found. Their offer: diffie-hellman-group14-sha1" in refused.stderr
        taken = await asyncio.to_thread(ssh, port_of(lab), *LEGACY)
        assert taken.returncode == 0 and "Cisco Adaptive Security Appliance Software Version" in taken.stdout
        modern = await asyncio.to_thread(ssh, port_of(lab, "bystander"))      # the rest of the lab is unchanged
        assert modern.returncode == 0, modern.stderr


@pytest.mark.skipif(not (shutil.which("ssh") and shutil.which("sshpass")), reason="OpenSSH client or sshpass missing")
@pytest.mark.parametrize("kind, version, refusal", [
    ("asa", "9.8(4)", "no matching key exchange method found. Their offer: diffie-hellman-group1-sha1"),
    ("asa", "9.16(4)", "no matching host key type found. Their offer: ssh-rsa"),
    ("asa", "9.20(2)", None),
    ("fxos", "2.3(1.58)", "no matching key exchange method found. Their offer: diffie-hellman-group14-sha1"),
    ("fxos", "2.12(0.498)", None),
    ("ftd", "6.6.5-81", None),
])
async def test_release_offers_what_the_running_release_offers(tmp_path, kind, version, refusal):
    """`ssh_algorithms: release`: an old release refuses a current OpenSSH client in its words;
    a newer one takes it."""
    import asyncio
    async with lab_with(kind, tmp_path / "state", ssh_algorithms="release", version=version) as lab:
        out = await asyncio.to_thread(ssh, port_of(lab))
        if refusal is None:
            assert out.returncode == 0, out.stderr
        else:
            assert out.returncode == 255 and refusal in out.stderr, out.stderr


@pytest.mark.skipif(not (shutil.which("ssh") and shutil.which("sshpass")), reason="OpenSSH client or sshpass missing")
async def test_release_follows_an_upgrade(tmp_path):
    """The offer is the running version's: an ASA reloaded from 9.8 into 9.20 takes a current client."""
    import asyncio

    from simulator.kinds.asa.images import write_image
    from simulator.kinds.asa.ssh import SSH as ASA_SSH
    async with lab_with("asa", tmp_path / "state", ssh_algorithms="release", version="9.8(4)") as lab:
        assert (await asyncio.to_thread(ssh, port_of(lab))).returncode == 255
        unit = lab.devices["dut"]
        image = "asa9-20-2-smp-k8.bin"
        await ASA_SSH.file_arrived(unit, write_image(lab.store.device_fs("dut") / image, "9.20(2)"), None)
        unit.clear_boot_system()
        unit.add_boot_system(f"disk0:/{image}")
        unit.write_memory()
        unit.reload()
        await lab.clock.run_until(lambda: unit.services_up and unit.version == "9.20(2)")
        await lab.settle()
        taken = await asyncio.to_thread(ssh, port_of(lab))
        assert taken.returncode == 0 and "Version 9.20(2)" in taken.stdout, taken.stderr
