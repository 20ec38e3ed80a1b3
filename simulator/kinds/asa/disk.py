"""disk0: as the unit knows it: a catalogue of its files (name, size, date,
what an image file says, its MD5) and the copies in flight into it. The bytes
live in the lab's state directory; the kind's worker (worker.py) and the SSH
surface move them and report each arrival here, so the model never does I/O.

Stand-in images: the lab does not ship Cisco's images, it writes a file whose
first line names the version (`ASA-SIM-IMAGE 9.20(2)`), whose second line is
a sealed manifest (simulator/signed.py: the version, the file's size and the
SHA-256 of the zeros that pad it to that size). A file whose header names
another version, or that was cut, altered or spoiled by a `corrupt` transfer
fault, fails the signature check and does not boot."""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import asdict, dataclass
from typing import Any

from simulator.kinds.asa.facts import say
from simulator.kinds.base import Refused
from simulator.signed import seal, sealed

MARKER = b"ASA-SIM-IMAGE"
SPOILED = MARKER + b" CORRUPT\n"
HEAD = 4096                     # the bytes of a file read for its header
MIN_IMAGE = 512                 # a stand-in image is at least this long (its header fits)
FOLDERS = ("log", "crypto_archive", "coredumpinfo")      # a fresh disk0: (ntc-templates `dir` sample)
FOLDER_SIZE = 4096
_SIGNING_KEY = b"simulator: Cisco ASA image signing key stand-in"
_ZEROS = bytes(1 << 20)


def image_header(version: str, size: int) -> bytes:
    """The header of a stand-in image of `version` of max(size, MIN_IMAGE)
    bytes in all: zeros follow it to that size."""
    size = max(size, MIN_IMAGE)

    def header(digest: str) -> bytes:
        manifest = seal({"version": version, "size": size, "sha256": digest}, _SIGNING_KEY)
        return MARKER + b" " + version.encode() + b"\n" + json.dumps(manifest, sort_keys=True).encode() + b"\n"

    body = size - len(header("0" * 64))        # a digest's length does not depend on its value
    digest = hashlib.sha256()
    while body > 0:
        digest.update(memoryview(_ZEROS)[:min(body, len(_ZEROS))])
        body -= len(_ZEROS)
    return header(digest.hexdigest())


def stand_in(version: str, size: int = 4096) -> bytes:
    """The bytes of a stand-in image of `version`, max(size, MIN_IMAGE) long."""
    header = image_header(version, size)
    return header + bytes(max(size, MIN_IMAGE) - len(header))


def header_of(head: bytes) -> str | None:
    """What a file's first bytes say: a stand-in image's header line, None for any other file."""
    line = head.split(b"\n", 1)[0]
    return line.decode(errors="replace") if line.startswith(MARKER) else None


def body_start(head: bytes) -> int:
    """Where the zeros of a stand-in image start: after its two header lines."""
    first = head.find(b"\n")
    second = head.find(b"\n", first + 1) if first >= 0 else -1
    return second + 1 if second >= 0 else len(head)


def checked_header(head: bytes, size: int, body_sha256: str) -> str | None:
    """What the unit records of a file from its first bytes, its size and the
    SHA-256 of what follows the header: None for a file that is no stand-in
    image, the first line of a whole image, the spoiled line of one that was
    cut, altered or re-labelled."""
    line = header_of(head)
    if line is None:
        return None
    try:
        manifest = json.loads(head[head.find(b"\n") + 1:body_start(head)])
        whole = (isinstance(manifest, dict) and sealed(manifest, _SIGNING_KEY)
                 and line == signed_for(str(manifest["version"])) and manifest["size"] == size
                 and manifest["sha256"] == body_sha256)
    except (ValueError, KeyError):
        whole = False
    return line if whole else SPOILED.decode().rstrip("\n")


def signed_for(version: str) -> str:
    """The header line of a good stand-in image of `version`."""
    return f"{MARKER.decode()} {version}"


@dataclass
class DiskFile:
    name: str
    size: int
    mtime: float                    # the unit's clock when it arrived
    is_dir: bool = False
    header: str | None = None       # a stand-in image's first line; None for other files
    md5: str = ""
    made: bool = False              # the unit's own image (made at a reimage): the worker writes its bytes

    @property
    def ident(self) -> int:
        """The number `dir` prints before a file (an inode on the real flash file system)."""
        return zlib.crc32(self.name.encode()) % 997 + 11


def made_image(name: str, version: str, at: float, size: int = 4096) -> DiskFile:
    data = stand_in(version, size)
    return DiskFile(name, len(data), at, header=header_of(data), md5=hashlib.md5(data).hexdigest(), made=True)


@dataclass
class CopyJob:
    """A `copy` into disk0:: the worker moves the bytes, the unit registers the file."""

    id: int
    source: str             # a URL with its credentials, `disk0:/<file>`, or a local path (transfer.LocalFiles)
    name: str               # where it goes in disk0:
    shown: str              # the source as the unit prints it (no password)
    limit: int              # free bytes when it started
    corrupt: bool = False   # a `package.transfer` corrupt fault: the worker spoils the file
    state: str = "running"  # running | done | failed
    message: str = ""       # the unit's words when it failed
    size: int = 0


class Disk:
    """The catalogue of disk0:."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.entries: dict[str, DiskFile] = {}

    def listing(self) -> list[DiskFile]:
        """Oldest first, as `dir` lists them."""
        return sorted(self.entries.values(), key=lambda e: (e.mtime, e.name))

    def file(self, name: str) -> DiskFile | None:
        entry = self.entries.get(name)
        return entry if entry is not None and not entry.is_dir else None

    @property
    def used(self) -> int:
        return sum(e.size for e in self.entries.values() if not e.is_dir)

    @property
    def free(self) -> int:
        return max(0, self.total - self.used)

    @staticmethod
    def check_name(name: str) -> str:
        """A file name of disk0: (no folders, no way out of it); Refused with the unit's words."""
        name = name.strip().lstrip("/")
        if not name or "/" in name or name in (".", ".."):
            raise Refused("bad_path", say("refuse", "no_file", name=name))
        return name

    def snapshot(self) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.entries.values()]

    def restore(self, entries: list[dict[str, Any]]) -> None:
        self.entries = {e["name"]: DiskFile(**e) for e in entries}


def disk_name(path: str) -> str | None:
    """`disk0:/x.bin`, `disk0:x.bin`, `flash:/x.bin` -> `x.bin` (None for other file systems)."""
    for prefix in ("disk0:/", "disk0:", "flash:/", "flash:"):
        if path.lower().startswith(prefix):
            name = path[len(prefix):].lstrip("/")
            return name or None
    return None
