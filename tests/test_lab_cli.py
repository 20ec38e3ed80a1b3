"""Profiles, the `simulator` command line and a lab that survives its restart."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.cli import main as cli_main
from simulator.kinds.ftd.packages import inspect_package
from simulator.kinds.fxos.bundles import inspect_fxos_bundle
from simulator.lab import Lab
from simulator.profile import ProfileError, load
from tests.conftest import ROOT, open_terminal, ssh_port, stop_process, upload


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


@pytest.mark.parametrize("body, expected", [
    ("lab: x\ndevices:\n  - {name: a, model: FTDz, version: 7.4.1-172}\n",
     "devices[0].model: expected one of FTDv"),
    ("lab: x\ndevices:\n  - {name: a, model: FTDv, version: seven}\n",
     "devices[0].version: not an FTD version: 'seven'"),
    ("lab: x\ndevices:\n  - {name: a, model: FTDv, version: 7.4.1-172, colour: red}\n",
     "devices[0].colour: unknown key"),
    ("lab: x\ndevices:\n  - {name: a, model: FTDv}\n", "devices[0].version: required key is missing"),
    ("lab: x\ndevices:\n  - {name: 'a-{n}', model: FTDv, version: 7.4.1-172}\n", "`{n}` in a name needs `count`"),
    ("lab: x\ndevices:\n  - {name: a, model: FTDv, version: 7.4.1-172}\n  - {name: a, model: FTDv, "
     "version: 7.4.1-172}\n", "device name 'a' is used twice"),
    ("lab: x\ndevices: [\n", "not valid YAML"),
    ("lab: x\ndevices:\n  - {name: a, model: FTDv, version: 7.4.1-172, ssh_login: {tries: 5}}\n",
     "devices[0].ssh_login.tries: unknown key"),
    ("lab: x\ndevices:\n  - {name: a, model: FTDv, version: 7.4.1-172, ssh_login: {delay: -1}}\n",
     "devices[0].ssh_login.delay"),
    ("- just\n- a list\n", "expected a mapping"),
])
def test_broken_profiles_name_file_key_and_expectation(tmp_path, body, expected):
    path = tmp_path / "broken.yaml"
    path.write_text(body)
    with pytest.raises(ProfileError) as info:
        load(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_broken_profile_on_the_command_line_is_one_line_without_traceback(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("lab: x\ndevices:\n  - {name: a, model: FTDz, version: 7.4.1-172}\n")
    result = run_cli("up", str(path), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "broken.yaml: devices[0].model" in lines[0]
    assert not (tmp_path / "s").exists(), "nothing starts"
    unknown = run_cli("up", "no-such-lab")
    assert unknown.returncode == 2 and "bundled profiles: asa-active-active, asa-ha, fmc-managed, ftd-fleet" in unknown.stderr


def test_template_with_count_expands_to_a_fleet():
    profile = load({"lab": "t", "devices": [{"name": "ftd-{n}", "model": "FTDv", "version": "7.4.1-172",
                                             "count": 500}]})
    names = [d.name for d in profile.expanded()]
    assert len(names) == 500 and names[0] == "ftd-1" and names[-1] == "ftd-500"


def test_bundled_profiles_load():
    for name in ("ftd-standalone", "ftd-fleet", "ftd-scale"):
        assert load(name).devices


def test_package_make_command(tmp_path):
    result = run_cli("package", "make", "Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar", "--size-mb", "1500",
                     "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    path = tmp_path / "Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar"
    assert path.exists() and path.stat().st_size < 20_000
    bad = run_cli("package", "make", "firmware.bin", "-o", str(tmp_path))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "'firmware.bin' is not the name of a package" in bad.stderr and "fxos-k9.2.14.1.131.SPA" in bad.stderr


def test_package_make_for_each_kind_writes_what_that_kind_accepts(tmp_path, capsys):
    """`--for KIND --version V` names the file as the vendor does and the kind takes it
    (in-process: the command line's own `main`, as `python -m simulator` runs it)."""
    made = {}
    for args in (("ftd", "7.6.0-113", "SF-3120"), ("ftd", "7.4.1.1-12", None), ("fxos", "2.14(1.131)", None),
                 ("asa", "9.20(2)", None), ("asa", "9.18(4)", "ASA5516-X")):
        kind, version, model = args
        code = cli_main(["package", "make", "--for", kind, "--version", version,
                         *(["--model", model] if model else []), "-o", str(tmp_path)])
        out = capsys.readouterr()
        assert code == 0, out.err
        made[args] = Path(out.out.split()[0])
        assert made[args].exists()
    assert made[("ftd", "7.6.0-113", "SF-3120")].name == "Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar"
    assert made[("ftd", "7.4.1.1-12", None)].name == "Cisco_FTD_Patch-7.4.1.1-12.sh.REL.tar"
    assert inspect_package(made[("ftd", "7.6.0-113", "SF-3120")]).problem is None
    assert made[("fxos", "2.14(1.131)", None)].name == "fxos-k9.2.14.1.131.SPA"
    assert inspect_fxos_bundle(made[("fxos", "2.14(1.131)", None)]).version == "2.14(1.131)"
    assert made[("asa", "9.20(2)", None)].name == "asa9-20-2-smp-k8.bin"
    assert made[("asa", "9.18(4)", "ASA5516-X")].name == "asa9-18-4-lfbff-k8.SPA"
    assert cli_main(["package", "make", "--for", "fmc", "--version", "7.6.1-91", "-o", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split()[0].endswith("Cisco_Secure_FW_Mgmt_Center_Upgrade-7.6.1-91.sh.REL.tar")
    for bad in (("--for", "nosuch", "--version", "7.6.0-113"), ("--for", "ftd", "--version", "seven"),
                ("--for", "asa", "--version", "9.20(2)", "--model", "FTDv"), ("--for", "ftd")):
        assert cli_main(["package", "make", *bad, "-o", str(tmp_path)]) == 2
        assert capsys.readouterr().err.startswith("error:")


def test_up_prints_the_table_writes_endpoints_and_stops_cleanly(lab_process):
    endpoints, proc = lab_process("ftd-fleet")
    assert endpoints["lab"] == "ftd-fleet" and len(endpoints["devices"]) == 7
    first = endpoints["devices"][0]
    assert first["kind"] == "ftd" and first["ssh"]["host"] == "127.0.0.1" and first["ssh"]["port"] > 0
    assert first["https"]["url"].startswith("https://127.0.0.1:") and first["https"]["username"] == "admin"
    assert len({d["https"]["url"] for d in endpoints["devices"]}) == 7
    assert first["console"]["telnet"]["port"] > 0 and endpoints["control"]["url"].startswith("http://127.0.0.1:")
    code, out, err = stop_process(proc)
    assert code == 0, err
    assert "fpr4145-ld1" in out and "FPR-4145" in out and "7.4.1-172" in out and "Admin123" in out
    assert first["https"]["url"] in out
    assert f"dashboard: {endpoints['control']['url']}/ui/" in out
    assert "state kept" in out


async def test_lab_restarted_with_its_state_dir_keeps_versions_packages_and_history(tmp_path, packages):
    state = tmp_path / "state"
    async with Lab("ftd-standalone", state_dir=state, virtual_time=True, seed=3) as lab:
        ftd = lab.devices["ftd-1"]
        await upload(ssh_port(lab), packages("Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"))
        ftd.start_upgrade()
        await lab.clock.run_until(lambda: ftd.job.state == "COMPLETED")
        await lab.settle()
        await upload(ssh_port(lab), packages("Cisco_FTD_Upgrade-7.6.1-5.sh.REL.tar"))
        uuid, package_id, https = ftd.uuid, ftd.package_id, lab.https.sites["ftd-1"].url
    async with Lab("ftd-standalone", state_dir=state, virtual_time=True) as lab:
        ftd = lab.devices["ftd-1"]
        assert ftd.version == "7.6.0-113" and ftd.uuid == uuid
        assert ftd.package.filename == "Cisco_FTD_Upgrade-7.6.1-5.sh.REL.tar"
        assert ftd.history[-1]["to"] == "7.6.0-113" and ftd.revert.version == "7.4.1-172"
        assert ftd.package_id == package_id and lab.https.sites["ftd-1"].url != "" and https
        term = await open_terminal(ssh_port(lab))
        assert "Version 7.6.0 (Build 113)" in await term.cmd("show version")
        await term.close()
    lines = (state / "journal.jsonl").read_text().splitlines()
    assert any(json.loads(line)["kind"] == "upgrade.finished" for line in lines)


async def test_lab_stopped_mid_upgrade_resumes_it(tmp_path, packages):
    state = tmp_path / "state"
    async with Lab("ftd-standalone", state_dir=state, virtual_time=True) as lab:
        ftd = lab.devices["ftd-1"]
        await upload(ssh_port(lab), packages("Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"))
        ftd.start_upgrade()
        await lab.clock.advance(400)
        assert ftd.state == "upgrade_install"
    async with Lab("ftd-standalone", state_dir=state, virtual_time=True) as lab:
        ftd = lab.devices["ftd-1"]
        assert ftd.state == "upgrade_install"
        await lab.clock.run_until(lambda: ftd.job.state == "COMPLETED")
        assert ftd.version == "7.6.0-113"


async def test_active_active_units_show_their_groups_in_the_up_table_and_the_control_api(tmp_path):
    """asa-b holds group 2 active: neither the table nor /api/pairs may call it plain "Standby Ready"."""
    import httpx

    from simulator import cli
    async with Lab("asa-active-active", state_dir=tmp_path / "state", virtual_time=True, seed=7) as lab:
        with cli.console.capture() as captured:
            cli._print_lab(lab, 0.1)
        table = captured.get()
        row = next(line for line in table.splitlines() if line.strip().startswith("asa-b"))
        assert "secondary/g1 Standby Ready, g2 Active" in row
        async with httpx.AsyncClient(base_url=lab.control.url) as control:
            pair = (await control.get("/api/pairs")).json()["items"][0]
        assert pair["groups"] == {"1": {"asa-a": "Active", "asa-b": "Standby Ready"},
                                  "2": {"asa-a": "Standby Ready", "asa-b": "Active"}}
