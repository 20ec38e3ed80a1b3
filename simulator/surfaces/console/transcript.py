"""What a device kind's serial console prints and runs (`ConsoleKind`), with
the texts in the kind's console YAML: the lines of each boot milestone with
their simulated offsets, the login prompts, the rescue shell of a device that
cannot boot, and journal events echoed on the line.

A kind's `console.py` subclasses `ConsoleKind`: it says what the placeholders
of its texts stand for on a device, which shell runs after login, and which
states are a failure (a rescue prompt instead of a login)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from simulator import facts
from simulator.terminal.session import Session, Shell


@dataclass(frozen=True)
class Line:
    at: float       # simulated seconds after the milestone's event
    text: str


class _Blank(dict[str, Any]):
    """format_map values: a missing field renders empty instead of failing."""

    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, values: dict[str, Any]) -> str:
    return template.format_map(_Blank(values))


class ConsoleKind:
    """A kind's console: its texts (`facts_file`, relative to simulator/) and hooks.

    The texts file has `milestones` (name -> [{at, text, family}]), optional
    `families` (family -> models, for lines that only some models print),
    `reset_causes`, `messages` (journal event kind -> template), `login`
    (prompt, password, incorrect, tty; absent: the console needs no login)
    and `rescue` (banner, prompt, help, refuse)."""

    facts_file: str = ""

    @cached_property
    def data(self) -> dict[str, Any]:
        return dict(facts.read_yaml(self.facts_file))

    # -- hooks a kind overrides ------------------------------------------------------
    def values(self, device: Any) -> dict[str, Any]:
        """What the placeholders of the texts stand for on this device."""
        return {"hostname": getattr(device, "hostname", device.name), "version": device.version,
                "model": device.model, "serial": getattr(device, "serial", "")}

    def shell(self, session: Session, device: Any, fs_root: Path) -> Shell:
        """The CLI a console login (or, without login, the line) runs."""
        raise NotImplementedError

    def banner(self, device: Any, last_login: str) -> str:
        """What a login prints before the first prompt."""
        return ""

    def login_stamp(self, device: Any) -> str:
        """How this login is remembered for the next one's banner."""
        return ""

    def failed(self, device: Any) -> bool:
        """The device cannot boot its software: the line runs the rescue shell."""
        return False

    def booting(self, device: Any) -> bool:
        """The device has just started to boot (the `booting` milestone prints)."""
        return bool(device.state == "booting")

    def rescue_shell(self, session: Session, device: Any) -> Shell:
        """The shell of a device that cannot boot (by default it refuses every command)."""
        return RescueShell(session, device, self)

    def boot_milestones(self, device: Any) -> list[str]:
        """Milestones printed after `booting` (an upgrade's first boot...)."""
        return []

    # -- the texts ------------------------------------------------------------------------
    @property
    def needs_login(self) -> bool:
        return bool(self.data.get("login"))

    def family(self, device: Any) -> str:
        for name, models in (self.data.get("families") or {}).items():
            if device.model in models:
                return str(name)
        return "appliance"

    def milestone(self, device: Any, name: str, **extra: Any) -> list[Line]:
        """The lines of one milestone, filled in, in the order they print."""
        entries = self.data["milestones"].get(name) or []
        mine = self.family(device)
        filled = {**self.values(device), **extra}
        lines = [Line(float(e.get("at", 0)), fill(str(e.get("text", "")), filled))
                 for e in entries if e.get("family") in (None, mine)]
        return sorted(lines, key=lambda line: line.at)   # stable: same offset keeps file order

    def reset_cause(self, cause: str) -> str:
        return str((self.data.get("reset_causes") or {}).get(cause, "ResetRequest"))

    def message(self, event: dict[str, Any]) -> str | None:
        """The console line for a journal event that is not a milestone, if any."""
        template = (self.data.get("messages") or {}).get(event["kind"])
        return fill(template, event) if template else None

    def login_text(self, key: str, device: Any) -> str:
        return fill(self.data["login"][key], self.values(device))

    def rescue_text(self, key: str, device: Any, **extra: Any) -> str:
        return fill(self.data["rescue"][key], {**self.values(device), **extra})


class RescueShell(Shell):
    """The shell of a device that cannot boot: it lists a few commands and runs none."""

    def __init__(self, session: Session, device: Any, kind: ConsoleKind) -> None:
        super().__init__(session)
        self.device = device
        self.kind = kind

    @property
    def prompt(self) -> str:
        return self.kind.rescue_text("prompt", self.device)

    async def execute(self, line: str) -> None:
        command = line.strip()
        if not command:
            return
        if command in ("?", "help"):
            self.session.write(self.kind.rescue_text("help", self.device))
            return
        self.session.write(self.kind.rescue_text("refuse", self.device, command=command.split()[0]) + "\n")
