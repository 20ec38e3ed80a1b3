"""disk0: as the unit knows it: a catalogue of its files (name, size, date,
what an image file says, its MD5) and the copies in flight into it. The bytes
live in the lab's state directory; the kind's worker (worker.py) and the SSH
surface move them and report each arrival here, so the model never does I/O.

Stand-in images: the lab does not ship Cisco's images, it writes a small file
whose first line names the version (`ASA-SIM-IMAGE 9.20(2)`) and pads it to
the size asked for. A file whose header names another version (or was spoiled
by a `corrupt` transfer fault) fails the signature check and does not boot."""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import asdict, dataclass
from typing import Any

from simulator.kinds.asa.facts import say
from simulator.kinds.base import Refused

MARKER = b"ASA-SIM-IMAGE"
SPOILED = MARKER + b" CORRUPT\n"
FOLDERS = ("log", "crypto_archive", "coredumpinfo")      # a fresh disk0: (ntc-templates `dir` sample)
FOLDER_SIZE = 4096


def stand_in(version: str, size: int = 4096) -> bytes:
    """The bytes of a stand-in image of `version`, `size` long."""
    header = MARKER + b" " + version.encode() + b"\n" + json.dumps({"version": version}).encode() + b"\n"
    return header + b"\0" * max(0, size - len(header))


def header_of(head: bytes) -> str | None:
    """What a file's first bytes say: a stand-in image's header line, None for any other file."""
    line = head.split(b"\n", 1)[0]
    return line.decode(errors="replace") if line.startswith(MARKER) else None


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
    return DiskFile(name, size, at, header=header_of(data), md5=hashlib.md5(data).hexdigest(), made=True)


@dataclass
class CopyJob:
    """A `copy` into disk0:: the worker moves the bytes, the unit registers the file."""

    id: int
    source: str             # a URL with its credentials, `disk0:/<file>`, or a file of the lab host
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
