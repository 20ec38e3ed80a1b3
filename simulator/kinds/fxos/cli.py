"""The FXOS chassis CLI: the scope hierarchy (`FP9300-A# `, `FP9300-A /system # `,
`/firmware`, `/firmware/download-task`, `/firmware/auto-install`, `/ssa`,
`/ssa/slot` ...), the security module console (`connect module 1 console`,
`Firepower-module1> `) with the hosted FTD's own CLI behind `connect ftd`,
`connect local-mgmt` and `connect fxos`. The same shell runs on SSH and on
the console after login. Handlers translate commands into chassis calls;
views.py turns the chassis into the device's text."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from simulator.kinds.base import Refused
from simulator.kinds.ftd.broadcast import reboot_broadcast
from simulator.kinds.ftd.cli import FtdCliShell, FtdContext
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.fxos import views
from simulator.kinds.fxos.facts import fxos_data, say
from simulator.kinds.fxos.model import AppInstance, FxosChassis
from simulator.kinds.fxos.views import prompt, template
from simulator.terminal.session import Session, Shell
from simulator.terminal.tree import CommandTree, Parsed

# Commands that work while the chassis' management engine is still starting.
ALWAYS = frozenset({"exit", "top", "up", "terminal", "where", "connect_local_mgmt", "connect_fxos",
                    "show_version", "discard_buffer", "show_system_firmware"})
# scope key -> (parent scope key, path word in the prompt)
SCOPES: dict[str, tuple[str | None, str]] = {
    "system": (None, "system"), "firmware": (None, "firmware"), "ssa": (None, "ssa"),
    "chassis": (None, "chassis"), "fabric-interconnect": (None, "fabric-interconnect"),
    "download-task": ("firmware", "download-task"), "auto-install": ("firmware", "auto-install"),
    "slot": ("ssa", "slot"),
}


@cache
def scope_tree(scope: str) -> CommandTree:
    data = views.cli_facts()
    commands = {**data.common, **data.scopes[scope]}
    if scope != "top":
        # the top-level scopes can be entered from any mode
        top_scope = data.scopes["top"]["scope"]
        own = commands.get("scope", {"help": top_scope["help"], "children": {}})
        commands["scope"] = {**own, "children": {**top_scope["children"], **(own.get("children") or {})}}
    return CommandTree({"commands": commands, "errors": data.errors, "caret": data.caret, "filters": data.filters})


@cache
def sub_tree(name: str) -> CommandTree:
    data = views.cli_facts().model_dump(by_alias=True)[name]
    return CommandTree({"commands": data["commands"], "errors": data["errors"],
                        "caret": data.get("caret", False), "filters": True})


@dataclass
class FxosContext:
    """What the chassis shells need: the chassis, its file system, and where a
    hosted FTD's file system is (for its CLI behind `connect ftd`)."""

    chassis: FxosChassis
    fs_root: Path
    ftd_fs: Callable[[str], Path] | None = None
    pending: list[tuple[str, str]] = field(default_factory=list)   # the transaction buffer

    def ftd_context(self, device: FtdDevice) -> FtdContext:
        root = self.ftd_fs(device.name) if self.ftd_fs else self.fs_root.parent.parent / device.name / "fs"
        return FtdContext(device, root)


def _yes(answer: str | None) -> bool:
    return (answer or "").strip().lower() in ("yes", "y")


def _strip_no_more(line: str) -> str:
    """`| no-more` (what scripts append to stop paging) changes nothing here."""
    parts = line.split("|")
    kept = [parts[0]] + [p for p in parts[1:] if p.strip().lower() not in ("no-more", "no-mor", "no-m")]
    return "|".join(kept)


class FxosShell(Shell):
    """The chassis CLI with its scopes."""

    def __init__(self, session: Session, ctx: FxosContext) -> None:
        super().__init__(session)
        self.ctx = ctx
        self.chassis = ctx.chassis
        self.scopes: list[tuple[str, str | None]] = []     # (scope key, its argument)

    @property
    def scope(self) -> str:
        return self.scopes[-1][0] if self.scopes else "top"

    @property
    def tree(self) -> CommandTree:  # type: ignore[override]
        return scope_tree(self.scope)

    @classmethod
    def command_trees(cls) -> list[CommandTree]:
        return [scope_tree(scope) for scope in views.cli_facts().scopes]

    @property
    def prompt(self) -> str:
        name, star = self.chassis.prompt_name, "*" if self.ctx.pending else ""
        if not self.scopes:
            return prompt("top_pending" if star else "top", name=name)
        return prompt("scope", name=name, path="/".join(SCOPES[key][1] for key, _arg in self.scopes), star=star)

    async def on_eof(self) -> None:
        """Ctrl-D deletes a character in a scope (nothing at an empty prompt); at the top it ends the session."""
        if not self.scopes:
            await super().on_eof()

    def _arg(self, key: str) -> str | None:
        return next((arg for k, arg in reversed(self.scopes) if k == key), None)

    async def execute(self, line: str) -> None:
        await super().execute(_strip_no_more(line))

    async def run_command(self, parsed: Parsed) -> str | None:
        if parsed.action not in ALWAYS and not self.chassis.ready:
            return say("not_ready")
        try:
            return await super().run_command(parsed)
        except Refused as refused:
            return refused.message

    # -- navigation ------------------------------------------------------------------------
    def _enter(self, key: str, arg: str | None = None) -> None:
        parent = SCOPES[key][0]
        if parent is None:
            self.scopes = [(key, arg)]
        elif self.scope == parent:
            self.scopes.append((key, arg))
        else:
            self.scopes = [(parent, None), (key, arg)]

    async def cmd_top(self, _: Parsed) -> None:
        self.scopes = []

    async def cmd_up(self, _: Parsed) -> None:
        if self.scopes:
            self.scopes.pop()

    async def cmd_exit(self, _: Parsed) -> None:
        if self.scopes:
            self.scopes.pop()
        else:
            self.session.pop()

    async def cmd_where(self, _: Parsed) -> str:
        path = " ".join(f"scope {SCOPES[k][1]}{' ' + a if a else ''}" for k, a in self.scopes)
        return template("where", path=path, level=len(self.scopes))

    async def cmd_terminal(self, _: Parsed) -> None:
        return None

    async def cmd_scope_system(self, _: Parsed) -> None:
        self._enter("system")

    async def cmd_scope_firmware(self, _: Parsed) -> None:
        self._enter("firmware")

    async def cmd_scope_ssa(self, _: Parsed) -> None:
        self._enter("ssa")

    async def cmd_scope_chassis(self, _: Parsed) -> None:
        self._enter("chassis", "1")

    async def cmd_scope_fabric(self, _: Parsed) -> None:
        self._enter("fabric-interconnect", "a")

    async def cmd_scope_auto_install(self, _: Parsed) -> None:
        self._enter("auto-install")

    async def cmd_scope_download_task(self, p: Parsed) -> str | None:
        if p.args["name"] not in self.chassis.downloads:
            return say("mo_missing")
        self._enter("download-task", p.args["name"])
        return None

    async def cmd_scope_slot(self, p: Parsed) -> str | None:
        if int(p.args["id"]) not in self.chassis.modules:
            return say("mo_missing")
        self._enter("slot", p.args["id"])
        return None

    # -- transaction buffer -------------------------------------------------------------------
    async def cmd_commit_buffer(self, _: Parsed) -> str | None:
        pending, self.ctx.pending = self.ctx.pending, []
        delete = {"package": self.chassis.delete_package, "download-task": self.chassis.delete_download_task}
        for kind, name in pending:
            refused = self._refusable(lambda: delete[kind](name))
            if refused is not None:
                return refused
        return None

    async def cmd_discard_buffer(self, _: Parsed) -> None:
        self.ctx.pending = []

    def _buffer_delete(self, kind: str, name: str, present: bool) -> str | None:
        if not present:
            return say("mo_missing")
        self.ctx.pending.append((kind, name))
        return None

    async def cmd_delete_package(self, p: Parsed) -> str | None:
        return self._buffer_delete("package", p.args["name"], p.args["name"] in self.chassis.packages)

    async def cmd_delete_download_task(self, p: Parsed) -> str | None:
        return self._buffer_delete("download-task", p.args["name"], p.args["name"] in self.chassis.downloads)

    # -- shows ----------------------------------------------------------------------------------
    async def cmd_show_version(self, _: Parsed) -> str:
        return views.show_version(self.chassis)

    async def cmd_show_system_firmware(self, _: Parsed) -> str:
        return views.show_version(self.chassis)

    async def cmd_show_firmware_monitor(self, _: Parsed) -> str:
        return views.firmware_monitor(self.chassis)

    async def cmd_show_fault(self, _: Parsed) -> str:
        return views.fault_table(self.chassis)

    async def cmd_show_chassis_inventory(self, _: Parsed) -> str:
        return template("inventory", pid=self.chassis.info.pid, serial=self.chassis.serial)

    async def cmd_show_fabric(self, _: Parsed) -> str:
        return template("fabric", entries=len(self.chassis.apps()) * 12)

    @staticmethod
    def _name_and_detail(p: Parsed) -> tuple[str | None, bool]:
        """`show <thing> [name] [detail]`: `detail` alone is no name."""
        name = p.args.get("name")
        return (None, True) if name == "detail" else (name, "detail" in p.flags)

    async def cmd_show_download_task(self, p: Parsed) -> str:
        name, detail = self._name_and_detail(p)
        if name and name not in self.chassis.downloads:
            return ""
        names = [name] if name else sorted(self.chassis.downloads)
        if detail:
            return "\n\n".join(views.task_detail(self.chassis, n) for n in names)
        return views.task_table(self.chassis, names)

    async def cmd_show_package(self, p: Parsed) -> str:
        return views.show_package(self.chassis, *self._name_and_detail(p))

    async def cmd_show_firmware_detail(self, _: Parsed) -> str:
        return views.show_package(self.chassis, None, True)

    async def cmd_show_task(self, _: Parsed) -> str:
        return views.task_table(self.chassis, [self._arg("download-task") or ""])

    async def cmd_show_task_detail(self, _: Parsed) -> str:
        return views.task_detail(self.chassis, self._arg("download-task") or "")

    async def cmd_show_task_fsm(self, _: Parsed) -> str:
        return views.task_fsm(self.chassis, self._arg("download-task") or "")

    async def cmd_show_auto_install(self, _: Parsed) -> str:
        return views.auto_install(self.chassis, detail=False)

    async def cmd_show_auto_install_detail(self, _: Parsed) -> str:
        return views.auto_install(self.chassis, detail=True)

    async def cmd_show_slot(self, p: Parsed) -> str:
        if "detail" in p.flags:
            return "\n\n".join(template("slot_detail", slot=s, state=self.chassis.slot_oper_state(s))
                               for s in self.chassis.modules)
        return views.slot_table(self.chassis, list(self.chassis.modules))

    async def cmd_show_slot_here(self, _: Parsed) -> str:
        return views.slot_table(self.chassis, [int(self._arg("slot") or 1)])

    async def cmd_show_slot_detail(self, _: Parsed) -> str:
        slot = int(self._arg("slot") or 1)
        return template("slot_detail", slot=slot, state=self.chassis.slot_oper_state(slot))

    async def cmd_show_app_instance(self, p: Parsed) -> str:
        slot = self._arg("slot")
        return views.app_instances(self.chassis, int(slot) if slot else None, detail="detail" in p.flags)

    async def cmd_show_logical_device(self, p: Parsed) -> str:
        return views.logical_devices(self.chassis, "detail" in p.flags)

    async def cmd_show_app(self, _: Parsed) -> str:
        return views.app_catalogue(self.chassis)

    # -- downloads and install ---------------------------------------------------------------------
    async def cmd_download_image(self, p: Parsed) -> str | None:
        url = p.args["url"]
        password = None
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        has_password = "://" in url and ":" in url.split("://", 1)[1].split("@", 1)[0] and "@" in url
        if scheme in ("scp", "sftp", "ftp") and not has_password:
            password = await self.session.ask(prompt("password"), secret=True)
            if password is None:
                return None
        self.chassis.start_download(url, password)
        return None

    async def cmd_install_platform(self, p: Parsed) -> str | None:
        """Seed ch. 3 steps 5-7: verify, tell what the install does, ask twice."""
        write = self.session.write
        check = self.chassis.verify_platform(p.args["version"])
        write(say("verify_start", version=check.target) + "\n")
        if check.errors:
            return "\n".join(check.errors)
        write(say("verify_done", version=check.target) + "\n")
        if check.incompatible:
            lines = [say("apps_incompatible", target=check.target)]
            lines += [say("app_line", app=a["app"], version=a["version"], slot=a["slot"], supported=a["supported"])
                      for a in check.incompatible]
            return "\n".join(lines + [say("apps_hint")])
        plan = [say("current", current=check.current, firmware=self.chassis.firmware_version),
                say("proceed_with", target=check.target)]
        if check.firmware:
            plan.append(say("proceed_firmware", firmware=fxos_data().firmware_version))
        write("\n" + "\n".join(plan) + "\n" + say("reboot_warning") + "\n\n")
        if not _yes(await self.session.ask(say("question"))):
            return None
        write("\n" + say("checklist") + "\n\n")
        if not _yes(await self.session.ask(say("question2"))):
            return None
        self.chassis.start_platform_install(check.target)
        return say("triggered")

    # -- reboots and other CLIs --------------------------------------------------------------------
    async def cmd_chassis_reboot(self, _: Parsed) -> str | None:
        if not _yes(await self.session.ask(say("reboot_question"))):
            return None
        self.chassis.reboot()
        return None

    async def cmd_connect_local_mgmt(self, _: Parsed) -> None:
        self.session.push(LocalMgmtShell(self.session, self.ctx))

    async def cmd_connect_fxos(self, _: Parsed) -> str:
        self.session.push(FxosSwitchShell(self.session, self.ctx))
        return say("fxos_switch", year=time.gmtime(self.chassis.ctx.clock.now()).tm_year)

    def _connect_module(self, p: Parsed, telnet: bool) -> str | None:
        slot = int(p.args["slot"])
        module = self.chassis.modules.get(slot)
        if module is None or module.state != "Online":
            return say("module_missing", slot=slot)
        self.session.push(ModuleShell(self.session, self.ctx, slot, telnet=telnet))
        return say("module_telnet_preface") if telnet else say("module_preface", slot=slot)

    async def cmd_connect_module_console(self, p: Parsed) -> str | None:
        return self._connect_module(p, telnet=False)

    async def cmd_connect_module_telnet(self, p: Parsed) -> str | None:
        return self._connect_module(p, telnet=True)


class _ConnectedShell(Shell):
    """A CLI reached from the FXOS CLI by `connect ...`: `exit` goes back."""

    prompt_key = ""

    def __init__(self, session: Session, ctx: FxosContext) -> None:
        super().__init__(session)
        self.ctx = ctx

    @property
    def prompt(self) -> str:
        return prompt(self.prompt_key, name=self.ctx.chassis.prompt_name)

    async def on_eof(self) -> None:
        """NX-OS style line editing: Ctrl-D deletes a character, nothing at an empty prompt."""

    async def cmd_exit(self, _: Parsed) -> None:
        self.session.pop()


class LocalMgmtShell(_ConnectedShell):
    tree = sub_tree("local-mgmt")
    prompt_key = "local_mgmt"

    async def cmd_show_version(self, _: Parsed) -> str:
        return views.show_version(self.ctx.chassis)

    async def cmd_reboot(self, _: Parsed) -> str | None:
        self.session.write(say("reboot_warning_mgmt") + "\n")
        if not _yes(await self.session.ask(say("reboot_question"))):
            return None
        return self._refusable(self.ctx.chassis.reboot)


class FxosSwitchShell(_ConnectedShell):
    tree = sub_tree("fxos-switch")
    prompt_key = "fxos_switch"


class ModuleShell(Shell):
    """The security module CLI reached over its serial console (`Firepower-module1> `)."""

    tree = sub_tree("module")

    def __init__(self, session: Session, ctx: FxosContext, slot: int, telnet: bool = False) -> None:
        super().__init__(session)
        self.ctx = ctx
        self.slot = slot
        self.telnet = telnet
        self.waiting = not telnet           # the console shows its prompt after a key press
        self.hotkeys = {} if telnet else {"~": "escape"}

    @property
    def prompt(self) -> str:
        if self.waiting:
            return ""
        return prompt("module_telnet" if self.telnet else "module_console", slot=self.slot)

    async def execute(self, line: str) -> None:
        if self.waiting:
            self.waiting = False
            if not line.strip():
                return
        await super().execute(line)

    async def on_eof(self) -> None:
        """A serial line passes Ctrl-D to the module's prompt, which ignores it."""

    async def on_hotkey(self, name: str) -> None:
        if name != "escape":
            return
        answer = await self.session.ask(prompt("telnet_escape"))
        if answer is not None and answer.strip().lower() in ("q", "quit", "close"):
            self.session.write(template("connection_closed") + "\n")
            self.session.pop()

    def _app(self) -> AppInstance | None:
        apps = self.ctx.chassis.modules[self.slot].apps
        return apps[0] if apps else None

    async def cmd_connect_ftd(self, _: Parsed) -> str | None:
        app = self._app()
        if app is None or not app.device.services_up:
            return say("ftd_not_running")
        self.session.write(say("ftd_connect") + "\n")
        self.session.push(HostedFtdShell(self.session, self.ctx.ftd_context(app.device)))
        return None

    async def cmd_connect_asa(self, _: Parsed) -> str:
        return say("asa_not_running")

    async def cmd_exit(self, _: Parsed) -> None:
        if self.telnet:
            self.session.pop()

    async def cmd_help(self, _: Parsed) -> str:
        return self.help("")

    async def cmd_show_services(self, _: Parsed) -> str:
        app = self._app()
        state = self.ctx.chassis.app_oper_state(app) if app else ""
        return template("module_services", slot=self.slot, state=views.word("service_state", state, "STOPPED"))


class HostedFtdShell(FtdCliShell):
    """A hosted FTD's CLI on the module console: `exit` (or Ctrl-D, as at any
    CLISH prompt) returns to the module, and so does a `reboot` of the FTD: its
    broadcast says all its shells end (the module stays up)."""

    async def cmd_reboot(self, parsed: Parsed) -> str | None:
        answer = await super().cmd_reboot(parsed)
        if not self.device.services_up:
            self.session.write(reboot_broadcast(self.device))
            self.session.pop()
        return answer

    async def on_eof(self) -> None:
        await self.cmd_exit(Parsed("exit", {}, set()))

    async def cmd_exit(self, _: Parsed) -> None:
        self.session.write(say("ftd_disconnect") + "\n")
        self.session.pop()
