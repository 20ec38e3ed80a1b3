"""The Cisco ASA CLI: `host>` (user EXEC), `host#` (privileged),
`host(config)#`, `host(config-fover-group)#`; the failover prompt suffix
(`host/pri/act#`) when `prompt hostname priority state` is configured. The
same shell runs over SSH and on the console.

Handlers translate commands into AsaDevice / AsaFailoverPair calls; what they
print comes from views.py and the templates of cli.yaml. `copy` is a dialogue
of its own (copying.py); its bytes are moved by the kind's worker.

Enable password: the device's `enable_password` (by default the login
password of the profile, `Admin123`); three wrong answers give `Access denied.`"""

from __future__ import annotations

import copy as copylib
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from simulator.journal import Event
from simulator.kinds.asa.cli_network import NetworkCommands
from simulator.kinds.asa.copying import CopyDialog
from simulator.kinds.asa.disk import DiskFile, disk_name
from simulator.kinds.asa.facts import say
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.asa.versions import ImageName, zero_downtime_warning
from simulator.kinds.asa.views import (
    bootvar,
    checksum,
    cli_data,
    config_text,
    curpriv,
    dir_listing,
    failover_lines,
    prompt_base,
    show_failover,
    show_failover_state,
    show_version,
    stamp_clock,
    text,
)
from simulator.kinds.base import Refused
from simulator.terminal.session import Session, Shell
from simulator.terminal.tree import (
    CliError,
    CommandTree,
    Parsed,
    apply_filters,
    split_filters,
)

PROMPT_WORDS = ("hostname", "context", "domain", "slot", "state", "priority", "cluster-unit")
MORE = "<--- More --->"
CONFIG_FILES = ("running-config", "startup-config")


# -- the command trees -----------------------------------------------------------------------------
@dataclass
class Piped(Parsed):
    """A command with the output filters after it (`show failover | include host`)."""

    filters: list[tuple[str, str]] = field(default_factory=list)


class AsaTree(CommandTree):
    """The ASA's tree: filters parse with the command (the shell pages their output),
    and only invalid input has a caret under it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__({**spec, "filters": False})

    def parse(self, line: str) -> Parsed | CliError:
        split = split_filters(line)
        if split is None:
            return CliError("unknown", line.index("|"))
        command, filters = split
        parsed = super().parse(command)
        if isinstance(parsed, CliError) or not filters:
            return parsed
        return Piped(parsed.action, parsed.args, parsed.flags, filters)

    def error_text(self, error: CliError, line: str, prompt: str) -> str:
        if error.kind == "unknown":
            return super().error_text(error, line, prompt)
        return self.errors[error.kind].format(word=error.word, line=line.strip())


def _merge(*trees: dict[str, Any]) -> dict[str, Any]:
    """Command dictionaries merged: later words add to earlier ones, children merge."""
    out: dict[str, Any] = {}
    for tree in trees:
        for word, spec in (tree or {}).items():
            if word not in out:
                out[word] = copylib.deepcopy(spec)
                continue
            mine = out[word] = dict(out[word] or {})
            for key, value in (spec or {}).items():
                if key in ("children", "options"):
                    mine[key] = _merge(mine.get(key) or {}, value or {})
                else:
                    mine.setdefault(key, value)
    return out


@cache
def trees() -> dict[str, AsaTree]:
    data = cli_data()
    modes = data["modes"]
    base = {"errors": data["errors"], "caret": data["caret"]}
    exec_ = modes["exec"]
    return {
        "user": AsaTree({**base, "commands": modes["user"]}),
        "exec": AsaTree({**base, "commands": exec_}),
        "config": AsaTree({**base, "commands": _merge(modes["config"], exec_)}),
        "fover_group": AsaTree({**base, "commands": _merge(modes["fover_group"], exec_)}),
    }


# -- the shell -------------------------------------------------------------------------------------------
@dataclass
class AsaContext:
    device: AsaDevice
    user: str = "admin"
    peer: str = "127.0.0.1"


class _MoreKey(Shell):
    """What `<--- More --->` waits for: one key, read as a hotkey (Enter ends the line)."""

    hotkeys: dict[str, str] = {key: key for key in string.printable + "\x03" if key not in "\r\n"}

    @property
    def prompt(self) -> str:
        return MORE


class AsaShell(NetworkCommands, Shell):
    def __init__(self, session: Session, ctx: AsaContext, mode: str = "user") -> None:
        super().__init__(session)
        self.ctx = ctx
        self.device = ctx.device
        self.mode = mode
        self.user = ctx.user if mode == "user" else "enable_15"
        self.group: int | None = None
        self.pager = 24
        self.monitor = False

    @classmethod
    def command_trees(cls) -> list[CommandTree]:
        return list(trees().values())

    # -- framing ----------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """user | exec | config | fover_group: each has its command tree."""
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        self._mode = mode
        self.tree = trees()[mode]

    @property
    def prompt(self) -> str:
        base = prompt_base(self.device)
        return {"user": f"{base}> ", "exec": f"{base}# ", "config": f"{base}(config)# ",
                "fover_group": f"{base}(config-fover-group)# "}[self.mode]

    async def on_eof(self) -> None:
        """Ctrl-D deletes the character under the cursor on the ASA: nothing at an empty
        prompt of a mode; at the session's first prompt the session ends, as everywhere."""
        if self.mode == "user":
            await super().on_eof()

    def on_device_event(self, event: Event) -> None:
        """Messages the unit prints on its terminals while the session is open."""
        kind = event["kind"]
        if kind == "console" or kind == "syslog" and self.monitor:
            self.session.write(event["text"].rstrip("\n") + "\n")

    async def run_command(self, parsed: Parsed) -> str | None:
        """The handler's output, filtered, then paged (nothing is left for Shell.execute to write)."""
        output = await super().run_command(parsed)
        if output:
            filters = parsed.filters if isinstance(parsed, Piped) else []
            await self._page(apply_filters(output, filters) if filters else output)
        return None

    async def _page(self, output: str) -> None:
        """Write output, `<--- More --->` every `pager` lines on an interactive terminal:
        space shows the next page, Enter the next line, q (or Ctrl-C) stops."""
        if not output.endswith("\n"):
            output += "\n"
        lines = output.split("\n")[:-1]
        if not self.session.interactive or self.pager <= 0 or len(lines) <= self.pager:
            self.session.write(output)
            return
        shown, budget = 0, self.pager
        more = _MoreKey(self.session)
        while shown < len(lines):
            chunk = lines[shown:shown + budget]
            self.session.write("\n".join(chunk) + "\n")
            shown += len(chunk)
            if shown >= len(lines):
                return
            key = await self.session.readline(MORE, more)
            self.session.write("\r" + " " * len(MORE) + "\r")
            if key is None or key in ("q", "Q", "\x03"):
                return
            budget = self.pager if key else 1       # Enter: one more line

    @property
    def pair(self) -> Any:
        return self.device.ha

    # -- user EXEC -----------------------------------------------------------------------------------
    async def cmd_enable(self, _: Parsed) -> None:
        if self.mode != "user":
            return
        for attempt in range(3):
            answer = await self.session.ask(text("ask_password"), secret=True)
            if answer is None:
                return
            if answer == self.device.enable_password:
                self.mode, self.user = "exec", "enable_15"
                return
            if attempt < 2:
                self.session.write(text("bad_password") + "\n")
        self.session.write(text("access_denied") + "\n")
        return

    async def cmd_login(self, _: Parsed) -> None:
        user = await self.session.ask(text("ask_username"))
        if user is None:
            return
        password = await self.session.ask(text("ask_password"), secret=True)
        if password is None:
            return
        if user.strip() == self.device.username and password == self.device.password:
            self.mode, self.user = "exec", user.strip()
        else:
            self.session.write(text("bad_password") + "\n")
        return

    async def cmd_disable(self, _: Parsed) -> None:
        self.mode, self.user = "user", self.ctx.user

    async def cmd_exit(self, _: Parsed) -> None:
        self.session.write(text("logoff"))
        self.session.pop()

    async def cmd_help(self, _: Parsed) -> str:
        return self.help("")

    async def cmd_terminal_pager(self, p: Parsed) -> None:
        self.pager = int(p.args["lines"])

    async def cmd_terminal_no_pager(self, _: Parsed) -> None:
        """`no terminal pager` (what Ansible's cisco.asa sends first): no pagination."""
        self.pager = 0

    async def cmd_terminal_width(self, _: Parsed) -> None:
        return None

    async def cmd_terminal_monitor(self, _: Parsed) -> None:
        self.monitor = True

    async def cmd_terminal_no_monitor(self, _: Parsed) -> None:
        self.monitor = False

    async def cmd_show_curpriv(self, _: Parsed) -> str:
        return curpriv(self.user, self.mode)

    async def cmd_show_version(self, _: Parsed) -> str:
        return show_version(self.device)

    async def cmd_show_clock(self, _: Parsed) -> str:
        return text("show_clock", time=stamp_clock(self.device.local_time()))

    async def cmd_show_failover(self, _: Parsed) -> str:
        return show_failover(self.device)

    async def cmd_show_failover_state(self, _: Parsed) -> str:
        return show_failover_state(self.device)

    # -- privileged EXEC: information ---------------------------------------------------------------
    async def cmd_show_running(self, _: Parsed) -> str:
        return config_text(self.device, self.device.running, saved=not self.device.config_modified)

    async def cmd_show_startup(self, _: Parsed) -> str:
        return config_text(self.device, self.device.startup, saved=True)

    async def cmd_show_running_failover(self, _: Parsed) -> str:
        return "\n".join(failover_lines(self.device.running))

    async def cmd_show_running_boot(self, _: Parsed) -> str:
        return "\n".join(f"boot system {e}" for e in self.device.running["boot_system"])

    async def cmd_show_running_hostname(self, _: Parsed) -> str:
        return f"hostname {self.device.hostname}"

    async def cmd_show_running_prompt(self, _: Parsed) -> str:
        parts = self.device.running.get("prompt")
        return "prompt " + " ".join(parts) + " " if parts else ""

    async def cmd_show_bootvar(self, _: Parsed) -> str:
        return bootvar(self.device)

    async def cmd_show_logging(self, _: Parsed) -> str:
        entries = [t for _, t in self.device.syslog]
        return text("logging_head", count=len(entries)) + "\n".join(entries)

    async def cmd_clear_logging(self, _: Parsed) -> None:
        self.device.syslog.clear()

    # -- configuration mode entry and exit -------------------------------------------------------------
    async def cmd_configure(self, _: Parsed) -> None:
        self.mode = "config"

    async def cmd_end(self, _: Parsed) -> None:
        self.mode, self.group = "exec", None

    async def cmd_config_exit(self, _: Parsed) -> None:
        self.mode = "exec"

    async def cmd_group_exit(self, _: Parsed) -> None:
        self.mode, self.group = "config", None

    def _configure(self, call: Callable[[], Any]) -> str | None:
        """A configuration command: applied, and on a standby unit the replication warning."""
        error = self._refusable(call)
        if error:
            return error
        pair = self.pair
        if pair is not None and pair.is_standby(self.device) and pair.link_up \
                and pair.peer_of(self.device).state == "online":
            return say("standby_config").rstrip("\n")
        return None

    async def cmd_hostname(self, p: Parsed) -> str | None:
        return self._configure(lambda: self.device.set_hostname(p.args["name"]))

    async def cmd_domain_name(self, p: Parsed) -> str | None:
        return self._configure(lambda: self.device.set_domain(p.args["name"]))

    async def cmd_boot_system(self, p: Parsed) -> str | None:
        path = p.args["path"]
        name = disk_name(path)
        if name is None:
            return text("boot_location", path=path)
        result = self._configure(lambda: self.device.add_boot_system(path))
        warning = self._zero_downtime_warning(name)
        return "\n".join(t for t in (result, warning) if t) or None

    def _zero_downtime_warning(self, name: str) -> str | None:
        """Booting `name` on a failover unit: will the pair run across the versions?"""
        pair = self.pair
        image = ImageName.parse(name)
        if pair is None or image is None:
            return None
        mate = pair.peer_of(self.device)
        return zero_downtime_warning(mate.version, str(image.version))

    async def cmd_no_boot_system(self, p: Parsed) -> str | None:
        return self._configure(lambda: self.device.remove_boot_system(p.args["path"]))

    async def cmd_clear_boot(self, _: Parsed) -> str | None:
        return self._configure(self.device.clear_boot_system)

    async def cmd_config_line(self, p: Parsed) -> str | None:
        return self._configure(lambda: self.device.add_line(f"asdm image {p.args['path']}"))

    async def cmd_prompt(self, p: Parsed) -> str | None:
        words = p.args["parts"].split()
        for i, word in enumerate(words):
            matches = [w for w in PROMPT_WORDS if w.startswith(word.lower())]
            if len(matches) != 1:
                position = len("prompt ") + p.args["parts"].find(word)
                return trees()["config"].error_text(CliError("unknown", position, word), "prompt " + p.args["parts"],
                                                    self.prompt)
            words[i] = matches[0]
        return self._configure(lambda: self.device.set_prompt(words))

    async def cmd_no_prompt(self, _: Parsed) -> str | None:
        return self._configure(lambda: self.device.set_prompt([]))

    async def cmd_failover_group(self, p: Parsed) -> str | None:
        fo = self.device.running.get("failover")
        if not fo:
            return say("refuse", "no_failover")
        if fo.get("mode") != "active-active":
            return say("refuse", "group_mode")
        self.mode, self.group = "fover_group", int(p.args["group"])
        return None

    async def cmd_preempt(self, p: Parsed) -> str | None:
        delay = int(p.args.get("delay", 0))
        return self._configure(lambda: self.device.set_failover_group(self.group or 1, preempt=delay))

    async def cmd_no_preempt(self, _: Parsed) -> str | None:
        return self._configure(lambda: self.device.set_failover_group(self.group or 1, preempt=None))

    async def cmd_group_primary(self, _: Parsed) -> str | None:
        return self._configure(lambda: self.device.set_failover_group(self.group or 1, unit="primary"))

    async def cmd_group_secondary(self, _: Parsed) -> str | None:
        return self._configure(lambda: self.device.set_failover_group(self.group or 1, unit="secondary"))

    # -- saving -------------------------------------------------------------------------------------------
    def _save(self, template: str = "write_memory") -> str:
        """`write memory` and what it prints (or the unit's refusal)."""
        error = self._refusable(self.device.write_memory)
        if error:
            return error
        body = config_text(self.device, self.device.startup, saved=True)
        size = len(body)
        return text(template, checksum=checksum(body), size=size, secs=f"{0.1 + size / 20000:.3f}").rstrip("\n")

    async def cmd_write_memory(self, _: Parsed) -> str:
        return self._save()

    async def cmd_write_erase(self, _: Parsed) -> str | None:
        answer = await self.session.ask(text("ask_erase"))
        if answer is None or answer.strip().lower().startswith("n"):
            return None
        return self._refusable(self.device.write_erase) or "[OK]"

    async def cmd_write_standby(self, _: Parsed) -> str:
        pair = self.pair
        if pair is None:
            return say("refuse", "no_failover")
        self.session.write(text("write_standby_begin") + "\n")
        return self._refusable(lambda: pair.write_standby(self.device)) or text("write_standby_end")

    # -- failover -----------------------------------------------------------------------------------------
    def _group(self, p: Parsed) -> int | None:
        return int(p.args["group"]) if "group" in p.args else None

    async def cmd_failover_active(self, p: Parsed) -> str | None:
        pair = self.pair
        if pair is None:
            return say("refuse", "no_failover")
        return self._refusable(lambda: pair.failover_active(self.device, self._group(p)))

    async def cmd_no_failover_active(self, p: Parsed) -> str | None:
        pair = self.pair
        if pair is None:
            return say("refuse", "no_failover")
        return self._refusable(lambda: pair.no_failover_active(self.device, self._group(p)))

    async def cmd_failover_reload_standby(self, _: Parsed) -> str | None:
        pair = self.pair
        if pair is None:
            return say("refuse", "no_failover")
        try:
            return pair.reload_standby(self.device)
        except Refused as refused:
            return refused.message

    async def _failover_exec(self, target: str, command: str) -> str:
        pair = self.pair
        if pair is None:
            return say("refuse", "no_failover")
        mate = pair.peer_of(self.device)
        unit = {"mate": mate, "active": pair.active_unit or self.device}.get(target)
        if target == "standby":
            active = pair.active_unit
            unit = pair.peer_of(active) if active else mate
        if unit is None:
            return say("refuse", "mate_absent")
        if unit is not self.device and (not pair.link_up or unit.state != "online"):
            return say("refuse", "mate_absent")
        return await exec_on(unit, command, user=self.user, peer=self.ctx.peer)

    async def cmd_failover_exec_mate(self, p: Parsed) -> str:
        return await self._failover_exec("mate", p.args["command"])

    async def cmd_failover_exec_active(self, p: Parsed) -> str:
        return await self._failover_exec("active", p.args["command"])

    async def cmd_failover_exec_standby(self, p: Parsed) -> str:
        return await self._failover_exec("standby", p.args["command"])

    # -- reload ---------------------------------------------------------------------------------------------
    async def cmd_reload(self, p: Parsed) -> str | None:
        noconfirm = "noconfirm" in p.flags
        if "save-config" in p.flags:
            self.session.write(self._save() + "\n")
        elif self.device.config_modified and not noconfirm:
            while True:
                answer = await self.session.ask(text("save_question"))
                if answer is None:
                    return None
                choice = answer.strip().lower()[:1]
                if choice == "y":
                    self.session.write(self._save() + "\n")
                    break
                if choice == "n":
                    break
        if not noconfirm:
            answer = await self.session.ask(text("reload_confirm"))
            if answer is None or answer.strip().lower().startswith("n"):
                return None
        if not self.session.interactive:       # a terminal sees the unit's shutdown messages as they come
            self.session.write(say("console", "shutdown"))
        refused = self._refusable(lambda: self.device.reload(cause="operator"))
        if refused is None:
            await self.session.going_down()     # "SHUTDOWN NOW", then the connection drops: no prompt
        return refused

    # -- files --------------------------------------------------------------------------------------------------
    async def _ask(self, prompt: str, default: str, confirm: bool) -> str | None:
        if not confirm:
            return default
        answer = await self.session.ask(prompt)
        if answer is None:
            return None
        return answer.strip() or default

    def _disk_file(self, path: str) -> DiskFile | str:
        """The disk0: file a command names, or the error it prints."""
        name = disk_name(path) or path.lstrip("/")
        entry = self.device.disk.file(name)
        return entry if entry is not None else text("no_file", path=f"disk0:/{name}")

    async def cmd_dir(self, p: Parsed) -> str:
        path = p.args.get("path")
        if path and disk_name(path) is None and path.rstrip("/").lower() not in ("disk0:", "flash:"):
            return text("no_file", path=path)
        name = disk_name(path) if path else None
        if name is not None and name not in self.device.disk.entries:
            return text("no_file", path=f"disk0:/{name}")
        return dir_listing(self.device, name)

    async def cmd_verify_md5(self, p: Parsed) -> str:
        entry = self._disk_file(p.args["path"])
        if isinstance(entry, str):
            return entry
        return text("verify_md5", name=entry.name, digest=entry.md5).rstrip("\n")

    async def cmd_verify(self, p: Parsed) -> str:
        entry = self._disk_file(p.args["path"])
        if isinstance(entry, str):
            return entry
        verdict = text("verify_signed") if self.device.image_of(entry.name) else text("no_signature")
        return text("verify", name=entry.name) + verdict

    async def cmd_delete(self, p: Parsed, confirm: bool = True, replicate: bool = False) -> str | None:
        name = disk_name(p.args["path"]) or p.args["path"].lstrip("/")
        answer = await self._ask(text("ask_delete_name", name=name), name, confirm)
        if answer is None:
            return None
        if confirm:
            sure = await self.session.ask(text("ask_delete_confirm", name=answer))
            if sure is None or sure.strip().lower().startswith("n"):
                return None
        if self._refusable(lambda: self.device.delete_file(answer)):
            return text("delete_failed", name=answer)
        pair = self.pair
        if replicate and pair is not None:
            mate = pair.peer_of(self.device)
            if pair.link_up and mate.state == "online":
                self._refusable(lambda: mate.delete_file(answer))
        return None

    async def cmd_delete_noconfirm(self, p: Parsed) -> str | None:
        return await self.cmd_delete(p, confirm=False)

    async def cmd_delete_replicate(self, p: Parsed) -> str | None:
        return await self.cmd_delete(p, confirm=True, replicate=True)

    async def cmd_copy_noconfirm(self, p: Parsed) -> str | None:
        return await self.cmd_copy(p, confirm=False)

    async def cmd_copy(self, p: Parsed, confirm: bool = True) -> str | None:
        source, destination = p.args["source"], p.args["destination"]
        lowered = (source.lower(), destination.lower())
        if lowered == CONFIG_FILES:
            for question, config in zip(("ask_source", "ask_destination"), CONFIG_FILES):
                if await self._ask(text(question, name=config), config, confirm) is None:
                    return None
            return self._save("copy_running")
        if lowered[0] in CONFIG_FILES or lowered[1] in CONFIG_FILES:
            return text("copy_unsupported", url=source)
        name = disk_name(destination)
        if name is None and lowered[1].rstrip("/") not in ("disk0:", "flash:"):
            return text("copy_no_device", url=destination)
        return await CopyDialog(self, confirm).run(source, name)


async def exec_on(device: AsaDevice, command: str, *, user: str = "enable_15", peer: str = "127.0.0.1") -> str:
    """Run one privileged command on `device` and return what it printed (`failover exec`)."""
    channel = _CaptureChannel()

    def journal(mode: str, line: str) -> None:
        device.ctx.journal.emit(device.name, "command", mode=mode, line=line, via="failover exec")

    session = Session(channel, interactive=False, on_command=journal)
    shell = AsaShell(session, AsaContext(device, user=user, peer=peer), mode="exec")
    await session.run_one(shell, command)
    return "".join(channel.out).rstrip("\n")


class _CaptureChannel:
    """A channel that keeps what is written (for `failover exec`); answers questions with Enter."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.answers = 8

    async def read(self) -> str:
        if self.answers <= 0:
            return ""
        self.answers -= 1
        return "\n"

    def write(self, data: str) -> None:
        self.out.append(data)

    async def drain(self) -> None:
        pass

    def close(self) -> None:
        pass
