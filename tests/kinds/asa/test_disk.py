"""disk0: as a catalogue in the model and a folder kept in step by the kind's
worker: the unit's own image, files found there, deletes, reimages, copies
(from the lab's import directory, inside disk0:, over HTTP; never another
file of the lab host) and how they fail."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from simulator.clock import Clock
from simulator.faults import FaultPlan
from simulator.journal import Journal
from simulator.kinds.asa.disk import FOLDERS, Disk, stand_in
from simulator.kinds.asa.facts import say
from simulator.kinds.asa.images import write_image
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.asa.worker import AsaDiskWorker
from simulator.kinds.base import DeviceContext, Refused
from tests.kinds.asa.test_asa import START


@pytest.fixture
def unit(tmp_path):
    clock = Clock(virtual=True, start=START)
    ctx = DeviceContext(clock, Journal(clock.now), FaultPlan(lambda: 0.0), random.Random(1))
    asa = AsaDevice(ctx, "asa-1", "ASAv", "9.19(1)")
    asa.import_dir = tmp_path / "import"
    asa.import_dir.mkdir()
    worker = AsaDiskWorker(asa, tmp_path / "disk0")
    yield asa, worker
    worker.detach()


async def _copy(asa: AsaDevice, worker: AsaDiskWorker, source: str, name: str, shown: str):
    job = asa.start_copy(source, name, shown)
    await worker.settled()
    return job


def test_the_catalogue_knows_the_units_image_without_touching_a_disk(unit):
    asa, worker = unit
    image = asa.disk.file("asa9-19-1-smp-k8.bin")
    assert image is not None and image.made and image.md5 == hashlib.md5(stand_in("9.19(1)")).hexdigest()
    assert {e.name for e in asa.disk.listing() if e.is_dir} == set(FOLDERS)
    assert not worker.folder.exists()                    # nothing written before the worker is attached
    assert asa.disk.free == asa.disk.total - image.size


def test_disk_worker_keeps_disk0_in_step(unit):
    asa, worker = unit
    folder = worker.folder
    write_image(folder / "asa9-20-2-smp-k8.bin", "9.20(2)", size=10_000)       # there before the lab started
    asa.file_arrived("gone.txt", 5, None, "x")                               # known, but not in the folder
    worker.attach()
    image = folder / "asa9-19-1-smp-k8.bin"
    assert image.read_bytes() == stand_in("9.19(1)") and all((folder / name).is_dir() for name in FOLDERS)
    found = asa.disk.file("asa9-20-2-smp-k8.bin")
    assert found is not None and found.size == 10_000 and asa.image_of(found.name) is not None
    assert asa.disk.file("gone.txt") is None
    asa.delete_file("asa9-20-2-smp-k8.bin")
    assert not (folder / "asa9-20-2-smp-k8.bin").exists()
    asa.reimage("9.20(2)")                   # the unit makes its new image; the worker writes it
    assert (folder / "asa9-20-2-smp-k8.bin").read_bytes() == stand_in("9.20(2)")


def test_the_catalogue_survives_a_snapshot(unit):
    asa, _worker = unit
    asa.file_arrived("notes.txt", 5, None, "abc")
    again = AsaDevice(asa.ctx, "asa-1", "ASAv", "9.19(1)")
    again.restore(asa.snapshot())
    assert again.disk.file("notes.txt") == asa.disk.file("notes.txt")
    with pytest.raises(Refused) as refused:
        Disk.check_name("log/../../x")
    assert refused.value.message == say("refuse", "no_file", name="log/../../x")


async def test_copies_from_the_import_directory_and_inside_disk0(unit, tmp_path):
    asa, worker = unit
    worker.attach()
    local = write_image(tmp_path / "import" / "asa9-20-2-smp-k8.bin", "9.20(2)", size=20_000)
    job = await _copy(asa, worker, str(local), "asa9-20-2-smp-k8.bin", str(local))
    assert job.state == "done" and job.size == 20_000
    entry = asa.disk.file("asa9-20-2-smp-k8.bin")
    assert entry is not None and entry.md5 == hashlib.md5(local.read_bytes()).hexdigest()
    job = await _copy(asa, worker, "disk0:/asa9-20-2-smp-k8.bin", "b.bin", "disk0:/asa9-20-2-smp-k8.bin")
    assert job.state == "done" and (worker.folder / "b.bin").read_bytes() == local.read_bytes()
    assert not list(worker.folder.glob(".*.part"))
    with pytest.raises(Refused) as refused:
        asa.start_copy("disk0:/nothing.bin", "x.bin", "disk0:/nothing.bin")
    assert refused.value.message == "%Error opening disk0:/nothing.bin (No such file or directory)"


async def test_failed_copies_in_the_units_words(unit, tmp_path):
    asa, worker = unit
    worker.attach()
    job = await _copy(asa, worker, str(tmp_path / "import" / "none.bin"), "x.bin", "/none.bin")
    assert job.message == "%Error opening /none.bin (No such file or directory)"
    refused = await _copy(asa, worker, "http://127.0.0.1:1/x.bin", "x.bin", "http://127.0.0.1:1/x.bin")
    assert refused.message == "%Error opening http://127.0.0.1:1/x.bin (Connection refused)"
    big = tmp_path / "import" / "big.bin"
    big.write_bytes(b"\0" * 100)
    asa.disk.total = asa.disk.used + 50
    job = await _copy(asa, worker, str(big), "big.bin", str(big))
    assert job.message == "%Error writing disk0:/big.bin (No space left on device)"
    assert asa.disk.file("big.bin") is None and not list(worker.folder.glob("*big*"))
    worker.detach()                          # no worker: the unit cannot copy
    job = asa.start_copy(str(big), "big.bin", str(big))
    assert job.state == "failed" and job.message == f"%Error opening {big} (No such device)"


async def test_a_corrupt_transfer_leaves_an_image_that_does_not_boot(unit, tmp_path):
    asa, worker = unit
    worker.attach()
    local = write_image(tmp_path / "import" / "asa9-20-2-smp-k8.bin", "9.20(2)", size=20_000)
    asa.ctx.faults.add("package.transfer", "corrupt", device=asa.name)
    job = await _copy(asa, worker, str(local), local.name, str(local))
    assert job.state == "done" and asa.image_of(local.name) is None
    asa.ctx.faults.add("package.transfer", "fail", device=asa.name)
    with pytest.raises(Refused, match="I/O error"):
        asa.start_copy(str(local), "y.bin", str(local))


async def test_http_copies_and_their_errors(unit, images):
    asa, worker = unit
    worker.attach()
    url = images("asa9-20-2-smp-k8.bin")
    job = await _copy(asa, worker, url, "asa9-20-2-smp-k8.bin", url)
    assert job.state == "done" and job.size == 65536 and asa.image_of("asa9-20-2-smp-k8.bin") is not None
    job = await _copy(asa, worker, url + ".no", "no.bin", url + ".no")
    assert job.message == f"%Error opening {url}.no (No such file or directory)"
    assert not any(p.name.endswith(".part") for p in Path(worker.folder).iterdir())


async def test_a_restarted_lab_finds_disk0_as_it_was(tmp_path):
    from simulator.kinds.asa.ssh import SSH
    from simulator.lab import Lab

    state = tmp_path / "state"
    async with Lab("asa-ha", state_dir=state, virtual_time=True, seed=7) as lab:
        unit = lab.devices["asa-a"]
        folder = lab.store.device_fs("asa-a")
        await SSH.file_arrived(unit, write_image(folder / "asa9-20-2-smp-k8.bin", "9.20(2)"), None)  # an SCP upload
        unit.delete_file("asa9-19-1-smp-k8.bin")
    (folder / "notes.txt").write_text("hello")           # put there while the lab was stopped
    async with Lab("asa-ha", state_dir=state, virtual_time=True) as lab:
        disk = lab.devices["asa-a"].disk
        assert disk.file("asa9-20-2-smp-k8.bin") is not None and disk.file("asa9-19-1-smp-k8.bin") is None
        assert disk.file("notes.txt") is not None and not (folder / "asa9-19-1-smp-k8.bin").exists()
