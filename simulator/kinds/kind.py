"""What a device kind declares (`kinds/<kind>/kind.py` holds one `Kind`), and
what the lab gives a kind to build a device. The lab, the profile, the
control API and the endpoints file know kinds only through this."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from simulator.kinds.base import DeviceBase, DeviceContext
from simulator.kinds.spec import DeviceSpec, PairSpec
from simulator.machines import Table

if TYPE_CHECKING:
    from simulator.surfaces.console.transcript import ConsoleKind
    from simulator.surfaces.https import Https
    from simulator.surfaces.ssh.server import SshKind


@dataclass(frozen=True)
class Build:
    """What the lab hands a kind's `build`."""

    ctx: DeviceContext
    username: str                          # the profile's defaults, for entries that set none
    password: str
    devices: Mapping[str, DeviceBase]      # built so far (a kind that hosts others comes after them)
    fs_root: Callable[[str], Path]         # a device's file system folder (SFTP/SCP see it)


class Pair(Protocol):
    """A failover pair as the lab and the control API see it."""

    name: str
    state: str
    active: str | None
    units: dict[str, Any]
    link_up: bool

    def set_link(self, up: bool) -> None: ...
    def traffic_up(self) -> bool: ...
    def carries(self, unit: str) -> bool: ...
    def entry(self) -> dict[str, Any]: ...
    def status(self) -> dict[str, Any]: ...
    def unit_entry(self, unit: Any) -> dict[str, Any] | None: ...
    def snapshot(self) -> dict[str, Any]: ...
    def restore(self, data: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Pairs:
    """Failover pairs of two devices of a kind (the profile's `ha_pairs`)."""

    spec: type[PairSpec]                                   # its keys (more than the common ones)
    build: Callable[[Any, Any, Any], Pair]                 # (spec, primary, secondary) -> pair


class Worker(Protocol):
    """I/O done for a device model (downloads): attached for the lab's run."""

    def detach(self) -> None: ...
    async def settled(self) -> None: ...


class Packages(Protocol):
    """`simulator package make`: the files a kind accepts (packages, bundles, images)."""

    example: str            # a file name of this kind's, for messages

    def accepts(self, filename: str) -> bool:
        """A file name of this kind's (the by-name form of `package make`)."""

    def filename(self, version: str, model: str | None) -> str:
        """The file name of a version's package (`package make --for KIND --version V`)."""

    def make(self, filename: str, directory: Path, *, size_mb: int | None, unsigned: bool,
             corrupt: bool) -> Path:
        """Write the file; ValueError with the device's wording for a bad name or version."""


@dataclass(frozen=True, eq=False)
class Kind:
    name: str                                              # the profile's `kind:`
    spec: type[DeviceSpec]                                 # its profile entry (a bad key is reported against it)
    build: Callable[[Build, Any], DeviceBase]              # a device from its (expanded) entry
    ssh: SshKind | None = None                             # its SSH CLI and uploads
    https: Https | None = None                             # its web server and APIs
    console: ConsoleKind | None = None                     # its serial console
    pairs: Pairs | None = None                             # its failover pairs
    packages: Packages | None = None                       # the files `package make` writes for it
    endpoint: Callable[[Any], dict[str, Any]] | None = None    # its own keys in the endpoints file
    check: Callable[[Sequence[DeviceSpec]], list[str]] | None = None   # checks across the profile's devices
    workers: Sequence[Callable[[Any, Path], Worker]] = field(default_factory=tuple)
    machines: Sequence[Table] = field(default_factory=tuple)   # its state machines (docs/machines/)
    traffic: bool = False                                  # a standalone device carries traffic (probe port)
    hosts: bool = False                                    # hosts devices of other kinds: built after them
    hosted: Callable[[Any], list[str]] | None = None       # the devices an entry hosts (kept in its shard)
    bmc: Callable[[Any], bool] = lambda spec: True         # an entry gets a BMC unless its profile says (`bmc:`)
