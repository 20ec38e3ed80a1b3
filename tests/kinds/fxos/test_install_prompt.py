"""`install platform platform-vers` names what it installs (issue 13): the platform
bundle it verified, the platform and firmware the chassis runs, and the firmware
the bundle brings only when it is an upgrade — "FXOS upgrades to Version 2.14.1+
that include firmware upgrades" reboot twice (seed 000 ch. 4), others once."""

from __future__ import annotations

from tests.kinds.fxos.test_fxos import ANY, Rig, download, fxos_terminal, images, scp_url  # noqa: F401

TARGET_216 = "2.16(1.147)"


async def test_a_chassis_with_the_firmware_is_not_told_to_upgrade_it(tmp_path, images):  # noqa: F811
    rig = Rig(tmp_path)
    ch = rig.chassis
    ch.version, ch.firmware_version = "2.14(1.131)", "1.0.18"
    for comp in ch.components:
        comp.package_vers = ch.version
    await rig.start()
    try:
        await download(rig, scp_url(images[0], "fxos-k9.2.16.1.147.SPA"))
        term = await fxos_terminal(rig.ssh_port())
        await term.cmd("scope firmware", prompt=ANY)
        await term.cmd("scope auto-install", prompt=ANY)
        out = await term.cmd(f"install platform platform-vers {TARGET_216}", prompt=r"\(yes/no\):$")
        assert "Verifying FXOS platform bundle 2.16(1.147). Please wait..." in out
        assert ("   - The platform version: 2.14(1.131)\n   - The firmware version: 1.0.18\n"
                "If you proceed with the upgrade 2.16(1.147), it will do the following:\n"
                "   - upgrade to the new platform version 2.16(1.147)\nDuring the upgrade") in out
        await term.cmd("yes", prompt=r"\(yes/no\):$")
        assert "Triggered Auto-Install" in await term.cmd("yes", prompt=ANY)
        assert ch.install is not None and not ch.install.firmware       # one reboot, no firmware phase
        await term.close()
        await rig.run_until(lambda: ch.install.state == "COMPLETED")
        assert ch.version == TARGET_216 and ch.firmware_version == "1.0.18"
        states = [e["state"] for e in rig.journal.select(device=ch.name, kind="state")]
        assert "upgrade_reboot_os" in states and not any("firmware" in s for s in states)
    finally:
        await rig.stop()
