"""An exercise's start state: its steps run in order on a started lab (a
package put on a device, an upgrade begun, a wait for a state, the power
button), then `exercise.started` marks in the journal where the trainee's
work begins, with every device's version and HA role at that moment."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from simulator.exercises.spec import PackageStep, PowerStep, UpgradeStep, WaitStep

if TYPE_CHECKING:
    from simulator.exercises import Exercise
    from simulator.lab import Lab

class StartError(ValueError):
    """A start step the lab could not carry out; str() is the message for the user."""


async def prepare(exercise: Exercise, lab: Lab) -> None:
    for i, step in enumerate(exercise.start):
        try:
            await STEPS[step.type](lab, step.args)
        except (ValueError, KeyError) as exc:
            raise StartError(f"{exercise.source}: start[{i}].{step.type}: {exc}") from None
    await lab.settle()
    lab.exercise = exercise
    roles = {name: device.ha.unit_entry(device) for name, device in lab.devices.items() if device.ha is not None}
    lab.journal.emit(None, "exercise.started", exercise=exercise.name,
                     versions={name: device.version for name, device in lab.devices.items()},
                     ha={name: entry for name, entry in roles.items() if entry is not None})


async def _package(lab: Lab, step: PackageStep) -> None:
    """The file as if it had been copied to the device (`simulator package make` writes it)."""
    kind, device = lab.kind_of(step.device), lab.device(step.device)
    folder = kind.ssh.upload_dir(lab.store.device_fs(step.device)) if kind.ssh is not None else None
    if kind.packages is None or folder is None:
        raise ValueError(f"{step.device} ({kind.name}) takes no package files")
    folder.mkdir(parents=True, exist_ok=True)
    path = kind.packages.make(step.file, folder, size_mb=None, unsigned=False, corrupt=False)
    assert kind.ssh is not None
    await kind.ssh.file_arrived(device, path, None)


async def _upgrade(lab: Lab, step: UpgradeStep) -> None:
    device = lab.device(step.device)
    start = getattr(device, "start_upgrade", None)
    if start is None:
        raise ValueError(f"{step.device} ({device.kind}) has no upgrade job to start")
    start(auto_cancel=step.auto_cancel)


async def _wait(lab: Lab, step: WaitStep) -> None:
    device = lab.device(step.device)
    reached = await _until(lab, lambda: device.state == step.state, step.minutes * 60)
    if not reached:
        raise ValueError(f"{step.device} did not reach {step.state!r} within {step.minutes:g} simulated minutes "
                         f"(it is {device.state!r})")


async def _until(lab: Lab, predicate: Callable[[], bool], limit: float) -> bool:
    """Jump from timer to timer until `predicate()` holds, on scaled time too: the start state is the
    exercise's past, and the trainee's clock starts at `exercise.started`."""
    if lab.clock.virtual:
        return await lab.clock.run_until(predicate, limit)
    start = lab.clock.now()
    while not predicate():
        deadline = lab.clock.next_deadline()
        if deadline is None or deadline - start > limit:
            return False
        await lab.clock.advance(max(0.0, deadline - lab.clock.now()))
    return True


async def _power(lab: Lab, step: PowerStep) -> None:
    lab.power(step.device, step.action)


STEPS: dict[str, Callable[[Lab, Any], Awaitable[None]]] = {
    "package": _package, "upgrade": _upgrade, "wait": _wait, "power": _power}
