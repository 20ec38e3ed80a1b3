"""Grading: each check of an exercise answered from the model (versions,
states, the traffic monitors) and the journal since `exercise.started`, with
the evidence that decided it in a trainee's terms: the events and their
times (T+mm:ss from the start of the exercise)."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.exercises.spec import Check, DoneWithin, Match, State, TrafficLost, Versions
from simulator.journal import Event

if TYPE_CHECKING:
    from simulator.exercises import Exercise
    from simulator.lab import Lab

# Events that say why traffic stopped (the last one on a monitor's units before an outage is shown).
CAUSES = ("reboot", "power", "reimage", "snort.restart", "fault", "ha.failover", "ha.link", "ha.state",
          "upgrade.started", "upgrade.failed", "fxos.install")
# The events that carry the version a device runs from then on.
VERSIONED = ("boot", "reimage", "upgrade.finished")


@dataclass
class CheckResult:
    name: str
    description: str
    passed: bool
    evidence: list[str] = field(default_factory=list)


@dataclass
class Grade:
    exercise: str
    title: str
    passed: bool
    elapsed: float                     # simulated seconds since the exercise started
    checks: list[CheckResult]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class History:
    """The journal as the grader reads it: the events since the exercise started, on its clock."""

    def __init__(self, lab: Lab) -> None:
        self.all = list(lab.journal.events)
        if not any(e["kind"] == "exercise.started" for e in self.all):    # a restarted lab: its file has it
            self.all = _read_journal(lab.state_dir / "journal.jsonl", lab.journal.events.maxlen)
        starts = [i for i, e in enumerate(self.all) if e["kind"] == "exercise.started"]
        if not starts:
            raise ValueError("this lab has not been prepared as an exercise (no exercise.started event)")
        self.first = starts[-1]
        self.started: Event = self.all[self.first]
        self.start = float(self.started["sim_time"])
        self.events = self.all[self.first + 1:]

    def at(self, sim_time: float | None) -> str:
        seconds = max(0, int(round((sim_time if sim_time is not None else self.start) - self.start)))
        hours, rest = divmod(seconds, 3600)
        return f"T+{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"T+{rest // 60:02d}:{rest % 60:02d}"

    def line(self, event: Event) -> str:
        fields = " ".join(f"{k}={v}" for k, v in event.items()
                          if k not in ("seq", "sim_time", "wall_time", "device", "kind") and v not in (None, [], {}))
        return " ".join(filter(None, [self.at(event["sim_time"]), event["device"], event["kind"], fields]))

    def matching(self, match: Match) -> list[Event]:
        return [e for e in self.events if match.matches(e)]


def _read_journal(path: Path, keep: int | None) -> list[Event]:
    """The last `keep` whole events of a journal file (a line cut short by a kill is skipped)."""
    if not path.exists():
        return []
    events: deque[Event] = deque(maxlen=keep)
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return list(events)


def grade(exercise: Exercise, lab: Lab) -> Grade:
    history = History(lab)
    results = []
    for check in exercise.checks:
        passed, evidence = CHECKS[check.type](lab, history, check.args)
        results.append(CheckResult(check.name, check.description, passed, evidence))
    return Grade(exercise.name, exercise.title, all(r.passed for r in results),
                 round(lab.clock.now() - history.start, 3), results)


Outcome = tuple[bool, list[str]]


def _version_is(running: str, wanted: str) -> bool:
    """`7.6.0` is 7.6.0-113; `9.20(2)` is 9.20(2) (and 9.20(2)4)."""
    return running == wanted or running.startswith(wanted) and running[len(wanted)] in "-.("


def versions(lab: Lab, history: History, check: Versions) -> Outcome:
    pair = lab.pairs[check.pair] if check.pair is not None else None
    names = [u.name for u in pair.units.values()] if pair is not None else [str(check.device)]
    evidence, good = [], []
    for name in names:
        running = lab.devices[name].version
        good.append(_version_is(running, check.version))
        evidence.append(f"{name} runs {running}" + ("" if good[-1] else f" (wanted {check.version})"))
    return (all(good) if check.units == "all" else any(good)), evidence


def state(lab: Lab, history: History, check: State) -> Outcome:
    wanted = [check.state] if isinstance(check.state, str) else check.state
    now = lab.devices[check.device].state
    ok = now in wanted
    return ok, [f"{check.device} is {now}" + ("" if ok else f" (wanted {' or '.join(wanted)})")]


def traffic_lost_max(lab: Lab, history: History, check: TrafficLost) -> Outcome:
    monitor = lab.traffic[check.monitor]
    now = lab.clock.now()
    lost, evidence = 0.0, []
    for begin, end in monitor.outages:
        assert begin is not None
        until = end if end is not None else now
        if until <= history.start:
            continue
        seconds = until - max(begin, history.start)
        lost += seconds
        cause = next((e for e in reversed(history.all) if e["sim_time"] <= begin and e["device"] in monitor.units
                      and e["kind"] in CAUSES), None)
        evidence.append(f"no traffic {history.at(max(begin, history.start))} to "
                        f"{history.at(end) if end is not None else 'now'} ({seconds:.1f} s)"
                        + (f", after {history.line(cause)}" if cause else ""))
    verdict = f"{check.monitor}: {lost:.1f} s without traffic since the exercise started (at most {check.seconds:g} s)"
    return lost <= check.seconds, [verdict, *evidence]


def never_upgraded_while_active(lab: Lab, history: History, pair: str) -> Outcome:
    """A unit's upgrade begins with `upgrade.started` (FTD) or a reload onto another version (ASA);
    its roles then are those of the last `ha.unit` events before it (per failover group)."""
    units = {u.name for u in lab.pairs[pair].units.values()}
    roles = {name: _roles_at_start(history.started.get("ha", {}).get(name)) for name in units}
    running = dict(history.started.get("versions", {}))
    evidence, ok = [], True
    for event in history.events:
        name = event["device"]
        if name not in units:
            continue
        if event["kind"] == "ha.unit":
            roles[name][str(event["group"]) if event.get("group") is not None else ""] = event["state"]
        elif event["kind"] in VERSIONED and event.get("version"):
            running[name] = event["version"]
        target = _upgrade_target(event, running.get(name))
        if target is None:
            continue
        active = [g for g, s in roles[name].items() if s == "Active"]
        shown = ", ".join(f"{s} (group {g})" if g else s for g, s in sorted(roles[name].items()))
        ok = ok and not active
        evidence.append(f"{history.at(event['sim_time'])} {name} began upgrading to {target} "
                        + (f"while {shown}" if active else f"as {shown or 'a unit with no role'}"))
    if not evidence:
        evidence.append(f"no unit of {pair} began an upgrade since the exercise started")
    return ok, evidence


def _roles_at_start(entry: dict[str, Any] | None) -> dict[str, str]:
    """A unit's HA state by failover group ("" for a pair without groups) from its `ha` entry."""
    if not entry:
        return {}
    if entry.get("groups"):
        return {str(group): state for group, state in entry["groups"].items()}
    return {"": entry["state"]}


def _upgrade_target(event: Event, running: str | None) -> str | None:
    if event["kind"] == "upgrade.started":
        return str(event.get("target"))
    if event["kind"] == "reboot" and event.get("next") and event["next"] != running:
        return str(event["next"])
    return None


def done_within(lab: Lab, history: History, check: DoneWithin) -> Outcome:
    ends = history.matching(check.until)
    if not ends:
        return False, [f"no {check.until.label()} since the exercise started"]
    last = ends[-1]
    took = (last["sim_time"] - history.start) / 60
    return took <= check.minutes, [f"last {check.until.label()} at {history.at(last['sim_time'])}: "
                                   f"{took:.1f} of at most {check.minutes:g} simulated minutes"]


def order(lab: Lab, history: History, matches: list[Match]) -> Outcome:
    firsts = [next(iter(history.matching(m)), None) for m in matches]
    evidence = [f"{i}. " + (history.line(e) if e else f"never: {m.label()}")
                for i, (m, e) in enumerate(zip(matches, firsts), start=1)]
    ok = all(firsts)
    for j, (later, e2) in enumerate(zip(matches, firsts)):
        for earlier, e1 in list(zip(matches, firsts))[:j]:
            if e1 and e2 and e2["seq"] < e1["seq"]:
                ok = False
                evidence.append(f"{later.label()} ({history.at(e2['sim_time'])}) came before {earlier.label()} "
                                f"({history.at(e1['sim_time'])})")
    return ok, evidence


def absent(lab: Lab, history: History, matches: Match | list[Match]) -> Outcome:
    wanted = matches if isinstance(matches, list) else [matches]
    found = [e for e in history.events if any(m.matches(e) for m in wanted)]
    return not found, [history.line(e) for e in found] or [
        f"no {' or '.join(m.label() for m in wanted)} since the exercise started"]


CHECKS: dict[str, Callable[[Lab, History, Any], Outcome]] = {
    "versions": versions, "state": state, "traffic_lost_max": traffic_lost_max,
    "never_upgraded_while_active": never_upgraded_while_active, "done_within": done_within, "order": order,
    "absent": absent}
assert set(CHECKS) == set(Check.model_fields) - {"name", "description"}
