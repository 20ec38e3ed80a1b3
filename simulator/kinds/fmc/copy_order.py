"""How an upgrade package reaches a device (seed 001, Copying Upgrade Packages
to Devices): the sources a device tries, in order, and one copy that falls
back from one to the next.

- the internal server, when the FMC holds a pointer to the package ("Specify
  Remote Location": a URL the device fetches from itself); "When configured,
  an internal server takes priority";
- the internet, for threat defense 7.6+ with internet access (the FMC's
  `device_internet`; the lab's devices have none unless a profile says so),
  never for hotfixes;
- the FMC itself, when it holds the file.

"Device internet and fallback download methods require Version 7.6.1+ on the
management center": an older FMC has its devices use the internal server when
one is configured, else the FMC, and no fallback. The bytes are moved by the
FMC's worker (transfer.py); the `package.transfer` fault of the receiving
device applies to each attempt (disk_full and fail fail it, corrupt cuts it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simulator.kinds.base import Refused, transfer_fault
from simulator.kinds.fmc.facts import fmc, text
from simulator.kinds.ftd.packages import PackageInfo
from simulator.kinds.ftd.versions import Version

if TYPE_CHECKING:
    from simulator.kinds.fmc.model import FmcDevice
    from simulator.kinds.fmc.upgrades import UpgradePackage

Done = Callable[[Any, str | None, str | None], None]      # (unit, source, error): source None when it failed


@dataclass(frozen=True)
class CopyOrder:
    """One attempt, for the FMC's worker: put `filename` into `device`'s /var/sf/updates."""

    device: str
    filename: str
    source: str                # internal | internet | fmc
    url: str | None            # the internal server's URL
    corrupt: bool              # a `package.transfer` corrupt fault: the file arrives cut short
    limit: int                 # bytes the device has room for


def sources(center: FmcDevice, package: UpgradePackage, unit: Any) -> list[str]:
    """The sources `unit` tries for `package`, in order."""
    facts = fmc().package_copy
    fallback = center.ver.release >= Version.parse(facts.fallback_from).release
    order = ["internal"] if package.url else []
    if order and not fallback:
        return order
    if (fallback and center.device_internet and package.info.kind != "hotfix"
            and unit.ver.release >= Version.parse(facts.internet_device_from).release):
        order.append("internet")
    if package.on_fmc:
        order.append("fmc")
    return order


class Copy:
    """One device's copy of one package: each source in turn until one works."""

    def __init__(self, center: FmcDevice, package: UpgradePackage, unit: Any, done: Done) -> None:
        self.center, self.package, self.unit, self.done = center, package, unit, done
        self.sources = sources(center, package, unit)
        self.errors: list[str] = []

    def start(self) -> None:
        if not self.sources:
            return self.done(self.unit, None, text("no_source", package=self.package.name))
        source = self.sources.pop(0)
        try:
            fault = transfer_fault(self.unit)
        except Refused as refused:
            return self._failed(source, refused.message)
        order = CopyOrder(self.unit.name, self.package.name, source, self.package.url,
                          fault is not None and fault.action == "corrupt", self.unit.disk_free_mb * 1024 * 1024)
        if self.center.transfer is None:        # no worker (a model on its own): the package as its name says
            return self.arrived(source, self.package.info, None)
        self.center.transfer(order, lambda info, error: self.arrived(source, info, error))

    def arrived(self, source: str, info: PackageInfo | None, error: str | None) -> None:
        """The worker's report: the file is in the device's folder (`info`), or `error`."""
        if info is None:
            return self._failed(source, error or "")
        try:
            self.unit.accept_package(info)
        except Refused as refused:           # the device cannot take it now: no other source helps
            return self.done(self.unit, None, refused.message)
        self.done(self.unit, source, None)

    def _failed(self, source: str, error: str) -> None:
        self.errors.append(text("copy_source_failed", source=text(f"source_{source}"), detail=error))
        if self.sources:
            return self.start()
        self.done(self.unit, None, " ".join(self.errors))
