"""The labs one server hosts: created from a profile, each in `STATE/labs/<id>/`
with its own devices, clock, fault plan and journal, all drawing their ports
from one shared range (so two labs never clash and a deleted lab's ports are
free again), within the server's budgets: `max_labs`, the file descriptors
the process may open, the ports of the range. A lab is refused before
anything of it exists, or cleaned up whole when it fails to start: never
half built. Idle labs (no request for `ttl` wall seconds) are deleted.

Beside each lab's state, `hosted.json` says how the server made it (what
`POST /labs` asked for, and the ports it took). A server stopping marks it
there (`resume`), and the next server on the same state directory starts every
marked lab again (`resume()`): same id, its state from its directory, its
ports asked back. A deleted or expired lab is never marked."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import resource
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from simulator import exercises
from simulator import profile as profiles
from simulator.lab import Lab, listeners
from simulator.sockets import PortRange, Remembered

DEFAULT_TTL = 3600.0            # wall seconds a lab lives without a request
MAX_TTL = 30 * 86400.0
SERVER_SPARE_FDS = 256          # the server's own files and HTTP clients
LAB_SPARE_FDS = 16              # each lab besides its listeners: its journal and state files, a few clients at once
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
HOSTED = "hosted.json"          # in a lab's state directory: how the server made it, and whether to resume it


class Refusal(Exception):
    """A lab the server will not host, and why; `status` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class LabRequest:
    """What `POST /labs` asks for (validated)."""

    profile: profiles.Profile
    source: str                 # a bundled profile's name, "inline", or "exercise NAME"
    text: str                   # the profile's (or exercise's) YAML, kept beside the lab's state to start it again
    exercise: exercises.Exercise | None = None
    name: str | None = None
    seed: int | None = None
    virtual_time: bool = False
    time_scale: float | None = None
    ttl: float | None = None


@dataclass(eq=False)
class Hosted:
    """One lab of the server."""

    id: str
    lab: Lab
    source: str
    ttl: float
    fds: int                    # descriptors reserved for it
    ports: int                  # ports it holds
    created: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.monotonic)
    busy: int = 0               # requests in flight (an open event stream keeps a lab alive)
    request: dict[str, Any] = field(default_factory=dict)   # hosted.json: what made it, the ports it took

    def touch(self) -> None:
        self.last_used = time.monotonic()

    @property
    def idle(self) -> float:
        return 0.0 if self.busy else time.monotonic() - self.last_used

    @property
    def expired(self) -> bool:
        return self.idle > self.ttl


def bundled_or_inline(ref: str) -> tuple[profiles.Profile, str, str]:
    """(profile, source, YAML text) of a request's `profile`: a bundled profile's name, or YAML text.
    Paths on the server's machine are not read: a client names what it sends."""
    if NAME.fullmatch(ref):
        path = profiles.PROFILES_DIR / f"{ref}.yaml"
        if not path.exists():
            names = ", ".join(sorted(p.stem for p in profiles.PROFILES_DIR.glob("*.yaml")))
            raise profiles.ProfileError(f"{ref}: no such profile (bundled profiles: {names}; or send the "
                                        f"profile's YAML text)")
        text = path.read_text(encoding="utf-8")
        return profiles.loads(text, ref), ref, text
    return profiles.loads(ref, "<profile>"), "inline", ref


def bundled_exercise(name: str) -> tuple[exercises.Exercise, str]:
    """A bundled exercise (only those: no paths on the server's machine) and its file's text."""
    if not NAME.fullmatch(name) or not (exercises.EXERCISES_DIR / f"{name}.yaml").exists():
        raise exercises.ExerciseError(f"{name}: no such exercise (bundled exercises: "
                                      f"{', '.join(exercises.bundled())})")
    path = exercises.EXERCISES_DIR / f"{name}.yaml"
    return exercises.load(name), path.read_text(encoding="utf-8")


def fixed_ports(profile: profiles.Profile) -> list[str]:
    """The ports a profile pins: in a server every lab takes its ports from the shared range."""
    pinned = [f"control_port {profile.control_port}"] if profile.control_port else []
    pinned += [f"ports {profile.ports}"] if profile.ports else []
    pinned += [f"redfish_port {profile.redfish_port}"] if profile.redfish_port else []
    for spec in profile.expanded():
        pinned += [f"{spec.name}.{key} {value}" for key, value in spec.model_dump().items()
                   if key.endswith("_port") and value]
    pinned += [f"{pair.name}.probe_port {pair.probe_port}" for pair in profile.ha_pairs if pair.probe_port]
    return pinned


def host_paths(profile: profiles.Profile) -> list[str]:
    """The keys of a profile that would open the server's own files to the lab's users."""
    named = [f"{spec.name}.import_dir" for spec in profile.expanded() if getattr(spec, "import_dir", None)]
    keys = profile.ssh_authorized_keys
    if keys and not keys.lstrip().startswith(("ssh-", "ecdsa-", "sk-")):
        named.append("ssh_authorized_keys (give the keys' text, not a path)")
    return named


class LabHost:
    def __init__(self, state_dir: Path, host: str, ports: PortRange, *, max_labs: int = 100,
                 ttl: float = DEFAULT_TTL, token: str | None = None) -> None:
        self.state_dir, self.host, self.ports = state_dir, host, ports
        self.max_labs, self.ttl, self.token = max_labs, ttl, token
        self.labs: dict[str, Hosted] = {}
        self._starting: dict[str, tuple[int, int]] = {}     # id: (fds, ports) reserved while it starts

    def get(self, lab_id: str) -> Hosted | None:
        return self.labs.get(lab_id)

    async def create(self, request: LabRequest) -> Hosted:
        profile = request.profile
        if request.name:
            profile = profile.model_copy(update={"lab": request.name})
        pinned = fixed_ports(profile)
        if pinned:
            raise Refusal(400, f"{profile.lab}: a served lab takes its ports from the server's range; remove "
                               + ", ".join(pinned))
        paths = host_paths(profile)
        if paths:
            raise Refusal(400, f"{profile.lab}: a served lab reads no file of the server's machine; remove "
                               + ", ".join(paths))
        need = self._room(profile)
        lab_id = self._new_id()
        state_dir = self.state_dir / "labs" / lab_id
        saved = {"source": request.source, "exercise": request.exercise.name if request.exercise else None,
                 "name": request.name, "seed": request.seed, "virtual_time": request.virtual_time,
                 "time_scale": request.time_scale, "ttl": request.ttl, "created": time.time()}
        try:
            try:
                state_dir.mkdir(parents=True)
                (state_dir / ("exercise.yaml" if request.exercise else "profile.yaml")).write_text(
                    request.text, encoding="utf-8")
            except OSError as exc:
                raise Refusal(507, f"lab {profile.lab} did not start: {exc}") from None
            return await self._start(lab_id, profile, request.exercise, saved, need)
        except Refusal:
            await asyncio.to_thread(shutil.rmtree, state_dir, True)
            raise

    def _room(self, profile: profiles.Profile) -> tuple[int, int]:
        """(descriptors, ports) the lab needs, if the server has room for it (else Refusal)."""
        if len(self.labs) + len(self._starting) >= self.max_labs:
            raise Refusal(429, f"the server hosts {self.max_labs} labs already (--max-labs): delete one first")
        ports, fds = listeners(profile)
        fds += LAB_SPARE_FDS
        self._check_budget(profile, fds, ports)
        return fds, ports

    async def _start(self, lab_id: str, profile: profiles.Profile, exercise: exercises.Exercise | None,
                     saved: dict[str, Any], need: tuple[int, int],
                     previous: dict[str, list[int]] | None = None, avoid: set[int] | None = None) -> Hosted:
        """Start a lab in `STATE/labs/<lab_id>` (new, or resumed with its `previous` ports asked back)
        and write its hosted.json, unmarked; Refusal if it does not start (stopped, its ports closed)."""
        fds, ports = need
        self._starting[lab_id] = need
        state_dir = self.state_dir / "labs" / lab_id
        lab: Lab | None = None
        try:
            if self.token:      # the lab's control API asks for the server's token
                token = state_dir / "control.token"
                token.write_text(self.token + "\n")
                token.chmod(0o600)
            drawn = Remembered(self.ports, previous, avoid)
            lab = Lab(profile, state_dir=state_dir, virtual_time=saved["virtual_time"],
                      autojump=saved["virtual_time"], time_scale=saved["time_scale"], host=self.host,
                      seed=saved["seed"], ports=drawn, exercise=exercise)
            await lab.start()
            saved = {**saved, "seed": lab.seed, "ports": drawn.taken}
            _write_hosted(state_dir, {**saved, "resume": False})
        except Exception as exc:
            if lab is not None:
                await lab.stop()
            if isinstance(exc, OSError):
                raise Refusal(507, f"lab {profile.lab} did not start: {exc}") from None
            raise Refusal(500, f"lab {profile.lab} did not start: {exc}") from None
        finally:
            del self._starting[lab_id]
        hosted = Hosted(lab_id, lab, saved["source"], saved["ttl"] or self.ttl, fds, ports,
                        created=saved["created"], request=saved)
        self.labs[lab_id] = hosted
        return hosted

    def _new_id(self) -> str:
        while (lab_id := secrets.token_hex(4)) in self.labs or lab_id in self._starting \
                or (self.state_dir / "labs" / lab_id).exists():
            pass
        return lab_id

    def _check_budget(self, profile: profiles.Profile, fds: int, ports: int) -> None:
        """Refuse (507) a lab the process could not open the sockets of next to the labs it has,
        raising the soft descriptor limit to the hard one first, as `Lab` does."""
        held = [*((h.fds, h.ports) for h in self.labs.values()), *self._starting.values()]
        used = SERVER_SPARE_FDS + sum(f for f, _ in held)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and used + fds > soft and soft != hard:
            soft = hard if hard != resource.RLIM_INFINITY else used + fds
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        if soft != resource.RLIM_INFINITY and used + fds > soft:
            raise Refusal(507, f"lab {profile.lab} needs about {fds:,} file descriptors and the server has "
                               f"{max(0, soft - used):,} of its {soft:,} (ulimit -n) left beside its {len(held)} "
                               f"labs: delete a lab, or raise the limit")
        taken = sum(p for _, p in held)
        if taken + ports > self.ports.size:
            raise Refusal(507, f"lab {profile.lab} needs {ports:,} ports and the server's range {self.ports} has "
                               f"{self.ports.size - taken:,} of {self.ports.size:,} left: delete a lab, or give "
                               f"`simulator serve --ports` a wider range")

    async def delete(self, lab_id: str, keep_state: bool = False) -> Hosted:
        hosted = self.labs.pop(lab_id)
        await hosted.lab.stop()
        if not keep_state:
            await asyncio.to_thread(shutil.rmtree, hosted.lab.state_dir, True)
        return hosted

    async def expire(self) -> list[str]:
        """Delete the labs idle past their TTL (state and all); their ids."""
        gone = [lab_id for lab_id, hosted in self.labs.items() if hosted.expired]
        for lab_id in gone:
            if lab_id in self.labs:
                await self.delete(lab_id)
        return gone

    async def close(self) -> None:
        """Stop every lab, keeping its state, marked for the next server on this state directory to
        resume (by hand: `simulator up STATE/labs/<id>/profile.yaml --state-dir ...`, or `--exercise
        STATE/labs/<id>/exercise.yaml`)."""
        for lab_id in list(self.labs):
            hosted = await self.delete(lab_id, keep_state=True)
            _write_hosted(hosted.lab.state_dir, {**hosted.request, "resume": True})

    async def resume(self) -> list[str]:
        """Start again every lab a stopped server marked (oldest first); what happened, a line each.
        A lab that cannot start (no room, damaged state) stays on disk, unmarked."""
        report, marked = [], []
        for path in sorted((self.state_dir / "labs").glob(f"*/{HOSTED}")):
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                report.append(f"lab {path.parent.name} not resumed: unreadable {path}: {exc}")
                continue
            if isinstance(saved, dict) and saved.get("resume") is True:
                marked.append((path.parent.name, saved))
        marked.sort(key=lambda item: (_created(item[1]), item[0]))
        wanted = [_numbers(saved) for _, saved in marked]     # ports a lab to come asks back: not for another's walk
        for n, (lab_id, saved) in enumerate(marked):
            state_dir = self.state_dir / "labs" / lab_id
            try:
                _write_hosted(state_dir, {**saved, "resume": False})   # a lab that fails now is not tried again
                saved = _checked(saved)
                profile, exercise = _profile_of(state_dir, saved)
                hosted = await self._start(lab_id, profile, exercise, saved, self._room(profile), saved["ports"],
                                           set().union(*wanted[n + 1:]))
            except Exception as exc:      # one lab's damage stops neither the server nor the other labs
                report.append(f"lab {lab_id} ({saved.get('name') or saved.get('source')}) not resumed: {exc}; "
                              f"its state stays in {state_dir}")
                continue
            devices, moved = len(hosted.lab.devices), _moved(saved["ports"], hosted.request["ports"])
            report.append(f"resumed lab {hosted.id} ({hosted.lab.name}): {devices} device{'s' * (devices != 1)}"
                          + (f"; {moved} of its ports changed (taken meanwhile)" if moved else ""))
        return report


def _profile_of(state_dir: Path, saved: dict[str, Any]) -> tuple[profiles.Profile, exercises.Exercise | None]:
    """The profile (and exercise) a lab was made from, as its state directory keeps them."""
    exercise = None
    if saved.get("exercise"):
        exercise = exercises.load(state_dir / "exercise.yaml")
        exercise = dataclasses.replace(exercise, name=saved["exercise"])
        profile = exercise.profile
    else:
        path = state_dir / "profile.yaml"
        if not path.exists():
            raise profiles.ProfileError(f"{path}: no such file")
        profile = profiles.loads(path.read_text(encoding="utf-8"), str(path))
    if saved.get("name"):
        profile = profile.model_copy(update={"lab": saved["name"]})
    return profile, exercise


def _numbers(saved: dict[str, Any]) -> set[int]:
    ports = saved.get("ports")
    return {n for numbers in ports.values() if isinstance(numbers, list) for n in numbers if isinstance(n, int)} \
        if isinstance(ports, dict) else set()


def _created(saved: dict[str, Any]) -> float:
    created = saved.get("created")
    return float(created) if isinstance(created, (int, float)) else 0.0


class _Record(BaseModel):
    """What hosted.json holds, as `create` wrote it."""

    model_config = ConfigDict(strict=True)
    source: str
    exercise: str | None
    name: str | None
    seed: int | None
    virtual_time: bool
    time_scale: float | None
    ttl: float | None
    created: float
    ports: dict[str, list[int]]
    resume: bool = False


def _checked(saved: dict[str, Any]) -> dict[str, Any]:
    """A hosted.json's request (ValueError: damaged, naming the fields)."""
    try:
        _Record.model_validate(saved)
    except ValidationError as exc:
        wrong = sorted({".".join(str(part) for part in error["loc"][:1]) for error in exc.errors()})
        raise ValueError(f"{HOSTED} is damaged: {', '.join(wrong)}") from None
    return saved


def _moved(before: dict[str, list[int]], after: dict[str, list[int]]) -> int:
    """How many of a resumed lab's ports are not those it had."""
    return sum(len(set(after.get(proto, [])) - set(before.get(proto, []))) for proto in after)


def _write_hosted(state_dir: Path, data: dict[str, Any]) -> None:
    tmp = state_dir / f"{HOSTED}.tmp"
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, state_dir / HOSTED)
