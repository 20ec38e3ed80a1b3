"""Item 6 of issue 12: a local path as a transfer source means the device's own
file system or the lab's import directory (a profile's `import_dir`), never
another file of the lab host: ASA `copy /etc/hostname disk0:/leak.txt` and
FXOS `download image /any/host/path` fail as the devices do for a missing file."""

from __future__ import annotations

from pathlib import Path

from simulator.kinds.asa.images import write_image
from simulator.kinds.fxos.bundles import make_fxos_bundle
from simulator.lab import Lab
from simulator.transfer import LocalFiles
from tests.conftest import connect, ssh_port

BUNDLE = "fxos-k9.2.14.1.131.SPA"
IMAGE = "asa9-20-2-smp-k8.bin"


def profile(imports: Path) -> dict:
    return {"lab": "sources", "devices": [
        {"name": "asa-1", "kind": "asa", "model": "ASAv", "version": "9.19(1)", "import_dir": str(imports)},
        {"name": "fpr4k-1", "kind": "fxos", "model": "FPR-4145", "version": "2.12(0.498)", "import_dir": str(imports),
         "modules": [{"slot": 1, "apps": [{"device": "ftd-1"}]}]},
        {"name": "ftd-1", "model": "FPR-4145", "version": "7.2.5-208"}]}


async def copy(port: int, source: str, name: str) -> str:
    async with await connect(port) as conn:
        return (await conn.run(f"copy /noconfirm {source} disk0:/{name}")).stdout


async def test_a_host_file_is_no_copy_source_but_the_import_directory_is(tmp_path):
    imports = tmp_path / "import"
    write_image(imports / IMAGE, "9.20(2)", size=20_000)
    (tmp_path / "secret.txt").write_text("host secret")
    async with Lab(profile(imports), state_dir=tmp_path / "state", virtual_time=True, seed=3) as lab:
        unit, port, disk0 = lab.devices["asa-1"], ssh_port(lab, "asa-1"), lab.store.device_fs("asa-1")
        for source in ("/etc/hostname", "file:///etc/hostname", str(tmp_path / "secret.txt"),
                       f"{imports}/../secret.txt", "/../../../../etc/hostname"):
            out = await copy(port, source, "leak.txt")
            assert f"%Error opening {source} (No such file or directory)" in out, out
            assert unit.disk.file("leak.txt") is None and not (disk0 / "leak.txt").exists()
        out = await copy(port, str(imports / IMAGE), IMAGE)
        assert "20000 bytes copied" in out and unit.image_of(IMAGE) is not None
        out = await copy(port, f"/{IMAGE}", "again.bin")         # a path of disk0: itself
        assert "20000 bytes copied" in out


async def test_fxos_downloads_read_no_host_file(tmp_path):
    imports = tmp_path / "import"
    make_fxos_bundle(BUNDLE, imports)
    make_fxos_bundle(BUNDLE, tmp_path / "host")
    async with Lab(profile(imports), state_dir=tmp_path / "state", virtual_time=True, seed=3) as lab:
        chassis = lab.devices["fpr4k-1"]

        async def download(url: str):
            task = chassis.start_download(url)
            await lab.settle()
            assert await lab.clock.run_until(lambda: task.state != "Downloading", limit=4 * 3600)
            return task

        for path in ("/etc/hostname", str(tmp_path / "host" / BUNDLE), f"/../../../../../{tmp_path}/host/{BUNDLE}"):
            task = await download(path)
            assert (task.state, task.error_code, task.error_text) == (
                "Failed", "ERR-DNLD-no-file", f"Specified file not found: {path}")
        assert (await download(str(imports / BUNDLE))).state == "Downloaded"


def test_local_files_stay_inside_their_folders(tmp_path):
    root, imports = tmp_path / "fs", tmp_path / "import"
    (root / "sub").mkdir(parents=True)
    imports.mkdir()
    (root / "sub" / "a.bin").write_text("a")
    (imports / "b.bin").write_text("b")
    (tmp_path / "host.txt").write_text("host")
    (root / "link").symlink_to(tmp_path / "host.txt")
    (imports / "link").symlink_to(tmp_path / "host.txt")
    local = LocalFiles(root, imports)
    assert local.find("/sub/a.bin") == (root / "sub" / "a.bin").resolve()
    assert local.find(str(imports / "b.bin")) == (imports / "b.bin").resolve()
    for outside in ("/link", str(imports / "link"), str(tmp_path / "host.txt"), "/../host.txt", "/sub",
                    "/" + "x" * 5000, "/a\0b", str(imports)):
        assert local.find(outside) is None, outside
    assert LocalFiles(root).find(str(imports / "b.bin")) is None
