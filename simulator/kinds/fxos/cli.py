"""The FXOS chassis CLI: the scope hierarchy (`FP9300-A# `, `FP9300-A /system # `,
`/firmware`, `/firmware/download-task`, `/firmware/auto-install`, `/ssa`,
`/ssa/slot` ...), the security module console (`connect module 1 console`,
`Firepower-module1> `) with the hosted FTD's own CLI behind `connect ftd`,
`connect local-mgmt` and `connect fxos`. Handlers translate commands into
chassis-model calls and the model into the device's text (data/cli/fxos.yaml)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.base import Refused
from simulator.kinds.ftd.cli import FtdCliShell, FtdContext
from simulator.kinds.ftd.files import make_device_fs, receive_package
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.fxos.bundles import FxosVersion
from simulator.kinds.fxos.model import (
    FABRIC,
    FPRM,
    AppInstance,
    FxosChassis,
    app_version,
    fxos_data,
)
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


# -- data ------------------------------------------------------------------------------
@cache
def cli_data() -> dict[str, Any]:
    return read_yaml("kinds/fxos/cli.yaml")


@cache
def scope_tree(scope: str) -> CommandTree:
    data = cli_data()
    commands = {**data["common"], **data["scopes"][scope]}
    if scope != "top":
        # the top-level scopes can be entered from any mode
        top_scope = data["scopes"]["top"]["scope"]
        own = commands.get("scope", {"help": top_scope["help"], "children": {}})
        commands["scope"] = {**own, "children": {**top_scope["children"], **(own.get("children") or {})}}
    return CommandTree({"commands": commands, "errors": data["errors"], "caret": data["caret"],
                        "filters": data["filters"]})


@cache
def sub_tree(name: str) -> CommandTree:
    data = cli_data()[name]
    return CommandTree({"commands": data["commands"], "errors": data["errors"],
                        "caret": data.get("caret", False), "filters": True})


def template(key: str, **values: Any) -> str:
    return cli_data()["templates"][key].format(**values)


def say(key: str, **values: Any) -> str:
    return fxos_data().texts[key].format(**values)


def stamp(t: float) -> str:
    """FXOS timestamps: `2024-05-01T10:00:00.000`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000", time.gmtime(t))


def table(columns: list[tuple[str, int]], rows: list[list[str]], indent: str = "") -> str:
    """An FXOS table: headers, dashes of each column's width, rows (wider values push on)."""
    def line(cells: list[str]) -> str:
        return (indent + " ".join(c.ljust(w) for c, (_h, w) in zip(cells, columns))).rstrip()
    out = [line([h for h, _w in columns]), line(["-" * w for _h, w in columns])]
    out += [line(r) for r in rows]
    return "\n".join(out)


# -- views (model -> text) ---------------------------------------------------------------
def show_version(ch: FxosChassis) -> str:
    return template("version", version=ch.version, startup=ch.startup_version)


def firmware_monitor(ch: FxosChassis) -> str:
    parts = [template("monitor_component", name=c.name, version=c.package_vers, status=c.status)
             for c in ch.components if c.name in (FPRM, FABRIC)]
    servers = [template("monitor_server", slot=c.name.split()[-1], version=c.package_vers, status=c.status)
               for c in ch.components if c.name.startswith("Server")]
    return "\n\n".join(parts + ["Chassis 1:\n" + "\n".join(servers)])


def task_detail(ch: FxosChassis, filename: str) -> str:
    task = ch.downloads[filename]
    current = template("task_current", filename=task.filename, server=task.server or "local") \
        if task.state == "Downloading" else ""
    directory = task.path.rsplit("/", 1)[0] if "/" in task.path else ""
    return template("task_detail", filename=task.filename, protocol=task.protocol, server=task.server,
                    userid=task.userid, path=directory, size_kb=task.size_kb, state=task.state, current=current)


def task_fsm(ch: FxosChassis, filename: str) -> str:
    task = ch.downloads[filename]
    failed = task.state == "Failed"
    return template(
        "task_fsm", result="End Point Failed" if failed else "Not Applicable",
        code=task.error_code or "None", text=task.error_text, status=task.fsm_status,
        previous="Download Local" if task.state != "Downloading" else "Nop",
        stamp=stamp(task.finished or task.started), tries=task.tries, percent=task.percent,
        current=template("task_current", filename=task.filename, server=task.server or "local")
        if task.state == "Downloading" else "")


def task_table(ch: FxosChassis, names: list[str]) -> str:
    rows = [[t.filename, t.protocol.capitalize(), t.server, str(t.port), t.userid, t.state]
            for t in (ch.downloads[n] for n in names)]
    width = max([len(r[0]) for r in rows] + [9])
    cols = [("File Name", width), ("Protocol", 8), ("Server", 15), ("Port", 10), ("Userid", 15), ("State", 11)]
    return "Download task:\n" + table(cols, rows, indent="    ")


def package_rows(ch: FxosChassis) -> list[tuple[str, str, str, int]]:
    running = FxosVersion.parse(ch.version)
    rows = [(running.filename, str(running), "Active", fxos_data().bundle_size_kb)]
    rows += [(p.filename, p.version or "", "Valid" if not p.problem else "Invalid", p.size_kb)
             for p in sorted(ch.packages.values(), key=lambda p: p.filename)]
    return rows


def show_package(ch: FxosChassis, name: str | None, detail: bool) -> str:
    rows = [r for r in package_rows(ch) if name is None or r[0] == name]
    if detail:
        return "\n\n".join(template("package_detail", filename=f, version=v, state=s, size_kb=k)
                           for f, v, s, k in rows)
    return table([("Name", 45), ("Package-Vers", 12)], [[f, v] for f, v, _s, _k in rows])


def slot_table(ch: FxosChassis) -> str:
    rows = [[str(s), "Info", "Ok", ch.slot_oper_state(s)] for s in ch.modules]
    return "Slot:\n" + table([("Slot ID", 10), ("Log Level", 9), ("Admin State", 12), ("Oper State", 10)],
                             rows, indent="    ")


def _deploy_type(ch: FxosChassis, app: AppInstance) -> str:
    return "Native" if len(ch.modules[app.slot].apps) == 1 else "Container"


APP_COLUMNS = [("App Name", 10), ("Identifier", 10), ("Slot ID", 10), ("Admin State", 11), ("Oper State", 16),
               ("Running Version", 15), ("Startup Version", 15), ("Deploy Type", 11), ("Turbo Mode", 10),
               ("Profile Name", 12), ("Cluster State", 15), ("Cluster Role", 12)]


def app_instances(ch: FxosChassis, slot: int | None = None, detail: bool = False) -> str:
    apps = [a for s, a in ch.apps() if slot is None or s == slot]
    if detail:
        blocks = []
        for app in apps:
            oper = ch.app_oper_state(app)
            job_state = {"Online": "Succeeded", "Offline": "Failed", "Start Failed": "Failed"}.get(oper, "In Progress")
            blocks.append(template(
                "app_instance_detail", app=app.app, identifier=app.identifier, slot=app.slot,
                admin=app.admin_state, oper=oper, running=app_version(app.device.version),
                startup=app_version(app.device.version), deploy=_deploy_type(ch, app),
                job_type="Start", job_progress=100 if oper == "Online" else 0, job_state=job_state))
        return "\n\n".join(blocks)
    rows = [[a.app, a.identifier, str(a.slot), a.admin_state, ch.app_oper_state(a), app_version(a.device.version),
             app_version(a.device.version), _deploy_type(ch, a), "No", "", "Not Applicable", "None"] for a in apps]
    return table(APP_COLUMNS, rows)


def logical_devices(ch: FxosChassis, detail: bool) -> str:
    apps = ch.apps()
    def oper(app: AppInstance) -> str:
        return "Ok" if ch.app_oper_state(app) == "Online" else "Not Ready"
    if detail:
        return "\n\n".join(template("logical_device_detail", name=a.device.name, slot=s, oper=oper(a))
                           for s, a in apps)
    rows = [[a.device.name, "", str(s), "Standalone", oper(a), "ftd"] for s, a in apps]
    return "Logical Device:\n" + table([("Name", 15), ("Description", 11), ("Slot ID", 10), ("Mode", 10),
                                        ("Oper State", 24), ("Template Name", 13)], rows, indent="    ")


def app_catalogue(ch: FxosChassis) -> str:
    versions = sorted({app_version(a.device.version) for _s, a in ch.apps()})
    rows = [["ftd", v, "N/A", "cisco", "Native", "Application", "Yes" if i == len(versions) - 1 else "No"]
            for i, v in enumerate(versions)]
    return "Application:\n" + table([("Name", 10), ("Version", 10), ("Description", 11), ("Author", 10),
                                     ("Deploy Type", 11), ("CSP Type", 11), ("Is Default App", 14)],
                                    rows, indent="    ")


def faults(ch: FxosChassis) -> list[dict[str, Any]]:
    """Faults raised by the chassis' present state (codes: docs/fidelity/fxos.md §2)."""
    now = ch.ctx.clock.now()
    out: list[dict[str, Any]] = []
    for slot, module in ch.modules.items():
        if module.state != "Online":
            out.append({"severity": "Major", "code": "F1547", "id": 31000 + slot, "time": now,
                        "descr": f"Security module {slot} oper state is {module.state.lower()}"})
    for slot, app in ch.apps():
        oper = ch.app_oper_state(app)
        if oper != "Online":
            out.append({"severity": "Major", "code": "F1786", "id": 32000 + slot,
                        "time": now, "descr": f"App Instance {app.app} on slot {slot} is not in online state "
                                              f"(oper state: {oper})"})
    for comp in ch.components:
        if comp.status == "Failed":
            out.append({"severity": "Major", "code": "F16932", "id": 33000 + len(out), "time": now,
                        "descr": f"Upgrade of {comp.name} to the platform bundle version "
                                 f"{ch.install.target if ch.install else comp.package_vers} failed"})
    for task in ch.downloads.values():
        if task.state == "Failed":
            out.append({"severity": "Minor", "code": "F0999", "id": 34000 + len(out),
                        "time": task.finished or now,
                        "descr": f"[FSM:FAILED]: downloading image {task.filename} from {task.server}"
                                 f"(FSM:sam:dme:FirmwareDownloaderDownload)"})
    return out


def fault_table(ch: FxosChassis) -> str:
    rows = [[f["severity"], f["code"], stamp(f["time"]), str(f["id"]).rjust(8), f["descr"]] for f in faults(ch)]
    return table([("Severity", 9), ("Code", 8), ("Last Transition Time", 24), ("ID", 8), ("Description", 11)], rows)


def auto_install(ch: FxosChassis, detail: bool) -> str:
    inst = ch.install
    if inst is None:
        version, oper, upgrade, status, current, started = ch.version, "Idle", "Ready", "Ready", "", ""
    else:
        version = inst.target
        oper = {"IN_PROGRESS": "In Progress", "COMPLETED": "Idle", "FAILED": "Failed",
                "CANCELLED": "Idle"}[inst.state]
        upgrading = [c.name for c in ch.components if c.status == "Upgrading"]
        upgrade = "Upgrading" if inst.state == "IN_PROGRESS" else (
            "Failed" if inst.state == "FAILED" else "Ready")
        status = "Upgrading " + ", ".join(upgrading) if upgrading else upgrade
        current = inst.log[-1][1] if inst.log and inst.state == "IN_PROGRESS" else ""
        started = stamp(inst.started)
    if detail:
        return template("auto_install_detail", version=version, oper=oper, started=started, upgrade=upgrade,
                        status=status, firmware="Ready" if ch.firmware_version else "", current=current)
    return "Firmware Auto-Install:\n" + table(
        [("Package-Vers", 12), ("Oper State", 26), ("Upgrade State", 13)], [[version, oper, upgrade]],
        indent="    ")


def banner(ch: FxosChassis, last_login: str, logins: int) -> str:
    return template("banner", last_login=last_login, user=ch.username, logins=logins,
                    year=time.gmtime(ch.ctx.clock.now()).tm_year)


# -- shells ------------------------------------------------------------------------------
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
        make_device_fs(root)
        return FtdContext(device, root, lambda path, fault=None: receive_package(device, path, fault))


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

    @property
    def prompt(self) -> str:
        star = "*" if self.ctx.pending else ""
        if not self.scopes:
            return f"{self.chassis.prompt_name}{star + ' ' if star else ''}# "
        path = "/".join(SCOPES[key][1] for key, _arg in self.scopes)
        return f"{self.chassis.prompt_name} /{path}{star} # "

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
        return f"Mode: /{path}\nMode Data:\n    Scope Level: {len(self.scopes)}"

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
        for kind, name in pending:
            try:
                if kind == "package":
                    self.chassis.delete_package(name)
                else:
                    self.chassis.delete_download_task(name)
            except Refused as refused:
                return refused.message
        return None

    async def cmd_discard_buffer(self, _: Parsed) -> None:
        self.ctx.pending = []

    async def cmd_delete_package(self, p: Parsed) -> str | None:
        if p.args["name"] not in self.chassis.packages:
            return say("mo_missing")
        self.ctx.pending.append(("package", p.args["name"]))
        return None

    async def cmd_delete_download_task(self, p: Parsed) -> str | None:
        if p.args["name"] not in self.chassis.downloads:
            return say("mo_missing")
        self.ctx.pending.append(("download-task", p.args["name"]))
        return None

    # -- shows ----------------------------------------------------------------------------------
    async def cmd_show_version(self, _: Parsed) -> str:
        return show_version(self.chassis)

    async def cmd_show_system_firmware(self, _: Parsed) -> str:
        return show_version(self.chassis)

    async def cmd_show_firmware_monitor(self, _: Parsed) -> str:
        return firmware_monitor(self.chassis)

    async def cmd_show_fault(self, _: Parsed) -> str:
        return fault_table(self.chassis)

    async def cmd_show_chassis_inventory(self, _: Parsed) -> str:
        return template("inventory", pid=self.chassis.info.pid, serial=self.chassis.serial)

    async def cmd_show_fabric(self, _: Parsed) -> str:
        return template("fabric", entries=len(self.chassis.apps()) * 12)

    async def cmd_show_download_task(self, p: Parsed) -> str:
        name = p.args.get("name")
        detail = "detail" in p.flags
        if name == "detail":
            name, detail = None, True
        names = [name] if name else sorted(self.chassis.downloads)
        if name and name not in self.chassis.downloads:
            return ""
        if detail:
            return "\n\n".join(task_detail(self.chassis, n) for n in names)
        return task_table(self.chassis, names)

    async def cmd_show_package(self, p: Parsed) -> str:
        name = p.args.get("name")
        detail = "detail" in p.flags
        if name == "detail":
            name, detail = None, True
        return show_package(self.chassis, name, detail)

    async def cmd_show_firmware_detail(self, _: Parsed) -> str:
        return show_package(self.chassis, None, True)

    async def cmd_show_task(self, _: Parsed) -> str:
        return task_table(self.chassis, [self._arg("download-task") or ""])

    async def cmd_show_task_detail(self, _: Parsed) -> str:
        return task_detail(self.chassis, self._arg("download-task") or "")

    async def cmd_show_task_fsm(self, _: Parsed) -> str:
        return task_fsm(self.chassis, self._arg("download-task") or "")

    async def cmd_show_auto_install(self, _: Parsed) -> str:
        return auto_install(self.chassis, detail=False)

    async def cmd_show_auto_install_detail(self, _: Parsed) -> str:
        return auto_install(self.chassis, detail=True)

    async def cmd_show_slot(self, p: Parsed) -> str:
        if "detail" in p.flags:
            return "\n\n".join(template("slot_detail", slot=s, state=self.chassis.slot_oper_state(s))
                               for s in self.chassis.modules)
        return slot_table(self.chassis)

    async def cmd_show_slot_here(self, _: Parsed) -> str:
        slot = int(self._arg("slot") or 1)
        rows = [[str(slot), "Info", "Ok", self.chassis.slot_oper_state(slot)]]
        return "Slot:\n" + table([("Slot ID", 10), ("Log Level", 9), ("Admin State", 12), ("Oper State", 10)],
                                 rows, indent="    ")

    async def cmd_show_slot_detail(self, _: Parsed) -> str:
        slot = int(self._arg("slot") or 1)
        return template("slot_detail", slot=slot, state=self.chassis.slot_oper_state(slot))

    async def cmd_show_app_instance(self, p: Parsed) -> str:
        slot = self._arg("slot")
        return app_instances(self.chassis, int(slot) if slot else None, detail="detail" in p.flags)

    async def cmd_show_logical_device(self, p: Parsed) -> str:
        return logical_devices(self.chassis, "detail" in p.flags)

    async def cmd_show_app(self, _: Parsed) -> str:
        return app_catalogue(self.chassis)

    # -- downloads and install ---------------------------------------------------------------------
    async def cmd_download_image(self, p: Parsed) -> str | None:
        url = p.args["url"]
        password = None
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        has_password = "://" in url and ":" in url.split("://", 1)[1].split("@", 1)[0] and "@" in url
        if scheme in ("scp", "sftp", "ftp") and not has_password:
            password = await self.session.ask("Password: ", secret=True)
            if password is None:
                return None
        self.chassis.start_download(url, password)
        return None

    async def cmd_install_platform(self, p: Parsed) -> str | None:
        ch = self.chassis
        write = self.session.write
        check = ch.verify_platform(p.args["version"])
        write(say("verify_start", version=check.target) + "\n")
        if check.errors:
            return "\n".join(check.errors)
        write(say("verify_done", version=check.target) + "\n")
        if check.incompatible:
            lines = [say("apps_incompatible", target=check.target)]
            lines += [say("app_line", app=a["app"], version=a["version"], slot=a["slot"], supported=a["supported"])
                      for a in check.incompatible]
            return "\n".join(lines + [say("apps_hint")])
        plan = [say("current", current=check.current), say("proceed_with", target=check.target)]
        if check.firmware:
            plan.append(say("proceed_firmware", firmware=fxos_data().firmware_version))
        write("\n" + "\n".join(plan) + "\n" + say("reboot_warning") + "\n\n")
        if not _yes(await self.session.ask(say("question"))):
            return None
        write("\n" + say("checklist") + "\n\n")
        if not _yes(await self.session.ask(say("question2"))):
            return None
        ch.start_platform_install(check.target)
        return say("triggered")

    # -- reboots and other CLIs --------------------------------------------------------------------
    async def cmd_chassis_reboot(self, _: Parsed) -> str | None:
        if not _yes(await self.session.ask(say("reboot_question"))):
            return None
        self.chassis.reboot("operator")
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
        return f"Firepower-module{self.slot}>" + ("" if self.telnet else " ")

    async def execute(self, line: str) -> None:
        if self.waiting:
            self.waiting = False
            if not line.strip():
                return
        await super().execute(line)

    async def on_hotkey(self, name: str) -> None:
        if name != "escape":
            return
        answer = await self.session.ask("\ntelnet> ")
        if answer is not None and answer.strip().lower() in ("q", "quit", "close"):
            self.session.write("Connection closed.\n")
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
        state = self.ctx.chassis.app_oper_state(app) if app else "Not Installed"
        return f"Services currently running:\nFeature      | Instance ID | State   | Up Since\n" \
               f"-------------+-------------+---------+-----------\n" \
               f"ftd          | 001_{self.slot}        | {'RUNNING' if state == 'Online' else 'STOPPED'} |"


class HostedFtdShell(FtdCliShell):
    """A hosted FTD's CLI on the module console: `exit` returns to the module."""

    async def cmd_exit(self, _: Parsed) -> None:
        self.session.write(say("ftd_disconnect") + "\n")
        self.session.pop()


class LocalMgmtShell(Shell):
    tree = sub_tree("local-mgmt")

    def __init__(self, session: Session, ctx: FxosContext) -> None:
        super().__init__(session)
        self.ctx = ctx

    @property
    def prompt(self) -> str:
        return f"{self.ctx.chassis.prompt_name}(local-mgmt)# "

    async def cmd_exit(self, _: Parsed) -> None:
        self.session.pop()

    async def cmd_show_version(self, _: Parsed) -> str:
        return show_version(self.ctx.chassis)

    async def cmd_reboot(self, _: Parsed) -> str | None:
        self.session.write(say("reboot_warning_mgmt") + "\n")
        if not _yes(await self.session.ask(say("reboot_question"))):
            return None
        try:
            self.ctx.chassis.reboot("operator")
        except Refused as refused:
            return refused.message
        return None


class FxosSwitchShell(Shell):
    tree = sub_tree("fxos-switch")

    def __init__(self, session: Session, ctx: FxosContext) -> None:
        super().__init__(session)
        self.ctx = ctx

    @property
    def prompt(self) -> str:
        return f"{self.ctx.chassis.prompt_name}(fxos)# "

    async def cmd_exit(self, _: Parsed) -> None:
        self.session.pop()
