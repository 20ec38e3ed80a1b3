"""Upgrade package files: small real tar files that stand for big vendor packages.

A package is a tar archive named as the vendor names it, holding a
`manifest.json` (platform, kind, version, declared installed size) and a
`signature` over the manifest. The lab can so model a 1.5 GB package without
writing 1.5 GB, and still tell a good package from an unsigned, renamed or
corrupt one the way the device's readiness check does."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from simulator.kinds.ftd import facts as ftd_facts
from simulator.kinds.ftd.versions import PackageName, Version

# Stands for the vendor's signing key: only `simulator package make` signs.
_SIGNING_KEY = b"simulator: Cisco release signing key stand-in"
MANIFEST = "manifest.json"
SIGNATURE = "signature"
CUT_AT = 700   # bytes: inside the first member's data


class SignedFile:
    """A vendor file checked on arrival: readable (`intact`) and signed (`signed`)."""

    signed: bool
    intact: bool

    @property
    def problem(self) -> str | None:
        """`corrupt`, `signature` or None: what the device's check will say."""
        if not self.intact:
            return "corrupt"
        if not self.signed:
            return "signature"
        return None


@dataclass(frozen=True)
class PackageInfo(SignedFile):
    """What the device knows about an uploaded package."""

    filename: str
    platform: str | None     # None when the file could not be read
    kind: str | None
    version: str | None
    size_mb: int             # declared installed size
    file_bytes: int
    signed: bool
    intact: bool

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict) -> PackageInfo:
        return cls(**data)


def _sign(manifest: bytes) -> str:
    return hmac.new(_SIGNING_KEY, manifest, hashlib.sha256).hexdigest()


def make_package(filename: str, directory: Path, size_mb: int | None = None,
                 unsigned: bool = False, corrupt: bool = False) -> Path:
    """Write a package file; `filename` is the vendor's name (platform and version)."""
    name = PackageName.parse(filename)
    declared = size_mb if size_mb is not None else ftd_facts.ftd().package_size_mb[name.kind]
    manifest = json.dumps({"filename": filename, "platform": name.platform, "kind": name.kind,
                           "version": str(name.version), "size_mb": declared}, sort_keys=True).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        add_member(tar, MANIFEST, manifest)
        if not unsigned:
            add_member(tar, SIGNATURE, _sign(manifest).encode())
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    path.write_bytes(buf.getvalue())
    if corrupt:
        cut_short(path)
    return path


def cut_short(path: Path, at: int = CUT_AT) -> None:
    """Make a vendor file what a broken transfer leaves: the archive ends in
    the middle of its first member (`at` bytes, or half the file)."""
    with path.open("r+b") as fh:
        fh.truncate(min(at, path.stat().st_size // 2))


def add_member(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(payload))


def inspect_package(path: Path) -> PackageInfo:
    """Read what a package file says about itself, as the device would on upload."""
    file_bytes = path.stat().st_size
    try:
        name = PackageName.parse(path.name)
    except ValueError:
        name = None
    try:
        with tarfile.open(path, mode="r:") as tar:
            manifest = tar.extractfile(MANIFEST).read()  # type: ignore[union-attr]
            try:
                signature = tar.extractfile(SIGNATURE).read().decode()  # type: ignore[union-attr]
            except KeyError:
                signature = ""
        meta = json.loads(manifest)
        Version.parse(meta["version"])
    except (tarfile.TarError, KeyError, ValueError, AttributeError, OSError, UnicodeDecodeError):
        return PackageInfo(path.name, name.platform if name else None, name.kind if name else None,
                           str(name.version) if name else None, 0, file_bytes, signed=False, intact=False)
    # A renamed package no longer matches what was signed.
    signed = hmac.compare_digest(signature, _sign(manifest)) and meta["filename"] == path.name
    return PackageInfo(path.name, meta["platform"], meta["kind"], meta["version"], int(meta["size_mb"]),
                       file_bytes, signed=signed, intact=True)
