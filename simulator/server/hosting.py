"""The labs one server hosts: created from a profile, each in `STATE/labs/<id>/`
with its own devices, clock, fault plan and journal, all drawing their ports
from one shared range (so two labs never clash and a deleted lab's ports are
free again), within the server's budgets: `max_labs`, the file descriptors
the process may open, the ports of the range. A lab is refused before
anything of it exists, or cleaned up whole when it fails to start: never
half built. Idle labs (no request for `ttl` wall seconds) are deleted."""

from __future__ import annotations

import asyncio
import re
import resource
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from simulator import exercises
from simulator import profile as profiles
from simulator.lab import Lab, listeners
from simulator.sockets import PortRange

DEFAULT_TTL = 3600.0            # wall seconds a lab lives without a request
MAX_TTL = 30 * 86400.0
SERVER_SPARE_FDS = 256          # the server's own files and HTTP clients
LAB_SPARE_FDS = 16              # each lab besides its listeners: its journal and state files, a few clients at once
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


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
        if len(self.labs) + len(self._starting) >= self.max_labs:
            raise Refusal(429, f"the server hosts {self.max_labs} labs already (--max-labs): delete one first")
        pinned = fixed_ports(profile)
        if pinned:
            raise Refusal(400, f"{profile.lab}: a served lab takes its ports from the server's range; remove "
                               + ", ".join(pinned))
        paths = host_paths(profile)
        if paths:
            raise Refusal(400, f"{profile.lab}: a served lab reads no file of the server's machine; remove "
                               + ", ".join(paths))
        ports, fds = listeners(profile)
        fds += LAB_SPARE_FDS
        self._check_budget(profile, fds, ports)
        lab_id = self._new_id()
        self._starting[lab_id] = (fds, ports)
        state_dir = self.state_dir / "labs" / lab_id
        try:
            state_dir.mkdir(parents=True)
            saved = "exercise.yaml" if request.exercise else "profile.yaml"
            (state_dir / saved).write_text(request.text, encoding="utf-8")
            if self.token:      # the lab's control API asks for the server's token
                token = state_dir / "control.token"
                token.write_text(self.token + "\n")
                token.chmod(0o600)
            lab = Lab(profile, state_dir=state_dir, virtual_time=request.virtual_time, autojump=request.virtual_time,
                      time_scale=request.time_scale, host=self.host, seed=request.seed, ports=self.ports,
                      exercise=request.exercise)
            await lab.start()
        except Exception as exc:
            await asyncio.to_thread(shutil.rmtree, state_dir, True)
            if isinstance(exc, OSError):
                raise Refusal(507, f"lab {profile.lab} did not start: {exc}") from None
            raise Refusal(500, f"lab {profile.lab} did not start: {exc}") from None
        finally:
            del self._starting[lab_id]
        hosted = Hosted(lab_id, lab, request.source, request.ttl or self.ttl, fds, ports)
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
        """Stop every lab, keeping its state (`simulator up STATE/labs/<id>/profile.yaml --state-dir ...`,
        or `--exercise STATE/labs/<id>/exercise.yaml`)."""
        for lab_id in list(self.labs):
            await self.delete(lab_id, keep_state=True)
