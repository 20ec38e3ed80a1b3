"""Vendor files as the lab makes them: small real tar archives that stand for
big vendor files (FTD upgrade packages, FXOS platform bundles). Each holds a
`manifest.json` (what the file is: version, declared size ...) and a
`signature` over the manifest, so the lab can model a 1.5 GB file without
writing 1.5 GB and still tell a good file from an unsigned, renamed or cut
one, the way a device's check does."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import tarfile
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
SIGNATURE = "signature"


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


def _sign(key: bytes, manifest: bytes) -> str:
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


def write_signed(path: Path, manifest: dict[str, Any], key: bytes, *, unsigned: bool = False,
                 filler: dict[str, bytes] | None = None) -> Path:
    """Write a vendor file: its manifest, its signature (unless `unsigned`) and
    `filler` members (so a cut lands inside the archive)."""
    data = json.dumps({"filename": path.name, **manifest}, sort_keys=True).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        add_member(tar, MANIFEST, data)
        if not unsigned:
            add_member(tar, SIGNATURE, _sign(key, data).encode())
        for name, payload in (filler or {}).items():
            add_member(tar, name, payload)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return path


def read_signed(path: Path, key: bytes) -> tuple[dict[str, Any], bool]:
    """A vendor file's manifest and whether its signature holds (a renamed file's
    does not). Raises ValueError when the file cannot be read to its end."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
        manifest = json.loads(members[MANIFEST])
        signature = members.get(SIGNATURE, b"").decode()
    except (tarfile.TarError, KeyError, ValueError, OSError, UnicodeDecodeError, EOFError) as exc:
        raise ValueError(f"{path.name}: unreadable ({exc})") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{path.name}: no manifest")
    signed = hmac.compare_digest(signature, _sign(key, members[MANIFEST])) and manifest.get("filename") == path.name
    return manifest, signed


def cut_short(path: Path, at: int) -> None:
    """Make a vendor file what a broken transfer leaves: the archive ends in
    the middle of its first member (`at` bytes, or half the file)."""
    with path.open("r+b") as fh:
        fh.truncate(min(at, path.stat().st_size // 2))


def add_member(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(payload))
