"""Unit level: versions, package names and files, the clock, the command tree."""

import asyncio

import pytest

from simulator.clock import Clock
from simulator.kinds.ftd.packages import inspect_package, make_package
from simulator.kinds.ftd.versions import PackageName, Version, update_type
from simulator.kinds.ftd.views import tree
from simulator.terminal.tree import CliError, apply_filters, split_filters


def test_version_parse_order_and_types():
    assert str(Version.parse("7.4.1-172")) == "7.4.1-172"
    assert Version.parse("7.4.1.1-12").numbers == "7.4.1.1"
    assert Version.parse("7.6.0-113") > Version.parse("7.4.2-172")
    assert update_type(Version.parse("7.4.1-172"), Version.parse("7.6.0-113")) == "major"
    assert update_type(Version.parse("7.4.1-172"), Version.parse("7.4.2-172")) == "maintenance"
    assert update_type(Version.parse("7.4.1-172"), Version.parse("7.4.1.1-12")) == "patch"
    with pytest.raises(ValueError, match="A.B.C-build"):
        Version.parse("seven")


@pytest.mark.parametrize("name, platform, kind", [
    ("Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar", "SSP-FP3K", "upgrade"),
    ("Cisco_FTD_SSP_Upgrade-7.4.1-172.sh.REL.tar", "SSP", "upgrade"),
    ("Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar", "", "upgrade"),
    ("Cisco_FTD_SSP-FP1K_Patch-7.4.1.1-12.sh.REL.tar", "SSP-FP1K", "patch"),
    ("Cisco_FTD_Hotfix_AB-7.4.1.1-3.sh.REL.tar", "", "hotfix"),
])
def test_package_names_follow_table_3(name, platform, kind):
    parsed = PackageName.parse(name)
    assert (parsed.platform, parsed.kind) == (platform, kind)


def test_package_name_rejects_others():
    with pytest.raises(ValueError, match="Cisco_FTD_SSP-FP3K_Upgrade"):
        PackageName.parse("firmware.bin")


def test_package_files_carry_a_manifest_and_signature(tmp_path):
    good = inspect_package(make_package("Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar", tmp_path, size_mb=1500))
    assert (good.version, good.size_mb, good.problem) == ("7.6.0-113", 1500, None)
    assert good.file_bytes < 20_000
    unsigned = inspect_package(make_package("Cisco_FTD_Upgrade-7.6.1-1.sh.REL.tar", tmp_path, unsigned=True))
    assert unsigned.problem == "signature"
    corrupt = inspect_package(make_package("Cisco_FTD_Upgrade-7.6.2-1.sh.REL.tar", tmp_path, corrupt=True))
    assert corrupt.problem == "corrupt"
    renamed = tmp_path / "Cisco_FTD_Upgrade-7.6.3-1.sh.REL.tar"
    (tmp_path / "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar").rename(renamed)
    assert inspect_package(renamed).problem == "signature"


async def test_virtual_clock_fires_timers_in_order_only_when_advanced():
    clock = Clock(virtual=True, start=1000.0)
    fired = []
    clock.call_later(20, fired.append, "b")
    clock.call_later(10, fired.append, "a")
    clock.call_later(100, fired.append, "c").cancel()
    await asyncio.sleep(0)
    assert fired == []
    await clock.advance(15)
    assert fired == ["a"] and clock.now() == 1015.0
    assert await clock.run_until_idle() == 5.0
    assert fired == ["a", "b"]


async def test_scaled_clock_runs_faster_than_wall_time():
    clock = Clock(scale=1000.0)
    start = clock.now()
    await clock.sleep(50)  # 50 simulated seconds, 50 ms of wall time
    assert clock.now() - start >= 50
    fired = []
    clock.call_later(3600, fired.append, "late")
    before = clock.now()
    await clock.advance(7200)              # a scaled clock jumps ahead too, firing what was due
    assert fired == ["late"] and clock.now() - before >= 7200
    clock.pause()
    frozen = clock.now()
    await asyncio.sleep(0.02)
    assert clock.now() == frozen
    clock.resume()
    await asyncio.sleep(0.01)
    assert clock.now() > frozen
    with pytest.raises(RuntimeError):
        await clock.run_until_idle()


def test_tree_abbreviations_errors_help_and_completion():
    t = tree("cli")
    assert t.parse("sh ver").action == "show_version"
    parsed = t.parse("show upgrade status continuous det")
    assert parsed.action == "show_upgrade_status" and parsed.flags == {"continuous", "detail"}
    assert isinstance(t.parse("show"), CliError) and t.parse("show").kind == "incomplete"
    assert t.parse("s").kind == "ambiguous"
    assert t.parse("bogus").kind == "unknown"
    assert t.parse("configure network hostname bad_name!").kind == "unknown"
    assert t.parse("configure network hostname fw-2").args == {"hostname": "fw-2"}
    assert any("version" in line for line in t.help_lines("show "))
    assert t.complete("show vers") == ("show version ", [])
    assert t.complete("show ")[1][:4] == ["access-list", "arp", "asp", "bgp"]
    assert t.complete("show h") == ("show high-availability ", [])


def test_output_filters():
    assert split_filters("show version | include Model") == ("show version ", [("include", "Model")])
    assert split_filters("show version | bogus x") is None
    text = "a1\nb2\na3"
    assert apply_filters(text, [("include", "a")]) == "a1\na3"
    assert apply_filters(text, [("exclude", "a")]) == "b2"
    assert apply_filters(text, [("begin", "b")]) == "b2\na3"
