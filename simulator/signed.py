"""Vendor files as the lab makes them: small real files that stand for big
vendor files (FTD upgrade packages, FXOS platform bundles, ASA images).

A package or bundle is a tar archive of three members: `manifest.json` (what
the file is: version, declared size ... and its payload's size and SHA-256),
a `signature` over the manifest, and the payload (a few KB of filler that
stands for the vendor's content). The signature covers the manifest and the
manifest covers the payload, so the signature covers the whole file: a renamed
or re-signed file fails as unsigned, a cut or altered one as corrupt, however
far from its start the damage is. The lab models a 1.5 GB file without writing
1.5 GB: the declared size is the vendor's, the digest is of what is in the file.

Reading is bounded: members are read header by header (no tar extension
headers, which a reader would load whole), the manifest and signature up to a
few KB, the payload streamed in blocks up to `MAX_PAYLOAD`; a sparse or huge
file costs a few blocks of memory and is refused as unreadable."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

MANIFEST = "manifest.json"
SIGNATURE = "signature"
FILLER_BYTES = 8 * 1024          # the payload of a file the lab makes
MAX_MANIFEST = 64 * 1024         # bytes of a manifest or signature member the lab reads
MAX_PAYLOAD = 16 * 1024 * 1024   # a bigger payload is not a file the lab made
BLOCK = 1 << 16
_EMPTY = bytes(tarfile.BLOCKSIZE)
_END = _EMPTY * 2                # a tar archive's end: two empty blocks


class SignedFile:
    """A vendor file checked on arrival: readable and whole (`intact`) and signed (`signed`)."""

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


def sign(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def seal(manifest: dict[str, Any], key: bytes) -> dict[str, Any]:
    """`manifest` with its `signature` (for files that carry their manifest inline, as ASA images do)."""
    return {**manifest, SIGNATURE: sign(key, _canonical(manifest))}


def sealed(manifest: dict[str, Any], key: bytes) -> bool:
    """Whether a manifest made by `seal` still holds its signature."""
    body = {k: v for k, v in manifest.items() if k != SIGNATURE}
    return hmac.compare_digest(str(manifest.get(SIGNATURE, "")).encode(), sign(key, _canonical(body)).encode())


def _canonical(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True).encode()


def filler(name: str, size: int = FILLER_BYTES) -> bytes:
    """Bytes that stand for a vendor file's content: the same for the same name."""
    return hashlib.shake_256(name.encode()).digest(size)


def write_signed(path: Path, manifest: dict[str, Any], key: bytes, *, payload: str = "payload",
                 unsigned: bool = False) -> Path:
    """Write a vendor file: its manifest (with the file name and the payload's
    size and digest), its signature (unless `unsigned`) and the payload member
    `payload`. The archive ends with its end blocks (no record padding), so
    any cut loses something the check looks for."""
    content = filler(path.name)
    declared = {"filename": path.name, **manifest,
                "payload": {"name": payload, "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}}
    data = _canonical(declared)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        _add_member(tar, MANIFEST, data)
        if not unsigned:
            _add_member(tar, SIGNATURE, sign(key, data).encode())
        _add_member(tar, payload, content)
        end = tar.offset + len(_END)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue()[:end])
    return path


def _add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def read_signed(path: Path, key: bytes) -> tuple[dict[str, Any], bool]:
    """A vendor file's manifest and whether its signature holds (a renamed file's
    does not). Raises ValueError when the file is not whole: unreadable, cut
    short, or its payload not the one its manifest declares."""
    try:
        with path.open("rb") as fh:
            members = _members(fh)
            data = _small(fh, next(members, None), MANIFEST)
            member = next(members, None)
            signature = b""
            if member is not None and member[0].name == SIGNATURE:
                signature = _small(fh, member, SIGNATURE)
                member = next(members, None)
            manifest = json.loads(data)
            if not isinstance(manifest, dict):
                raise TypeError("no manifest")
            _check_payload(fh, member, manifest.get("payload"))
            if next(members, None) is not None:
                raise ValueError("more members than a vendor file has")
    except (tarfile.TarError, KeyError, ValueError, TypeError, OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path.name}: unreadable ({exc})") from None
    signed = hmac.compare_digest(signature, sign(key, data).encode()) and manifest.get("filename") == path.name
    return manifest, signed


def _members(fh: IO[bytes]) -> Iterator[tuple[tarfile.TarInfo, int]]:
    """Each plain file member of an archive and where its data starts, up to
    the archive's end blocks (ValueError when the file ends before them)."""
    offset = 0
    while True:
        fh.seek(offset)
        block = fh.read(len(_EMPTY))
        if block == _EMPTY:
            if fh.read(len(_EMPTY)) != _EMPTY:
                raise ValueError("cut short in its end blocks")
            return
        if len(block) < len(_EMPTY):
            raise ValueError("cut short")
        info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or info.size < 0:
            raise ValueError(f"member {info.name!r} is not a plain file")
        yield info, offset + len(_EMPTY)
        offset += len(_EMPTY) + -(-info.size // len(_EMPTY)) * len(_EMPTY)


def _small(fh: IO[bytes], member: tuple[tarfile.TarInfo, int] | None, name: str) -> bytes:
    if member is None or member[0].name != name or member[0].size > MAX_MANIFEST:
        raise ValueError(f"no {name}")
    fh.seek(member[1])
    data = fh.read(member[0].size)
    if len(data) != member[0].size:
        raise ValueError("cut short")
    return data


def _check_payload(fh: IO[bytes], member: tuple[tarfile.TarInfo, int] | None, declared: Any) -> None:
    """The payload member is the one the manifest declares: its name, size and SHA-256."""
    if not isinstance(declared, dict) or member is None:
        raise ValueError("no payload")
    info, start = member
    if info.name != declared["name"] or info.size != declared["bytes"] or info.size > MAX_PAYLOAD:
        raise ValueError("not the declared payload")
    digest, left = hashlib.sha256(), info.size
    fh.seek(start)
    while left and (block := fh.read(min(BLOCK, left))):
        digest.update(block)
        left -= len(block)
    if left or not hmac.compare_digest(digest.hexdigest(), str(declared["sha256"])):
        raise ValueError("payload does not match its digest")


def cut_short(path: Path, at: int) -> None:
    """Make a vendor file what a broken transfer leaves: the archive ends in
    the middle of its first member (`at` bytes, or half the file)."""
    with path.open("r+b") as fh:
        fh.truncate(min(at, path.stat().st_size // 2))
