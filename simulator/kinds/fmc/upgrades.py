"""What an FMC does to upgrade its devices (`updates/upgradepackages`,
`updates/upgrades`): packages it holds, and upgrade tasks that copy a package
to the targets, run their readiness checks, and upgrade them, one unit at a
time, on the lab clock. The devices' own models do the work and refuse what
they refuse (paths, 7.4.0, FXOS); the FMC adds the rule it owns: no device
past the FMC's major or maintenance version (seed 001). An HA pair given by
its primary is upgraded standby first, then the roles switch, then the other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simulator.kinds.base import Refused
from simulator.kinds.fmc import health
from simulator.kinds.fmc.copy_order import Copy
from simulator.kinds.fmc.facts import fmc, text
from simulator.kinds.ftd import facts as ftd_facts
from simulator.kinds.ftd.packages import PackageInfo
from simulator.kinds.ftd.versions import PackageName, Version

if TYPE_CHECKING:
    from simulator.kinds.fmc.model import FmcDevice, Task


@dataclass
class UpgradePackage:
    """A package on the FMC's Product Upgrades page: a file it holds (`on_fmc`), an
    internal server pointer (`url`: devices fetch it themselves), or both."""

    id: str
    info: PackageInfo
    added: float
    url: str | None = None
    on_fmc: bool = True

    @property
    def name(self) -> str:
        return self.info.filename

    @property
    def target(self) -> Version:
        return Version.parse(self.info.version or "0.0.0")


def package_by_name(filename: str) -> PackageInfo:
    """A package the FMC downloaded itself (a profile's `upgrade_packages`): what its name says, signed."""
    name = PackageName.parse(filename)
    return PackageInfo(filename, name.platform, name.kind, str(name.version),
                       ftd_facts.ftd().package_size_mb[name.kind], 0, signed=True, intact=True)


@dataclass
class Request:
    package: UpgradePackage
    push_only: bool
    readiness_only: bool
    auto_cancel: bool


class UpgradeRun:
    """One upgrade task: its units in order, each copied to, checked, upgraded."""

    def __init__(self, center: FmcDevice, task: Task, request: Request, groups: list[list[Any]]) -> None:
        self.center, self.task, self.request, self.groups = center, task, request, groups
        self.started = center.ctx.clock.now()
        self.units = [u for group in groups for u in group]
        self._copying: set[Any] = set()
        task.sub_tasks = [{"target": {"id": u.uuid, "name": u.name, "type": "Device"}, "status": "PENDING",
                           "message": ""} for u in self.units]

    # -- steps -------------------------------------------------------------------------
    def start(self) -> None:
        self.center.set_task(self.task, "RUNNING")
        self._later(fmc().timings["package_copy"], self._copy)

    def _copy(self) -> None:
        """Each unit without the package gets it from its sources (copy_order.py), all at once."""
        name = self.request.package.name
        missing = [u for u in self.units if u.package is None or u.package.filename != name]
        for unit in self.units:
            if unit not in missing:
                self._sub(unit, "RUNNING", "Upgrade package copied.")
        self._copying = set(missing)
        if not missing:
            return self._copied()
        for unit in missing:
            Copy(self.center, self.request.package, unit, self._unit_copied).start()

    def _unit_copied(self, unit: Any, source: str | None, error: str | None) -> None:
        if self.task.done or unit not in self._copying:
            return
        if source is None:
            return self._fail(unit, text("copy_failed", package=self.request.package.name, device=unit.name,
                                         detail=error))
        self._sub(unit, "RUNNING", text("copied_from", source=text(f"source_{source}")))
        self._copying.discard(unit)
        if not self._copying:
            self._copied()

    def _copied(self) -> None:
        if self.request.push_only:
            return self._finish(text("pushed", package=self.request.package.name, count=len(self.units)))
        if self.request.readiness_only:
            for unit in self.units:
                if not self._guard(unit.run_readiness_check, unit):
                    return
            return self._poll(self._readiness_over, self._readiness_done)
        self._upgrade_group(0)

    def _readiness_over(self) -> bool:
        return all(u.readiness is not None and u.readiness.state != "IN_PROGRESS" for u in self.units)

    def _readiness_done(self) -> None:
        for unit in self.units:
            if unit.readiness.state != "SUCCESS":
                return self._fail(unit, text("not_ready", device=unit.name, detail="; ".join(unit.readiness.messages)))
            self._sub(unit, "COMPLETED", "Readiness check passed.")
        self._finish(text("ready", count=len(self.units)))

    def _upgrade_group(self, index: int) -> None:
        if index == len(self.groups):
            return self._finish(text("upgraded", target=self.request.package.target.numbers, count=len(self.units)))
        self._upgrade_unit(self.groups[index], 0, lambda: self._upgrade_group(index + 1))

    def _upgrade_unit(self, group: list[Any], at: int, then: Callable[[], None]) -> None:
        if at == len(group):
            return then()
        unit = group[at]
        if not self._guard(lambda: unit.start_upgrade(auto_cancel=self.request.auto_cancel), unit):
            return
        self._sub(unit, "RUNNING", "Upgrade in progress.")

        def done() -> None:
            job = unit.job
            if job.state != "COMPLETED":
                return self._fail(unit, text("upgrade_failed", device=unit.name, detail=job.detail or job.message))
            self._sub(unit, "COMPLETED", f"Upgraded to {unit.version}.")
            self.center.deployer.upgraded(unit)
            if at + 1 < len(group):            # an HA pair: the upgraded standby takes over first
                self._poll(lambda: self._switched_to(unit), lambda: self._upgrade_unit(group, at + 1, then))
            else:
                self._upgrade_unit(group, at + 1, then)

        self._poll(lambda: job_over(unit), done)

    def _switched_to(self, unit: Any) -> bool:
        pair = unit.ha
        if pair is None or pair.broken or pair.active == unit.name:
            return True
        try:
            pair.switch(unit)
        except Refused:
            return False            # not ready yet (post-upgrade tasks, sync): look again later
        return True

    # -- plumbing --------------------------------------------------------------------------
    def _guard(self, call: Callable[[], Any], unit: Any) -> bool:
        try:
            call()
        except Refused as refused:
            self._fail(unit, text("upgrade_failed", device=unit.name, detail=refused.message))
            return False
        return True

    def _poll(self, over: Callable[[], bool], then: Callable[[], None]) -> None:
        def look() -> None:
            if self.task.done:
                return
            if over():
                then()
            elif self.center.ctx.clock.now() - self.started > fmc().timings["upgrade_limit"]:
                self._fail(self.units[0], text("timed_out", device=self.units[0].name))
            else:
                self._later(fmc().timings["poll"], look)
        self._later(fmc().timings["poll"], look)

    def _later(self, seconds: float, callback: Callable[[], None]) -> None:
        def fire() -> None:
            if not self.task.done:
                callback()
        self.center.ctx.clock.call_later(seconds, fire)

    def _sub(self, unit: Any, status: str, message: str) -> None:
        for sub in self.task.sub_tasks:
            if sub["target"]["id"] == unit.uuid:
                sub["status"], sub["message"] = status, message

    def _fail(self, unit: Any, message: str) -> None:
        self._sub(unit, "FAILED", message)
        self.task.message = message
        self.center.set_task(self.task, "FAILED")
        self.center.runs.discard(self)

    def _finish(self, message: str) -> None:
        self.task.message = message
        self.center.set_task(self.task, "COMPLETED")
        self.center.runs.discard(self)


def job_over(unit: Any) -> bool:
    """The unit's job ended and it runs again, or it stopped waiting for a cancel or retry, or broke."""
    job = unit.job
    if unit.state in ("upgrade_failed", "unusable"):
        return True
    return job is not None and job.finished is not None and unit.apps_up


class JobRun:
    """`cancelupgrades`, `retryupgrades`, `revertupgrades`: the devices' own
    operation, started at once (a device refuses what it cannot do), then a
    task that ends when every job has."""

    EXPECT = {"cancel_upgrade": "CANCELLED", "retry_upgrade": "COMPLETED", "start_revert": "COMPLETED"}

    def __init__(self, center: FmcDevice, task: Task, units: list[Any], operation: str) -> None:
        self.center, self.task, self.units, self.operation = center, task, units, operation
        task.sub_tasks = [{"target": {"id": u.uuid, "name": u.name, "type": "Device"}, "status": "RUNNING",
                           "message": ""} for u in units]

    def start(self) -> None:
        self.center.set_task(self.task, "RUNNING")
        self._look()

    def _look(self) -> None:
        if not all(job_over(u) for u in self.units):
            self.center.ctx.clock.call_later(fmc().timings["poll"], self._look)
            return
        failed = [u for u in self.units if u.job is None or u.job.state != self.EXPECT[self.operation]]
        for unit, sub in zip(self.units, self.task.sub_tasks):
            sub["status"] = "FAILED" if unit in failed else "COMPLETED"
            sub["message"] = unit.job.message if unit.job else ""
        self.task.message = "; ".join(f"{u.name}: {u.job.message if u.job else ''}" for u in failed) or \
            text("job_done", operation=self.operation.split("_")[0], count=len(self.units))
        self.center.set_task(self.task, "FAILED" if failed else "COMPLETED")


def upgrade_groups(center: FmcDevice, targets: list[Any]) -> list[list[Any]]:
    """Each target alone, or its HA pair, standby first (the primary stands for the pair)."""
    groups: list[list[Any]] = []
    for device in targets:
        pair = device.ha
        if pair is not None and not pair.broken:
            units = sorted(pair.units.values(), key=lambda u: pair.active == u.name)
            if not any(device in g for g in groups):
                groups.append(units)
        elif not any(device in g for g in groups):
            groups.append([device])
    return groups


def check_targets(center: FmcDevice, package: UpgradePackage, groups: list[list[Any]], *,
                  push_only: bool = False) -> None:
    """Refuse at once what the FMC itself refuses: no targets, a package for
    another platform, a device past the FMC (patches excepted), a target not
    released after the current version (Table 2), a unit busy with another of
    its upgrade tasks; and, unless the package is only copied, configuration
    not deployed and the health tests that block an upgrade (seed 001)."""
    if not groups:
        raise Refused("no_targets", text("no_targets"))
    busy = {u.name for run in center.runs for u in run.units}
    for unit in (u for g in groups for u in g):
        if package.info.platform != ftd_facts.ftd().models[unit.model].platform:
            raise Refused("not_applicable", text("not_applicable", package=package.name, device=unit.name,
                                                 model=unit.model))
        if package.target.release > center.ver.release:
            raise Refused("fmc_first", text("fmc_first", device=unit.name, target=package.target.numbers,
                                            fmc=center.ver.numbers))
        problem = released_before(package, unit.ver, unit.name)
        if problem:
            raise Refused("released_before", problem)
        if unit.name in busy:
            raise Refused("busy", text("in_progress", device=unit.name))
        if push_only:
            continue
        target = center.deployer.target_of(unit)
        if center.deployer.config.out_of_date(target.id):
            raise Refused("deploy_first", text("deploy_first", device=target.name))
        alerts = health.upgrade_alerts(unit, package.info)
        if alerts:
            raise Refused("health", " ".join(alerts))


def released_before(package: UpgradePackage, current: Version, name: str) -> str | None:
    """Seed 001 Table 2: a major or maintenance target must be released after the current version."""
    if package.info.kind in ("patch", "hotfix"):
        return None
    target = package.target
    row = fmc().released_after.get(target.release.numbers)
    train, release = f"{current.major}.{current.minor}", current.release.numbers
    if row is None or train not in row.trains or release in row.trains[train] or target.release <= current.release:
        return None
    return text("released_before", target=target.numbers, date=row.date, current=current.numbers, device=name)
