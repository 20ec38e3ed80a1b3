"""scripts/runbooks/fmc_upgrade.py against the fmc-managed lab on scaled time,
as a user runs it against a real FMC: seed 001's order (the FMC first, then an
HA pair, then a standalone FTD), pending changes deployed first, progress and a
summary with the probes each pair lost."""

from __future__ import annotations

import httpx
import pytest

from simulator.kinds.fmc.packages import make_fmc_package
from simulator.kinds.ftd.packages import make_package
from tests.test_runbooks import run

pytestmark = pytest.mark.clients
FMC_761 = "Cisco_Secure_FW_Mgmt_Center_Upgrade-7.6.1-91.sh.REL.tar"
PACKAGES = ("Cisco_FTD_Upgrade-7.6.1-291.sh.REL.tar", "Cisco_FTD_SSP-FP3K_Upgrade-7.6.1-291.sh.REL.tar")


def _lab(lab_process, tmp_path):
    endpoints, _ = lab_process("fmc-managed", "--time-scale", "400")
    fmc = next(d for d in endpoints["devices"] if d["name"] == "fmc")
    files = [make_fmc_package(FMC_761, tmp_path, size_mb=None, unsigned=False, corrupt=False)]
    files += [make_package(name, tmp_path) for name in PACKAGES]
    args = ["--url", fmc["https"]["url"], "--password", fmc["https"]["password"], "--poll", "0.2",
            "--ssh", f"{fmc['ssh']['host']}:{fmc['ssh']['port']}"]
    return endpoints, fmc, files, args


def test_the_fmc_first_then_a_pair_then_a_standalone_ftd(lab_process, tmp_path):
    endpoints, fmc, files, args = _lab(lab_process, tmp_path)
    probe = next(p["probe"] for p in endpoints["pairs"] if p["name"] == "ftdv-ha")
    with httpx.Client(base_url=fmc["https"]["url"], verify=False) as client:     # a change to deploy first
        token = client.post("/api/fmc_platform/v1/auth/generatetoken", auth=("admin", "Admin123")).headers
        client.post(f"/api/fmc_config/v1/domain/{token['DOMAIN_UUID']}/object/networks",
                    headers={"X-auth-access-token": token["X-auth-access-token"]},
                    json={"name": "branch", "value": "192.0.2.0/24"}).raise_for_status()
    out = run("fmc_upgrade.py", *args, *[a for f in files for a in ("--upload", str(f))], "--fmc-package", FMC_761,
              "--target", "7.6.1", "--pair", "ftdv-ha", "--device", "sf3120-1",
              "--probe", f"ftdv-ha={probe['host']}:{probe['port']}")
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    order = [text.index(s) for s in ("management center: readiness check", "management center: now running 7.6.1",
                                     "ftdv-ha (ftdv-a, ftdv-b): running 7.4.2", "sf3120-1 (sf3120-1): running 7.4.1")]
    assert order == sorted(order)
    assert text.count("deploying pending configuration changes first") == 2
    assert "ftdv-ha: upgrade COMPLETED - now running 7.6.1" in text
    assert "sf3120-1: upgrade COMPLETED - now running 7.6.1" in text
    summary = text[text.index("FMC-managed upgrade:"):]
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in summary.splitlines() if line.count("│") > 4}
    assert rows["management center"][:3] == ["7.6.0", "7.6.1", "COMPLETED"]
    assert rows["ftdv-ha"][:3] == ["7.4.2", "7.6.1", "COMPLETED"] and rows["ftdv-ha"][4].isdigit()
    assert rows["sf3120-1"][:3] == ["7.4.1", "7.6.1", "COMPLETED"] and rows["sf3120-1"][4] == "-"


def test_a_device_past_the_fmc_stops_the_runbook_before_anything_changes(lab_process, tmp_path):
    _, _, files, args = _lab(lab_process, tmp_path)
    out = run("fmc_upgrade.py", *args, "--upload", str(files[1]), "--target", "7.6.1", "--device", "sf3120-1")
    assert out.returncode == 1
    assert "upgrade stopped: the management center runs 7.6.0: upgrade it first" in " ".join(out.stdout.split())
