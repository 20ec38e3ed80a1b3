"""Real third-party clients against `simulator up` run as a user runs it (FTD, FTD pairs, ASA pairs):
netmiko's cisco_ftd, scrapli's cisco_ftd, paramiko SFTP, OpenSSH's ssh, and
curl and requests on the FDM REST API."""

import json
import shutil
import subprocess
import time

import paramiko
import pytest
from netmiko import ConnectHandler

from simulator.kinds.ftd.packages import make_package

pytestmark = pytest.mark.clients


def _ssh(endpoints, name="ftd-1"):
    return next(d for d in endpoints["devices"] if d["name"] == name)["ssh"]


def test_netmiko_cisco_ftd_show_version_and_diagnostic_cli(lab_process):
    endpoints, _ = lab_process()
    ssh = _ssh(endpoints)
    conn = ConnectHandler(device_type="cisco_ftd", host=ssh["host"], port=ssh["port"], username=ssh["username"],
                          password=ssh["password"])
    try:
        assert conn.find_prompt() == ">"
        out = conn.send_command("show version")
        assert "Cisco Firepower Threat Defense for VMware (75) Version 7.4.1 (Build 172)" in out
        assert "UUID" in out and "LSP version" in out and "VDB version" in out
        assert "Illegal parameter" in conn.send_command("show bogus")
        # netmiko 4.8's enable() waits for its base prompt ">" after the empty enable
        # password, which an FTD never prints after `enable` ("host#"); so the
        # diagnostic CLI is entered with the same commands, step by step.
        out = conn.send_command("system support diagnostic-cli", expect_string=r"ftd-1>")
        assert "Press 'Ctrl+a then d' to detach." in out
        conn.send_command("enable", expect_string=r"Password:")
        conn.send_command("", expect_string=r"ftd-1#")
        conn._in_diagnostic_cli = True  # what enable() would have recorded
        assert conn.find_prompt() == "ftd-1#"
        diag = conn.send_command("show version", expect_string=r"ftd-1#")
        assert "Cisco Adaptive Security Appliance Software Version" in diag
        assert "SSP Operating System Version" in diag
        conn.exit_enable_mode()
        assert conn.find_prompt() == ">"
    finally:
        conn.disconnect()


def test_scrapli_cisco_ftd(lab_process):
    scrapli = pytest.importorskip("scrapli")
    endpoints, _ = lab_process()
    ssh = _ssh(endpoints)
    try:
        cli = scrapli.Cli(definition_file_or_name="cisco_ftd", host=ssh["host"], port=ssh["port"],
                          auth_options=scrapli.AuthOptions(username=ssh["username"], password=ssh["password"]))
    except Exception as exc:  # the FFI build of scrapli may not load on every machine
        pytest.skip(f"scrapli cannot load here: {exc}")
    with cli as conn:
        result = conn.send_input(input_="show version")
        assert "Version 7.4.1 (Build 172)" in result.result


def test_openssh_scp_and_sftp_put_packages(lab_process, tmp_path):
    """OpenSSH scp to an FTD's /var/sf/updates (either protocol, sftp too) and to an ASA's disk0: (`scp -O`)."""
    if not shutil.which("scp") or not shutil.which("sftp") or not shutil.which("sshpass"):
        pytest.skip("OpenSSH scp/sftp or sshpass not installed")
    from simulator.kinds.asa.images import write_image

    endpoints, _ = lab_process("ftd-standalone")
    ssh = _ssh(endpoints)
    opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    package = make_package("Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar", tmp_path)
    for mode in (["-O"], []):           # the scp protocol, then OpenSSH 9's default (SFTP underneath)
        out = subprocess.run(["sshpass", "-p", ssh["password"], "scp", *mode, *opts, "-P", str(ssh["port"]),
                              str(package), f"{ssh['username']}@{ssh['host']}:/var/sf/updates/"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, (mode, out.stderr)
    out = subprocess.run(["sshpass", "-p", ssh["password"], "sftp", *opts, "-P", str(ssh["port"]),
                          f"{ssh['username']}@{ssh['host']}"], input="ls /var/sf/updates\nbye\n",
                         capture_output=True, text=True, timeout=30)
    assert package.name in out.stdout, out.stdout + out.stderr

    endpoints, _ = lab_process("asa-ha")
    asa = _ssh(endpoints, "asa-a")
    image = write_image(tmp_path / "asa9-20-2-smp-k8.bin", "9.20(2)")
    for mode in ([], ["-O"]):           # an ASA has no SFTP server: OpenSSH 9's default scp fails as against one
        out = subprocess.run(["sshpass", "-p", asa["password"], "scp", *mode, *opts, "-P", str(asa["port"]),
                              str(image), f"{asa['username']}@{asa['host']}:disk0:/{image.name}"],
                             capture_output=True, text=True, timeout=30)
        if mode:
            assert out.returncode == 0, out.stderr
        else:
            assert out.returncode != 0 and "subsystem request failed on channel 0" in out.stderr, out.stderr
    out = subprocess.run(["sshpass", "-p", asa["password"], "ssh", *opts, "-p", str(asa["port"]),
                          f"{asa['username']}@{asa['host']}", "dir disk0:"], capture_output=True, text=True,
                         timeout=30)
    assert image.name in out.stdout, out.stdout


def test_openssh_exec_and_interactive(lab_process, tmp_path):
    if not shutil.which("ssh") or not shutil.which("sshpass"):
        pytest.skip("OpenSSH client or sshpass not installed")
    endpoints, _ = lab_process()
    ssh = _ssh(endpoints)
    base = ["sshpass", "-p", ssh["password"], "ssh", "-o", "StrictHostKeyChecking=no", "-o",
            "UserKnownHostsFile=/dev/null", "-p", str(ssh["port"]), f"{ssh['username']}@{ssh['host']}"]
    out = subprocess.run(base + ["show version"], capture_output=True, text=True, timeout=30)
    assert "Version 7.4.1 (Build 172)" in out.stdout
    out = subprocess.run(base[:3] + ["ssh", "-tt"] + base[4:], input="show upgrade status\nexit\n",
                         capture_output=True, text=True, timeout=30)
    assert "No upgrade in progress." in out.stdout and "> " in out.stdout


def test_paramiko_sftp_upload_then_upgrade_from_expert(lab_process, tmp_path):
    """The runbook: upload by SFTP, start from expert mode, lose the session at
    reboot, be refused while booting, then find the new version."""
    endpoints, _ = lab_process()
    ssh = _ssh(endpoints)
    pkg = make_package("Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar", tmp_path)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(ssh["host"], ssh["port"], ssh["username"], ssh["password"], look_for_keys=False,
                   allow_agent=False)
    sftp = client.open_sftp()
    sftp.put(str(pkg), f"/var/sf/updates/{pkg.name}")
    sftp.close()
    chan = client.invoke_shell()
    transcript = _until(chan, "> ")
    for line, wait in (("expert", "$ "), (f"sudo install_update.pl --detach /var/sf/updates/{pkg.name}", "Password: "),
                       (ssh["password"], "$ ")):
        chan.send(line + "\n")
        transcript += _until(chan, wait)
    assert "install_update.pl begins" in transcript
    # virtual time jumps ahead whenever the lab is idle: the session drops at the reboot
    deadline = time.monotonic() + 30
    while not chan.closed and not chan.exit_status_ready() and time.monotonic() < deadline:
        if chan.recv_ready():
            transcript += chan.recv(65536).decode(errors="replace")
        time.sleep(0.02)
    assert chan.exit_status_ready() or chan.closed, "session should drop at reboot"
    client.close()
    version = None
    while time.monotonic() < deadline and version is None:
        try:
            c = paramiko.SSHClient()
            c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            c.connect(ssh["host"], ssh["port"], ssh["username"], ssh["password"], look_for_keys=False,
                      allow_agent=False, timeout=5)
            _, stdout, _ = c.exec_command("show version")
            version = stdout.read().decode()
            c.close()
        except (OSError, paramiko.SSHException):
            time.sleep(0.02)
    assert version is not None and "Version 7.6.0 (Build 113)" in version


def _until(chan, marker: str, timeout: float = 10) -> str:
    buf = ""
    deadline = time.monotonic() + timeout
    while marker not in buf:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {marker!r} in {buf[-300:]!r}")
        if chan.recv_ready():
            buf += chan.recv(65536).decode(errors="replace")
        else:
            time.sleep(0.01)
    return buf


def _curl(*args: str) -> tuple[int, str]:
    out = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    body, _, code = out.stdout.rpartition("\n")
    return int(code), body


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_fdm_upload_and_upgrade_with_the_lab_ca(lab_process, tmp_path):
    endpoints, _ = lab_process()
    https = endpoints["devices"][0]["https"]
    url, ca = https["url"], ["--cacert", https["ca"]]
    code, body = _curl(*ca, "-X", "POST", f"{url}/api/fdm/latest/fdm/token", "-H", "Content-Type: application/json",
                       "-d", json.dumps({"grant_type": "password", "username": "admin", "password": https["password"]}))
    assert code == 200, body
    auth = ["-H", f"Authorization: Bearer {json.loads(body)['access_token']}"]
    package = make_package("Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar", tmp_path)
    code, body = _curl(*ca, *auth, "-F", f"fileToUpload=@{package}", f"{url}/api/fdm/latest/action/uploadupgrade")
    assert code == 200 and json.loads(body)["id"] == package.name
    code, body = _curl(*ca, *auth, "-X", "POST", f"{url}/api/fdm/latest/action/upgrade?cancelOnFailure=true")
    assert code == 204, body
    code, body = _curl("-k", *auth, f"{url}/api/fdm/latest/operational/upgradestatus")
    status = json.loads(body)
    assert code == 200 and status["targetVersion"] == "7.6.0-113" and status["state"] in ("IN_PROGRESS", "COMPLETED")
    code, body = _curl(*ca, "-H", "Content-Type: application/json", "-X", "POST", "-d", "{not json",
                       f"{url}/api/fdm/latest/object/networks", *auth)
    assert code == 400 and json.loads(body)["error"]["messages"][0]["description"]


def test_requests_polls_the_upgrade_through_the_reboot(lab_process, tmp_path):
    import requests
    import urllib3

    urllib3.disable_warnings()
    endpoints, _ = lab_process("ftd-standalone", "--time-scale", "300")
    https = endpoints["devices"][0]["https"]
    api = https["url"] + "/api/fdm/latest"
    http = requests.Session()

    def login() -> None:
        r = http.post(f"{api}/fdm/token", json={"grant_type": "password", "username": "admin",
                                                 "password": https["password"]}, timeout=10, verify=False)
        r.raise_for_status()
        http.headers["Authorization"] = "Bearer " + r.json()["access_token"]

    login()
    package = make_package("Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar", tmp_path)
    with package.open("rb") as fh:
        http.post(f"{api}/action/uploadupgrade", files={"fileToUpload": (package.name, fh)},
                  timeout=10, verify=False).raise_for_status()
    assert http.post(f"{api}/action/upgrade", timeout=10, verify=False).status_code == 204
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            r = http.get(f"{api}/operational/upgradestatus", timeout=5, verify=False)
            outcome = r.status_code
        except requests.ConnectionError:
            outcome = "down"
        if outcome == 401:
            login()
            continue
        seen.append(outcome)
        if outcome == 200 and r.json()["state"] == "COMPLETED":
            break
        time.sleep(0.02)
    assert seen[-1] == 200 and r.json()["targetVersion"] == "7.6.0-113"
    assert 503 in seen and "down" in seen, sorted(set(map(str, seen)))


def test_ntc_templates_parse_ftd_show_failover_into_the_pair_roles(lab_process):
    """`show failover` of an FTD pair (ASA format, from the CLI or the diagnostic
    CLI) parsed by ntc-templates' cisco_asa template."""
    from ntc_templates.parse import parse_output

    endpoints, _ = lab_process("ftd-ha")
    for name, role, ours, mate in (("ftd-a", "Primary", "Active", "Standby Ready"),
                                   ("ftd-b", "Secondary", "Standby Ready", "Active")):
        ssh = _ssh(endpoints, name)
        conn = ConnectHandler(device_type="cisco_ftd", host=ssh["host"], port=ssh["port"],
                              username=ssh["username"], password=ssh["password"])
        try:
            raw = conn.send_command("show failover")
            parsed = parse_output(platform="cisco_asa", command="show failover", data=raw)
        finally:
            conn.disconnect()
        lines = raw.splitlines()                    # the real layout (reference/cli-samples.md)
        assert f"        This host: {role} - {ours} " in lines
        assert any(line.startswith("                slot 0: ") and "hw/sw rev (0.0/9.20(1)172)" in line
                   for line in lines)
        assert "        Logical Update Queue Information" in lines and not any("\t" in line for line in lines)
        assert parsed[0]["state"] == "On" and parsed[0]["role"] == role
        assert parsed[0]["service_state"] == [ours] and parsed[0]["service_state_mate"] == [mate]
        assert parsed[0]["sw_version"] == parsed[0]["sw_version_mate"] == "9.20(1)172"


def test_netmiko_cisco_asa_on_a_lab_pair(lab_process):
    """`simulator up asa-ha` as users run it: netmiko cisco_asa with the enable
    password from the endpoints file; ntc-templates reads the roles."""
    from ntc_templates.parse import parse_output

    endpoints, _ = lab_process("asa-ha")
    ssh = _ssh(endpoints, "asa-b")
    conn = ConnectHandler(device_type="cisco_asa", host=ssh["host"], port=ssh["port"], username=ssh["username"],
                          password=ssh["password"], secret=ssh["enable_password"])
    try:
        conn.enable()
        parsed = parse_output(platform="cisco_asa", command="show failover", data=conn.send_command("show failover"))
    finally:
        conn.disconnect()
    assert parsed[0]["role"] == "Secondary" and parsed[0]["service_state"] == ["Standby Ready"]
    assert parsed[0]["service_state_mate"] == ["Active"]
