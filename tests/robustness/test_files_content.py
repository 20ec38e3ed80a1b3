"""Item 3 of issue 12 (the content): the signature covers a vendor file's whole
content, so a package, bundle or image cut anywhere, or altered, fails the
device's own check — the FTD readiness check says "corrupt", the FXOS chassis
refuses the bundle, the ASA image does not boot — while a whole one passes."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncssh
import pytest

from simulator.kinds.asa.images import write_image
from simulator.kinds.asa.worker import inspect
from simulator.kinds.ftd.packages import inspect_package, make_package
from simulator.kinds.fxos.bundles import inspect_fxos_bundle, make_fxos_bundle
from simulator.lab import Lab
from simulator.signed import FILLER_BYTES
from tests.conftest import connect, ssh_port, upload

PACKAGE = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"
BUNDLE = "fxos-k9.2.14.1.131.SPA"
IMAGE = "asa9-20-2-smp-k8.bin"
CUTS = (0.1, 0.5, 0.9, 0.99)


def cut(path: Path, fraction: float, into: Path) -> Path:
    """A copy of `path` (same name) holding only its first `fraction` (at least one byte less)."""
    into.mkdir(parents=True, exist_ok=True)
    data = path.read_bytes()
    (into / path.name).write_bytes(data[:min(len(data) - 1, int(len(data) * fraction))])
    return into / path.name


def flipped(path: Path, offset_from_end: int, into: Path) -> Path:
    """A copy of `path` with one byte changed, `offset_from_end` bytes before its end."""
    into.mkdir(parents=True, exist_ok=True)
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0x01
    (into / path.name).write_bytes(bytes(data))
    return into / path.name


def test_the_manifest_declares_the_payload_and_the_file_stays_small(tmp_path):
    package = make_package(PACKAGE, tmp_path, size_mb=1450)
    info = inspect_package(package)
    assert (info.size_mb, info.problem) == (1450, None) and package.stat().st_size < 20_000
    bundle = inspect_fxos_bundle(make_fxos_bundle(BUNDLE, tmp_path))
    assert bundle.problem is None and bundle.size_kb == 853688


@pytest.mark.parametrize("fraction", CUTS)
def test_a_package_or_bundle_cut_anywhere_is_corrupt(tmp_path, fraction):
    package = make_package(PACKAGE, tmp_path / "good")
    bundle = make_fxos_bundle(BUNDLE, tmp_path / "good")
    assert inspect_package(cut(package, fraction, tmp_path / "cut")).problem == "corrupt"
    assert inspect_fxos_bundle(cut(bundle, fraction, tmp_path / "cut")).problem == "corrupt"


def test_an_altered_payload_is_corrupt_and_a_file_the_lab_did_not_sign_is_unsigned(tmp_path):
    package = make_package(PACKAGE, tmp_path / "good")
    bundle = make_fxos_bundle(BUNDLE, tmp_path / "good")
    # a byte in the payload (the last member, before the two end blocks)
    assert inspect_package(flipped(package, 1024 + FILLER_BYTES // 2, tmp_path / "a")).problem == "corrupt"
    assert inspect_fxos_bundle(flipped(bundle, 1024 + FILLER_BYTES // 2, tmp_path / "a")).problem == "corrupt"
    # a byte of the end blocks: the archive is not whole
    assert inspect_package(flipped(package, 1, tmp_path / "b")).problem == "corrupt"
    unsigned = make_package("Cisco_FTD_Upgrade-7.6.1-1.sh.REL.tar", tmp_path, unsigned=True)
    assert inspect_package(unsigned).problem == "signature"


async def test_a_package_cut_to_half_fails_the_readiness_check_as_corrupt(tmp_path):
    """The campaign's case: an SFTP upload of half a package; a whole one then passes."""
    async with Lab("ftd-standalone", state_dir=tmp_path / "state", virtual_time=True, seed=7) as lab:
        device = lab.devices["ftd-1"]
        good = make_package(PACKAGE, tmp_path / "pkgs")
        await upload(ssh_port(lab), cut(good, 0.5, tmp_path / "half"))
        assert device.package is not None and device.package.problem == "corrupt"
        check = device.run_readiness_check()
        assert await lab.clock.run_until(lambda: check.state != "IN_PROGRESS")
        assert check.state == "FAILED"
        assert check.messages == [f"Upgrade package {PACKAGE} is corrupt or incomplete. Upload the package again."]
        await upload(ssh_port(lab), good)
        assert device.package.problem is None
        check = device.run_readiness_check()
        assert await lab.clock.run_until(lambda: check.state != "IN_PROGRESS")
        assert check.state == "SUCCESS"


async def test_a_cut_bundle_is_refused_by_the_chassis(tmp_path):
    async with Lab("fxos-4100-standalone", state_dir=tmp_path / "state", virtual_time=True, seed=5) as lab:
        chassis = lab.devices["fpr4k-1"]
        own = lab.store.device_fs(chassis.name) / "usb"
        cut(make_fxos_bundle(BUNDLE, tmp_path / "good"), 0.5, own)
        task = chassis.start_download(f"/usb/{BUNDLE}")
        await lab.settle()
        assert await lab.clock.run_until(lambda: task.state != "Downloading")
        assert (task.state, task.error_code) == ("Failed", "ERR-DNLD-invalid-image")
        shutil.copy(tmp_path / "good" / BUNDLE, own / BUNDLE)
        task = chassis.start_download(f"/usb/{BUNDLE}")
        await lab.settle()
        assert await lab.clock.run_until(lambda: task.state != "Downloading", limit=4 * 3600)
        assert task.state == "Downloaded" and chassis.verify_platform("2.14(1.131)").ok


def test_an_asa_image_cut_altered_or_relabelled_is_spoiled(tmp_path):
    good = write_image(tmp_path / "good" / IMAGE, "9.20(2)", size=100_000)
    assert inspect(good)[1] == "ASA-SIM-IMAGE 9.20(2)"
    relabelled = tmp_path / "relabelled" / IMAGE
    relabelled.parent.mkdir()
    relabelled.write_bytes(good.read_bytes().replace(b"ASA-SIM-IMAGE 9.20(2)", b"ASA-SIM-IMAGE 9.22(1)", 1))
    for spoiled in (cut(good, 0.5, tmp_path / "cut"), flipped(good, 50_000, tmp_path / "flipped"), relabelled):
        assert inspect(spoiled)[1] == "ASA-SIM-IMAGE CORRUPT", spoiled


@pytest.mark.parametrize("fraction", CUTS)
async def test_a_cut_asa_image_does_not_boot(tmp_path, fraction):
    """`scp` of a cut image into disk0:: the unit keeps the file, but it is no bootable image."""
    good = write_image(tmp_path / "good" / IMAGE, "9.20(2)", size=200_000)
    async with Lab("asa-ha", state_dir=tmp_path / "state", virtual_time=True, seed=7) as lab:
        unit = lab.devices["asa-a"]
        async with await connect(ssh_port(lab, "asa-a")) as conn:
            await asyncssh.scp(str(cut(good, fraction, tmp_path / "cut")), (conn, f"disk0:/{IMAGE}"))
            assert unit.disk.file(IMAGE) is not None and unit.image_of(IMAGE) is None
            out = (await conn.run(f"verify disk0:/{IMAGE}")).stdout
            assert "INFO: No digital signature found" in out
            await asyncssh.scp(str(good), (conn, f"disk0:/{IMAGE}"))
            assert unit.image_of(IMAGE) is not None
            assert "Digital signature successfully validated" in (await conn.run(f"verify disk0:/{IMAGE}")).stdout
