"""The SSH surface driven by a real SSH client (asyncssh), lab on virtual time."""

import asyncio

import asyncssh
import pytest

from tests.conftest import connect, open_terminal, ssh_port, upload

UPGRADE_76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"


async def test_exec_and_interactive_show_version(lab):
    port = ssh_port(lab)
    async with await connect(port) as conn:
        result = await conn.run("show version", check=True)
    assert "Model                     : Cisco Firepower Threat Defense for VMware (75) Version 7.4.1 (Build 172)" \
        in result.stdout
    assert result.stdout.startswith("-") and "[ ftd-1 ]" in result.stdout.splitlines()[0]
    term = await open_terminal(port)
    out = await term.cmd("show version | include VDB")
    assert out.splitlines()[1:-1] == ["VDB version               : 376"]
    await term.close()


async def test_login_banner_and_bad_password(lab):
    port = ssh_port(lab)
    conn = await connect(port)
    proc = await conn.create_process(term_type="xterm")
    banner = await asyncio.wait_for(proc.stdout.readuntil("> "), 5)
    assert "Cisco Firepower Threat Defense for VMware v7.4.1 (build 172)" in banner
    assert "Copyright 2004-" in banner and banner.startswith("Last login:")
    conn.close()
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(port, password="wrong")


async def test_errors_help_and_bad_input_keep_the_session(lab):
    term = await open_terminal(ssh_port(lab))
    assert "Syntax error: Illegal parameter" in await term.cmd("frobnicate")
    assert "Syntax error: The command is not completed" in await term.cmd("show")
    assert "Syntax error: Ambiguous command" in await term.cmd("s")
    assert "revert-info" in await term.cmd("show upgrade ?")
    assert "Syntax error" in await term.cmd("x" * 5000)
    assert "Syntax error" in await term.cmd("show \x00\x07\x1b[A version\x02 bogus")
    assert "Version 7.4.1" in await term.cmd("show version")
    term.proc.stdin.write("show ver\t")
    assert "show version " in await term.read_until("show version ")
    assert "Version 7.4.1" in await term.cmd("")
    await term.close()


async def test_diagnostic_cli_enable_and_detach(lab):
    term = await open_terminal(ssh_port(lab))
    out = await term.cmd("system support diagnostic-cli", prompt=r"ftd-1> $")
    assert "Attaching to Diagnostic CLI ... Press 'Ctrl+a then d' to detach." in out
    term.proc.stdin.write("enable\r")
    await term.read_until("Password: ")
    out = await term.cmd("", prompt=r"ftd-1# $")
    out = await term.cmd("show version", prompt=r"ftd-1# $")
    assert "Cisco Adaptive Security Appliance Software Version 9.20(1)" in out
    assert "SSP Operating System Version" in out and "Model                     :" in out
    assert "Failover Off" in await term.cmd("show failover", prompt=r"ftd-1# $")
    out = await term.cmd("show bogus", prompt=r"ftd-1# $")
    assert "ERROR: % Invalid input detected at '^' marker." in out
    term.proc.stdin.write("\x01d")
    assert "Console connection detached." in await term.read_until(r"\n> $")
    await term.close()


async def test_hostname_change_shows_in_prompts_and_version(lab):
    term = await open_terminal(ssh_port(lab))
    await term.cmd("configure network hostname edge-fw")
    assert "[ edge-fw ]" in await term.cmd("show version")
    await term.cmd("expert", prompt=r"admin@edge-fw:~\$ $")
    await term.close()


async def test_sftp_upload_and_expert_install_upgrades_the_device(lab, packages):
    port = ssh_port(lab)
    ftd = lab.devices["ftd-1"]
    await upload(port, packages(UPGRADE_76))
    assert ftd.package.filename == UPGRADE_76
    term = await open_terminal(port)
    await term.cmd("expert", prompt=r"admin@ftd-1:~\$ $")
    assert UPGRADE_76 in await term.cmd("ls /var/sf/updates", prompt=r"\$ $")
    term.proc.stdin.write(f"sudo install_update.pl --detach /var/sf/updates/{UPGRADE_76}\r")
    assert "We trust you have received the usual lecture" in await term.read_until("Password: ")
    out = await term.cmd("Admin123", prompt=r"\$ $")
    assert "install_update.pl begins" in out
    await lab.clock.advance(300)
    out = await term.cmd("tail -n 3 /ngfw/var/log/sf/Cisco_FTD_Upgrade-7.6.0/status.log", prompt=r"\$ $")
    assert "state:running" in out and "ui:Upgrade in progress" in out
    await term.cmd("exit")
    out = await term.cmd("show upgrade status")
    assert "Upgrade in progress: (" in out and "% done." in out
    detail = await term.cmd("show upgrade status detail")
    assert "Upgrade Status Output for " + UPGRADE_76 in detail and "TIMESTAMP:" in detail

    # the session drops at the reboot, and connections are refused while the device boots
    await lab.clock.run_until(lambda: ftd.state == "upgrade_reboot_shutdown")
    with pytest.raises(EOFError):
        await term.read_until("never", timeout=5)
    await lab.settle()
    with pytest.raises(OSError):
        await connect(port)
    await lab.clock.run_until(lambda: ftd.job.state == "COMPLETED")
    await lab.settle()
    term = await open_terminal(port)
    assert "Version 7.6.0 (Build 113)" in await term.cmd("show version")
    assert "7.4.1-172" in await term.cmd("show upgrade revert-info")
    assert "COMPLETED" in await term.cmd("show last-upgrade status")
    await term.close()
    kinds = [e["kind"] for e in lab.journal.select("ftd-1")]
    for kind in ("package", "upgrade.started", "readiness", "upgrade.stage", "reboot", "upgrade.finished"):
        assert kind in kinds


async def test_show_upgrade_status_continuous_streams_until_ctrl_c(lab, packages):
    port = ssh_port(lab)
    await upload(port, packages(UPGRADE_76))
    lab.devices["ftd-1"].start_upgrade()
    term = await open_terminal(port)
    term.proc.stdin.write("show upgrade status continuous\r")
    await term.read_until("Upgrade in progress")
    await lab.clock.advance(200)
    out = await term.read_until(r"Preparing to upgrade... \(200_pre/")
    assert "Upgrade in progress" in out
    term.proc.stdin.write("\x03")
    await term.read_until(r"\n> $")
    await term.close()


async def test_cli_retry_and_cancel_after_failure_without_auto_cancel(lab, packages):
    port = ssh_port(lab)
    ftd = lab.devices["ftd-1"]
    await upload(port, packages(UPGRADE_76))
    lab.faults.add("upgrade.stage:300_os", "fail", times=2)
    ftd.start_upgrade(auto_cancel=False)
    await lab.clock.run_until(lambda: ftd.state == "upgrade_failed")
    term = await open_terminal(port)
    assert "Retrying the upgrade." in await term.cmd("upgrade retry")
    await lab.clock.run_until(lambda: ftd.state == "upgrade_failed")
    out = await term.cmd("upgrade cancel")
    assert "returns to version 7.4.1-172" in out
    await lab.clock.run_until(lambda: ftd.state == "upgrade_reboot_shutdown")
    await lab.clock.run_until(lambda: ftd.state == "online")
    assert ftd.version == "7.4.1-172" and ftd.job.state == "CANCELLED"


async def test_cli_revert_asks_and_patches_refuse(lab, packages):
    port = ssh_port(lab)
    ftd = lab.devices["ftd-1"]
    term = await open_terminal(port)
    assert "No revert information available." in await term.cmd("upgrade revert")
    assert "No upgrade is in progress." in await term.cmd("upgrade cancel")
    await term.close()
    await upload(port, packages("Cisco_FTD_Patch-7.4.1.1-12.sh.REL.tar"))
    ftd.start_upgrade()
    await lab.clock.advance(30)
    term = await open_terminal(port)
    assert "Cancel is not supported for patches" in await term.cmd("upgrade cancel")
    await term.close()
    await lab.clock.run_until(lambda: ftd.job.state == "COMPLETED")
    await lab.settle()
    term = await open_terminal(port)
    assert "Version 7.4.1.1 (Build 12)" in await term.cmd("show version")
    assert "No revert information available." in await term.cmd("upgrade revert")
    await term.close()


async def test_cli_reboot_confirmation(lab):
    port = ssh_port(lab)
    ftd = lab.devices["ftd-1"]
    term = await open_terminal(port)
    term.proc.stdin.write("reboot\r")
    prompt = await term.read_until("Please enter 'YES' or 'NO': ")
    assert "This command will reboot the system.  Continue?" in prompt
    await term.cmd("NO")
    assert ftd.state == "online"
    term.proc.stdin.write("reboot\r")
    await term.read_until("Please enter 'YES' or 'NO': ")
    term.proc.stdin.write("YES\r")
    out = await term.read_until("Reboot requested by the user.")      # the real box's words (fp2k capture)
    assert "Broadcast message from admin@ftd-1" in out
    assert "All shells being terminated due to system /sbin/reboot" in out
    assert ftd.state == "shutdown"
    with pytest.raises(EOFError):
        await term.read_until("never")


async def test_concurrent_sessions(lab):
    port = ssh_port(lab)

    async def one() -> str:
        async with await connect(port) as conn:
            return (await conn.run("show version")).stdout

    outputs = await asyncio.gather(*(one() for _ in range(20)))
    assert all("Version 7.4.1" in out for out in outputs)


async def test_scp_upload_lands_in_updates(lab, packages):
    port = ssh_port(lab)
    path = packages("Cisco_FTD_Upgrade-7.4.2-172.sh.REL.tar")
    async with await connect(port) as conn:
        await asyncssh.scp(str(path), (conn, "/var/sf/updates/"))
    assert lab.devices["ftd-1"].package.version == "7.4.2-172"


async def test_public_key_login(tmp_path):
    from simulator.lab import Lab

    key = asyncssh.generate_private_key("ssh-ed25519")
    profile = {"lab": "keys", "ssh_authorized_keys": key.export_public_key().decode(),
               "devices": [{"name": "ftd-1", "model": "FTDv", "version": "7.4.1-172"}]}
    async with Lab(profile, state_dir=tmp_path / "s", virtual_time=True) as lab:
        port = lab.ssh.endpoints["ftd-1"].port
        async with asyncssh.connect("127.0.0.1", port, username="admin", client_keys=[key],
                                    known_hosts=None, password=None) as conn:
            assert "Version 7.4.1" in (await conn.run("show version")).stdout
        other = asyncssh.generate_private_key("ssh-ed25519")
        with pytest.raises(asyncssh.PermissionDenied):
            await asyncssh.connect("127.0.0.1", port, username="admin", client_keys=[other],
                                   known_hosts=None, password=None)


async def test_each_kind_announces_its_own_ssh_server(tmp_path):
    """The identification string a client (and a scanner) sees: Cisco's own on an ASA."""
    from tests.robustness.terminal_lab import lab_with, port_of
    async with lab_with("asa", tmp_path / "state") as lab:
        for name, expected in (("dut", "SSH-2.0-Cisco-1.25"), ("bystander", "SSH-2.0-OpenSSH_8.8")):
            async with asyncssh.connect("127.0.0.1", port_of(lab, name), username="admin", password="Admin123",
                                        known_hosts=None) as conn:
                assert conn.get_extra_info("server_version") == expected


async def test_a_reboot_ends_the_connection_as_a_dying_sshd_does(lab):
    """The broadcast first, then the TCP connection closes with no SSH disconnect
    message ("Connection to HOST closed by remote host." in OpenSSH; unicon waits for it)."""
    from tests.conftest import open_terminal, ssh_port
    term = await open_terminal(ssh_port(lab))
    term.proc.stdin.write("reboot\r")
    await term.read_until(r"Please enter 'YES' or 'NO': $")
    term.proc.stdin.write("YES\r")
    await term.read_until(r"Reboot requested by the user")
    with pytest.raises(asyncssh.ConnectionLost):
        while await term.proc.stdout.read(65536):
            pass


async def test_asa_and_fxos_take_no_sftp_the_asa_takes_scp(tmp_path):
    """As the real servers: an ASA has an SCP server (`ssh scopy enable`) and no SFTP
    subsystem; an FXOS chassis takes no file in (its images come by `download image`),
    so `scp` reaches its CLI; the FTD's sshd has both."""
    from tests.robustness.terminal_lab import lab_with, port_of
    source = tmp_path / "x.bin"
    source.write_bytes(b"x" * 1000)
    for kind, target in (("asa", "disk0:/x.bin"), ("fxos", "/x.bin")):
        async with lab_with(kind, tmp_path / kind) as lab:
            async with asyncssh.connect("127.0.0.1", port_of(lab), username="admin", password="Admin123",
                                        known_hosts=None) as conn:
                with pytest.raises(asyncssh.ChannelOpenError):
                    await conn.start_sftp_client()
                if kind == "asa":
                    await asyncssh.scp(str(source), (conn, target))
                    assert lab.devices["dut"].disk.file("x.bin").size == 1000
                else:
                    with pytest.raises(asyncssh.SFTPError):
                        await asyncssh.scp(str(source), (conn, target))
                    assert not (lab.store.device_fs("dut") / "x.bin").exists()
            async with asyncssh.connect("127.0.0.1", port_of(lab, "bystander"), username="admin",
                                        password="Admin123", known_hosts=None) as conn:
                async with conn.start_sftp_client() as sftp:
                    assert await sftp.exists("/var/sf/updates")
