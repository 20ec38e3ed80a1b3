"""`simulator package make --for sps`: a small firmware ISO named as the
vendor's, carrying its version, signature and upgrade notes."""

from __future__ import annotations

from pathlib import Path

from simulator.cli import main as cli_main
from simulator.kinds.sps.packages import inspect_iso, make_iso


def test_package_make_for_sps_writes_the_lts_iso(tmp_path, capsys):
    assert cli_main(["package", "make", "--for", "sps", "--version", "7.0.2.1", "-o", str(tmp_path)]) == 0
    path = Path(capsys.readouterr().out.split()[0])
    assert path.name == "sps-7.0.2.1-lts-firmware.iso" and path.stat().st_size < 64 * 1024
    firmware = inspect_iso(path)
    assert firmware.version == "7.0.2.1" and firmware.problem is None
    assert "7.0.2.1 LTS" in firmware.upgrade_notes
    assert cli_main(["package", "make", "--for", "sps", "--version", "7.5.1", "-o", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split()[0].endswith("sps-7.5.1-firmware.iso")
    assert cli_main(["package", "make", "--for", "sps", "--version", "seven", "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_a_renamed_unsigned_or_cut_iso_is_told_apart(tmp_path):
    good = make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path / "a")
    renamed = good.rename(tmp_path / "a" / "sps-7.0.3-lts-firmware.iso")
    assert inspect_iso(renamed).problem == "signature"
    assert inspect_iso(make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path / "b", unsigned=True)).problem == "signature"
    assert inspect_iso(make_iso("sps-7.0.2.1-lts-firmware.iso", tmp_path / "c", corrupt=True)).problem == "corrupt"
