"""SPS firmware ISOs: `sps-7.0.2.1-lts-firmware.iso` (the name is RECONSTRUCTED:
no public source gave One Identity's file names). A small signed vendor file
(simulator/signed.py) stands for the ~1.5 GB ISO: its manifest carries the
version, the upgrade notes and news, and the declared size."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from simulator.kinds.sps.facts import SpsVersion, sps
from simulator.signed import SignedFile, cut_short, read_signed, write_signed

PRODUCT = "SPS"
_SIGNING_KEY = b"simulator: One Identity SPS firmware signing key stand-in"
_NAME = re.compile(r"^sps-(?P<version>\d+(?:\.\d+){1,3})(?P<lts>-lts)?-firmware\.iso$")
EXAMPLE = "sps-7.0.2.1-lts-firmware.iso"


def iso_name(version: str) -> str:
    v = SpsVersion.parse(version)
    return f"sps-{v}{'-lts' if v.lts else ''}-firmware.iso"


def is_sps_iso(filename: str) -> bool:
    return _NAME.match(filename) is not None


@dataclass(frozen=True)
class Firmware(SignedFile):
    """What SPS reads from an uploaded ISO."""

    version: str | None          # None: not readable
    upgrade_notes: str
    upgrade_news: str
    size_mb: int
    signed: bool
    intact: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_iso(filename: str, directory: Path, *, size_mb: int | None = None, unsigned: bool = False,
             corrupt: bool = False) -> Path:
    match = _NAME.match(filename)
    if match is None:
        raise ValueError(f"not an SPS firmware name: {filename!r} (expected e.g. {EXAMPLE})")
    version = SpsVersion.parse(match["version"])
    notes = {key: value.format(label=version.label) for key, value in sps().firmware_texts.items()}
    path = write_signed(directory / filename, {"product": PRODUCT, "version": str(version), **notes,
                                               "size_mb": size_mb or sps().firmware_mb},
                        _SIGNING_KEY, payload="firmware.img", unsigned=unsigned)
    if corrupt:
        cut_short(path, 700)
    return path


def inspect_iso(path: Path) -> Firmware:
    """Read a firmware file as SPS does (bounded reads)."""
    try:
        meta, signed = read_signed(path, _SIGNING_KEY)
        if meta.get("product") != PRODUCT:
            raise ValueError("not SPS firmware")
        return Firmware(str(SpsVersion.parse(meta["version"])), str(meta["upgrade_notes"]),
                        str(meta["upgrade_news"]), int(meta["size_mb"]), signed=signed, intact=True)
    except (ValueError, KeyError, TypeError):
        return Firmware(None, "", "", 0, signed=False, intact=False)


def file_upload(partial: Path, folder: Path, slot: int) -> tuple[Path, Firmware]:
    """An uploaded body (a raw body has no file name) kept as slot `slot`'s image,
    under the name the ISO was made with, so its signature can be checked."""
    try:
        meta, _ = read_signed(partial, _SIGNING_KEY)
        made_as = str(meta.get("filename", ""))
    except ValueError:
        made_as = ""
    folder = folder / f"slot{slot}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    path = folder / (made_as if is_sps_iso(made_as) else "firmware.iso")
    partial.replace(path)
    return path, inspect_iso(path)
