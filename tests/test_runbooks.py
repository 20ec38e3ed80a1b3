"""The runbooks in scripts/runbooks/ against labs on scaled time, as a user
runs them against real devices: only the REST endpoints, a final summary."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time

import pytest

from simulator.kinds.asa.images import write_image
from simulator.kinds.ftd.packages import make_package
from simulator.kinds.fxos.bundles import make_fxos_bundle
from simulator.kinds.sps.packages import make_iso
from tests.conftest import ROOT

UPGRADE_76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
RUNBOOKS = ROOT / "scripts" / "runbooks"
pytestmark = pytest.mark.clients


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUNBOOKS / script), *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def test_ftd_standalone_runbook(lab_process, tmp_path):
    endpoints, _ = lab_process("ftd-standalone", "--time-scale", "300")
    https = endpoints["devices"][0]["https"]
    package = make_package(UPGRADE_76, tmp_path)
    out = run("ftd_upgrade.py", "--url", https["url"], "--password", https["password"], "--ca", https["ca"],
              "--poll", "0.1", str(package))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "readiness check passed" in out.stdout and "upgrade COMPLETED - now running 7.6.0-113" in out.stdout
    assert "7.4.1-172" in out.stdout and "COMPLETED" in out.stdout and " min" in out.stdout


def test_ftd_standalone_runbook_reports_a_refused_upgrade(lab_process, tmp_path):
    endpoints, _ = lab_process("ftd-standalone", "--time-scale", "300")
    https = endpoints["devices"][0]["https"]
    package = make_package("Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar", tmp_path)   # wrong model
    out = run("ftd_upgrade.py", "--url", https["url"], "--password", https["password"], "--poll", "0.1",
              str(package))
    assert out.returncode == 1 and "readiness check failed" in out.stdout and "Unsupported device model" in out.stdout


def test_ftd_ha_runbook_loses_no_traffic(lab_process, tmp_path):
    endpoints, _ = lab_process("ftd-ha", "--time-scale", "400")
    units = [d["https"] for d in endpoints["devices"]]
    probe = endpoints["pairs"][0]["probe"]
    package = make_package(UPGRADE_76, tmp_path)
    out = run("ftd_ha_upgrade.py", "--unit", units[0]["url"], "--unit", units[1]["url"], "--password",
              units[0]["password"], "--poll", "0.1", "--probe", f"{probe['host']}:{probe['port']}", str(package))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "step 2: switch roles" in out.stdout and out.stdout.count("upgrade COMPLETED - now running 7.6.0-113") == 2
    assert "traffic: 0 probes lost" in out.stdout


@pytest.fixture
def http_files(tmp_path):
    """`python -m http.server` on loopback serving a folder; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield root, f"http://127.0.0.1:{port}"
    proc.kill()
    proc.wait()


@pytest.fixture
def image_server(http_files):
    """The ASA 9.20(2) image over HTTP."""
    root, base = http_files
    write_image(root / "asa9-20-2-smp-k8.bin", "9.20(2)")
    return f"{base}/asa9-20-2-smp-k8.bin"


@pytest.fixture
def bundle_server(http_files):
    """The FXOS 2.14 platform bundle over HTTP."""
    root, base = http_files
    make_fxos_bundle("fxos-k9.2.14.1.131.SPA", root)
    return f"{base}/fxos-k9.2.14.1.131.SPA"


@pytest.mark.parametrize("profile, extra", [("asa-ha", []), ("asa-active-active", ["--active-active"])])
def test_asa_runbooks(lab_process, image_server, profile, extra):
    endpoints, _ = lab_process(profile, "--time-scale", "100")
    units = {d["name"]: d["ssh"] for d in endpoints["devices"]}
    probe = endpoints["pairs"][0]["probe"]
    out = run("asa_upgrade.py", "--primary", f"127.0.0.1:{units['asa-a']['port']}",
              "--secondary", f"127.0.0.1:{units['asa-b']['port']}", "--password", units["asa-a"]["password"],
              "--image-url", image_server, "--poll", "0.5", *extra)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("9.19(1)") >= 2 and out.stdout.count("9.20(2)") >= 2, out.stdout
    with socket.create_connection((probe["host"], probe["port"]), timeout=5) as sock:
        report = json.loads(sock.makefile().readline())
    assert report["lost_probes"] == 0, report


def test_fxos_runbook(lab_process, bundle_server):
    endpoints, _ = lab_process("fxos-4100-standalone", "--time-scale", "200")
    https = next(d for d in endpoints["devices"] if d["kind"] == "fxos")["https"]
    out = run("fxos_upgrade.py", "--url", https["url"], "--password", https["password"], "--bundle-url",
              bundle_server, "--poll", "0.3")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2.12(0.498)" in out.stdout and "2.14(1.131)" in out.stdout and "1 online" in out.stdout
    assert "ftd-1 online" in out.stdout, out.stdout


def test_ftd_ha_on_two_chassis_runbook(lab_process, bundle_server, tmp_path):
    endpoints, _ = lab_process("ftd-ha-on-4100", "--time-scale", "400")
    https = {d["name"]: d["https"] for d in endpoints["devices"]}
    probe = endpoints["pairs"][0]["probe"]
    package = make_package("Cisco_FTD_SSP_Upgrade-7.4.1-172.sh.REL.tar", tmp_path)
    out = run("ftd_ha_chassis_upgrade.py", "--chassis", https["chassis-a"]["url"], "--unit", https["ftd-a"]["url"],
              "--chassis", https["chassis-b"]["url"], "--unit", https["ftd-b"]["url"], "--password", "Admin123",
              "--bundle-url", bundle_server, "--poll", "0.2", "--probe", f"{probe['host']}:{probe['port']}",
              str(package))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "6. upgrade threat defense on the original standby" in out.stdout
    assert out.stdout.count("upgrade COMPLETED - now running 7.4.1-172") == 2
    assert "traffic: 0 probes lost" in out.stdout


@pytest.mark.parametrize("power_on", ["control", "ipmitool"])
def test_sps_ha_runbook(lab_process, tmp_path, power_on):
    """Seed 004 H1-H11 on scaled time; the control API, or Debian's ipmitool over the secondary's
    BMC (IPMI over LAN), powers the secondary on (H9)."""
    if power_on == "ipmitool" and not shutil.which("ipmitool"):
        pytest.skip("ipmitool not installed (apt-get install ipmitool; .ci/run does it as root)")
    endpoints, _ = lab_process("sps-ha", "--time-scale", "2000")
    nodes = [d["https"] for d in endpoints["devices"]]
    if power_on == "control":
        step = "control:" + json.loads((tmp_path / "state" / "control.json").read_text())["url"]
    else:
        ipmi = endpoints["devices"][1]["bmc"]["ipmi"]
        step = (f"cmd:ipmitool -I lanplus -H {ipmi['host']} -p {ipmi['port']} -U {ipmi['username']} "
                f"-P {ipmi['password']} chassis power on")
    iso = make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path)
    out = run("sps_ha_upgrade.py", "--node", nodes[0]["url"], "--node", nodes[1]["url"], "--password",
              nodes[0]["password"], "--ca", nodes[0]["ca"], "--poll", "0.05", "--power-on", step, str(iso))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "H7-H8 reboot this node: 6.0.3 -> 7.0.2.1" in out.stdout
    assert "H10 verify: HA, both on 7.0.2.1" in out.stdout and "is the master; HA" in out.stdout
