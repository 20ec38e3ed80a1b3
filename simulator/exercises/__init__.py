"""Graded exercises: a starting lab (a profile, faults, start steps), a goal
in words, and checks evaluated from the journal and the model.

    exercise = exercises.load("ftd-ha-no-traffic-loss")     # bundled name, or a path
    async with Lab(exercise.profile, virtual_time=True) as lab:
        await exercise.prepare(lab)          # the start state; lab.exercise is set
        ...                                  # the trainee works through the lab's surfaces
        grade = exercise.grade(lab)          # grade.passed, grade.checks[i].evidence

Bundled exercises live in exercises/ beside profiles/ (docs/exercises.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from simulator import profile as profiles
from simulator.exercises.checks import Grade, grade
from simulator.exercises.spec import CHECK_TYPES, STEP_TYPES, Check, ExerciseFile, Step
from simulator.exercises.start import prepare
from simulator.faults import Fault

if TYPE_CHECKING:
    from simulator.lab import Lab

EXERCISES_DIR = Path(__file__).resolve().parent.parent.parent / "exercises"

__all__ = ["EXERCISES_DIR", "Exercise", "ExerciseError", "Grade", "bundled", "load"]


class ExerciseError(profiles.ProfileError):
    """An exercise file that cannot be used; str() is the message for the user."""


@dataclass(frozen=True)
class Exercise:
    name: str
    source: str                       # the file it came from
    spec: ExerciseFile
    profile: profiles.Profile         # the lab to start: the base profile, its overrides and the exercise's faults

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def goal(self) -> str:
        return self.spec.goal

    @property
    def faults(self) -> list[Fault]:
        return self.spec.faults

    @property
    def start(self) -> list[Step]:
        return self.spec.start

    @property
    def checks(self) -> list[Check]:
        return self.spec.checks

    async def prepare(self, lab: Lab) -> None:
        """Put a started lab (of `self.profile`) into the exercise's start state."""
        await prepare(self, lab)

    def grade(self, lab: Lab) -> Grade:
        return grade(self, lab)

    def describe(self) -> dict[str, Any]:
        """What a trainee is told: the title, the goal and what will be checked."""
        return {"name": self.name, "title": self.title, "goal": self.goal, "lab": self.profile.lab,
                "checks": [{"name": c.name, "description": c.description, "type": c.type} for c in self.checks]}


def bundled() -> list[str]:
    return profiles.bundled(EXERCISES_DIR)


def resolve(ref: str | Path) -> Path:
    try:
        return profiles.resolve_file(ref, EXERCISES_DIR, "exercise")
    except ValueError as exc:
        raise ExerciseError(str(exc)) from None


def load(ref: str | Path) -> Exercise:
    """A bundled exercise by name, or an exercise file; a broken one names the file, the key and what was expected."""
    path = resolve(ref)
    source = str(path)
    try:
        data = profiles.read_document(path)
    except profiles.ProfileError as exc:
        raise ExerciseError(str(exc)) from None
    if not isinstance(data, dict):
        raise ExerciseError(f"{source}: expected a mapping with `title`, `goal`, `profile` and `checks` at the top level")
    try:
        spec = ExerciseFile.model_validate(data)
    except ValidationError as exc:
        raise ExerciseError("\n".join(profiles.describe_error(source, _typed(err)) for err in exc.errors())) from None
    try:
        profile = profiles.validate(_profile_document(spec, path), f"{source}: profile")
    except profiles.ProfileError as exc:
        raise ExerciseError(str(exc)) from None
    problems = _references(spec, profile, source)
    if problems:
        raise ExerciseError("\n".join(problems))
    return Exercise(path.stem, source, spec, profile)


def _typed(err: Any) -> Any:
    """An unknown key where a check or start step names its type: say which types there are."""
    loc = err["loc"]
    if err["type"] == "extra_forbidden" and len(loc) == 3 and loc[0] in ("checks", "start"):
        types = CHECK_TYPES if loc[0] == "checks" else STEP_TYPES
        return {**err, "type": "value_error", "msg": f"unknown {'check type' if loc[0] == 'checks' else 'step'}; "
                                                     f"expected one of {', '.join(types)}", "input": {}}
    return err


def _profile_document(spec: ExerciseFile, path: Path) -> dict[str, Any]:
    """The lab's profile as a document: a bundled one (or a file beside the exercise), maybe with
    top-level keys replaced, or inline; the exercise's faults join the profile's plan."""
    ref = spec.profile
    if isinstance(ref, dict) and "base" not in ref:
        document = dict(ref)
    else:
        base = ref if isinstance(ref, str) else ref["base"]
        beside = path.parent / str(base)
        try:
            found = beside if beside.suffix in (".yaml", ".yml") and beside.exists() else profiles.resolve(str(base))
        except profiles.ProfileError as exc:
            raise ExerciseError(f"{path}: profile: {exc}") from None
        loaded = profiles.read_document(found)
        if not isinstance(loaded, dict):
            raise ExerciseError(f"{found}: expected a mapping with `lab` and `devices` at the top level")
        document = {**loaded, **({k: v for k, v in ref.items() if k != "base"} if isinstance(ref, dict) else {})}
    faults = [f.model_dump(exclude_defaults=True) for f in spec.faults]
    document["faults"] = [*document.get("faults", []), *faults]
    return document


def _references(spec: ExerciseFile, profile: profiles.Profile, source: str) -> list[str]:
    """Every device, pair and traffic monitor a check or step names is one of the lab's."""
    devices = [d.name for d in profile.expanded()]
    pairs = [p.name for p in profile.ha_pairs]
    problems = []

    def need(where: str, name: str | None, known: list[str], what: str) -> None:
        if name is not None and name not in known:
            problems.append(f"{source}: {where}: no {what} {name!r} in profile {profile.lab} "
                            f"({what}s: {', '.join(known) or 'none'})")

    for i, step in enumerate(spec.start):
        need(f"start[{i}].{step.type}.device", step.args.device, devices, "device")
    for i, check in enumerate(spec.checks):
        where, args = f"checks[{i}].{check.type}", check.args
        if check.type == "versions":
            need(f"{where}.device", args.device, devices, "device")
            need(f"{where}.pair", args.pair, pairs, "HA pair")
        elif check.type == "state":
            need(f"{where}.device", args.device, devices, "device")
        elif check.type == "traffic_lost_max":
            need(f"{where}.monitor", args.monitor, pairs + devices, "HA pair or device")
        elif check.type == "never_upgraded_while_active":
            need(where, args, pairs, "HA pair")
        else:
            matches = args if isinstance(args, list) else [args.until if check.type == "done_within" else args]
            for j, match in enumerate(matches):
                need(f"{where}[{j}].device" if isinstance(args, list) else f"{where}.device", match.device,
                     devices, "device")
    return problems
