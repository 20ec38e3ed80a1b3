"""ASA image files made by the lab (`simulator package make asa9-20-2-smp-k8.bin`,
tests): stand-in images whose sealed header names their version, size and
digest (disk.py)."""

from __future__ import annotations

from pathlib import Path

from simulator.kinds.asa.disk import MIN_IMAGE, image_header
from simulator.kinds.asa.facts import asa_data
from simulator.kinds.asa.versions import AsaVersion, ImageName, image_name


def write_image(path: Path, version: AsaVersion | str, size: int = 4096) -> Path:
    """A stand-in image file for `version`, max(size, MIN_IMAGE) bytes (what a lab or test copies to disk0:)."""
    header = image_header(str(AsaVersion.parse(str(version))), size)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write(header)
        out.truncate(max(size, MIN_IMAGE))     # zeros, without holding them in memory
    return path


class AsaImages:
    """What `simulator package make` writes for the ASA."""

    example = "asa9-20-2-smp-k8.bin"

    def accepts(self, filename: str) -> bool:
        return ImageName.parse(filename) is not None

    def filename(self, version: str, model: str | None) -> str:
        data = asa_data()
        if model is not None and model not in data.models:
            raise ValueError(f"not an ASA model: {model!r} (expected one of {', '.join(data.models)})")
        return image_name(data.models[model or "ASAv"].families[0], AsaVersion.parse(version))

    def make(self, filename: str, directory: Path, *, size_mb: int | None, unsigned: bool,
             corrupt: bool) -> Path:
        image = ImageName.parse(filename)
        if image is None:
            raise ValueError(f"not an ASA image name: {filename!r} (expected e.g. {self.example})")
        if unsigned or corrupt:
            raise ValueError("ASA images are not signed: --unsigned and --corrupt are for FTD packages and "
                             "FXOS bundles")
        return write_image(directory / filename, image.version, size=(size_mb or 0) * 1024 * 1024 or 4096)
