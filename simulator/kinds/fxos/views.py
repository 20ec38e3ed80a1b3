"""The chassis as its CLI prints it: tables and blocks of `show` commands,
prompts and banners, filled from the layouts of cli.yaml (sources and
confidence: docs/fidelity/fxos.md §2)."""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from simulator.facts import Facts, load
from simulator.kinds.fxos.bundles import FxosVersion
from simulator.kinds.fxos.facts import fxos_data
from simulator.kinds.fxos.model import AppInstance, FxosChassis, app_version


class CliFacts(Facts):
    """cli.yaml: the command trees (terminal/tree.py reads them) and the texts."""

    errors: dict[str, str]
    caret: bool
    filters: bool
    common: dict[str, Any]
    scopes: dict[str, dict[str, Any]]
    module: dict[str, Any]
    local_mgmt: dict[str, Any] = Field(alias="local-mgmt")
    fxos_switch: dict[str, Any] = Field(alias="fxos-switch")
    prompts: dict[str, str]
    words: dict[str, dict[str, str]]
    templates: dict[str, str]


def cli_facts() -> CliFacts:
    return load(CliFacts, "kinds/fxos/cli.yaml")


def template(key: str, **values: Any) -> str:
    return cli_facts().templates[key].format(**values)


def prompt(key: str, **values: Any) -> str:
    return cli_facts().prompts[key].format(**values)


def word(table: str, key: str, default: str | None = None) -> str:
    """A display word of cli.yaml `words:` (e.g. a download state's FSM status)."""
    words = cli_facts().words[table]
    return words[key] if default is None else words.get(key, default)


def stamp(t: float) -> str:
    """FXOS timestamps: `2024-05-01T10:00:00.000`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000", time.gmtime(t))


def login_time(t: float) -> str:
    """When a login happened, as `last` prints it: `Wed Nov  1 17:31:13 UTC 2017`."""
    tm = time.gmtime(t)
    return f"{time.strftime('%a %b', tm)} {tm.tm_mday:2d} {time.strftime('%H:%M:%S UTC %Y', tm)}"


def table(columns: list[tuple[str, int]], rows: list[list[str]], indent: str = "") -> str:
    """An FXOS table: headers, dashes of each column's width, rows (wider values push on)."""
    def line(cells: list[str]) -> str:
        return (indent + " ".join(c.ljust(w) for c, (_h, w) in zip(cells, columns))).rstrip()
    out = [line([h for h, _w in columns]), line(["-" * w for _h, w in columns])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def banner(ch: FxosChassis, where: str) -> str:
    """The SSH login banner; `where`: when and from where this login comes."""
    last, logins = ch.record_login(where)
    return template("banner", last_login=last, user=ch.username, logins=logins,
                    year=time.gmtime(ch.ctx.clock.now()).tm_year)


# -- firmware and the install -------------------------------------------------------------
def show_version(ch: FxosChassis) -> str:
    return template("version", version=ch.version, startup=ch.startup_version)


def firmware_monitor(ch: FxosChassis) -> str:
    parts = [template("monitor_component", name=c.name, version=c.package_vers, status=c.status)
             for c in ch.components if c.role != "server"]
    servers = [template("monitor_server", slot=c.slot, version=c.package_vers, status=c.status)
               for c in ch.components if c.role == "server"]
    return "\n\n".join(parts + ["Chassis 1:\n" + "\n".join(servers)])


def auto_install(ch: FxosChassis, detail: bool) -> str:
    inst = ch.install
    if inst is None:
        version, oper, upgrade, status, current, started = ch.version, "Idle", "Ready", "Ready", "", ""
    else:
        version, oper = inst.target, word("install_oper", inst.state)
        upgrading = [c.name for c in ch.components if c.status == "Upgrading"]
        upgrade = word("install_upgrade", inst.state)
        status = "Upgrading " + ", ".join(upgrading) if upgrading else upgrade
        current = inst.log[-1][1] if inst.log and ch.installing else ""
        started = stamp(inst.started)
    if detail:
        return template("auto_install_detail", version=version, oper=oper, started=started, upgrade=upgrade,
                        status=status, firmware="Ready" if ch.firmware_version else "", current=current)
    return "Firmware Auto-Install:\n" + table(
        [("Package-Vers", 12), ("Oper State", 26), ("Upgrade State", 13)], [[version, oper, upgrade]],
        indent="    ")


# -- downloads and packages -----------------------------------------------------------------
def _task_current(ch: FxosChassis, filename: str) -> str:
    task = ch.downloads[filename]
    if task.state != "Downloading":
        return ""
    return template("task_current", filename=task.filename, server=task.server or "local")


def task_detail(ch: FxosChassis, filename: str) -> str:
    task = ch.downloads[filename]
    directory = task.path.rsplit("/", 1)[0] if "/" in task.path else ""
    return template("task_detail", filename=task.filename, protocol=task.protocol, server=task.server,
                    userid=task.userid, path=directory, size_kb=task.size_kb, state=task.state,
                    current=_task_current(ch, filename))


def task_fsm(ch: FxosChassis, filename: str) -> str:
    task = ch.downloads[filename]
    return template(
        "task_fsm", result=word("task_fsm_result", task.state), code=task.error_code or "None",
        text=task.error_text, status=word("task_fsm_status", task.state),
        previous=word("task_fsm_previous", task.state), stamp=stamp(task.finished or task.started),
        tries=task.tries, percent=task.percent, current=_task_current(ch, filename))


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


# -- security modules and applications --------------------------------------------------------
def slot_table(ch: FxosChassis, slots: list[int]) -> str:
    rows = [[str(s), "Info", "Ok", ch.slot_oper_state(s)] for s in slots]
    return "Slot:\n" + table([("Slot ID", 10), ("Log Level", 9), ("Admin State", 12), ("Oper State", 10)],
                             rows, indent="    ")


def _deploy_type(ch: FxosChassis, app: AppInstance) -> str:
    return "Native" if len(ch.modules[app.slot].apps) == 1 else "Container"


APP_COLUMNS = [("App Name", 10), ("Identifier", 10), ("Slot ID", 10), ("Admin State", 11), ("Oper State", 16),
               ("Running Version", 15), ("Startup Version", 15), ("Deploy Type", 11), ("Turbo Mode", 10),
               ("Profile Name", 12), ("Cluster State", 15), ("Cluster Role", 12)]


def _app_detail(ch: FxosChassis, app: AppInstance) -> str:
    oper = ch.app_oper_state(app)
    return template("app_instance_detail", app=app.app, identifier=app.identifier, slot=app.slot,
                    admin=app.admin_state, oper=oper, running=app_version(app.device.version),
                    startup=app_version(app.device.version), deploy=_deploy_type(ch, app), job_type="Start",
                    job_progress=100 if oper == "Online" else 0, job_state=word("app_job_state", oper, "In Progress"))


def app_instances(ch: FxosChassis, slot: int | None = None, detail: bool = False) -> str:
    apps = [a for s, a in ch.apps() if slot is None or s == slot]
    if detail:
        return "\n\n".join(_app_detail(ch, app) for app in apps)
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


# -- faults ------------------------------------------------------------------------------------
def _fault(key: str, fault_id: int, when: float, **values: Any) -> dict[str, Any]:
    fact = fxos_data().faults[key]
    return {"severity": fact.severity, "code": fact.code, "id": fault_id, "time": when,
            "descr": fact.text.format(**values)}


def faults(ch: FxosChassis) -> list[dict[str, Any]]:
    """Faults raised by the chassis' present state (codes: facts.yaml faults:)."""
    now = ch.ctx.clock.now()
    out = [_fault("module_down", 31000 + slot, now, slot=slot, state=module.state.lower())
           for slot, module in ch.modules.items() if module.state != "Online"]
    for slot, app in ch.apps():
        oper = ch.app_oper_state(app)
        if oper != "Online":
            out.append(_fault("app_down", 32000 + slot, now, app=app.app, slot=slot, state=oper))
    for comp in ch.components:
        if comp.status == "Failed":
            out.append(_fault("upgrade_failed", 33000 + len(out), now, component=comp.name,
                              version=ch.install.target if ch.install else comp.package_vers))
    for task in ch.downloads.values():
        if task.state == "Failed":
            out.append(_fault("download_failed", 34000 + len(out), task.finished or now, filename=task.filename,
                              server=task.server))
    return out


def fault_table(ch: FxosChassis) -> str:
    rows = [[f["severity"], f["code"], stamp(f["time"]), str(f["id"]).rjust(8), f["descr"]] for f in faults(ch)]
    return table([("Severity", 9), ("Code", 8), ("Last Transition Time", 24), ("ID", 8), ("Description", 11)], rows)
