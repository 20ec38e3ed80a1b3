"""The FTD shells: the CLI (`> `) and its diagnostic CLI (`host>` / `host#` /
`host(config)#`);
the expert Linux shell (`admin@host:~$`) is in expert.py. Handlers translate
commands into device-model calls and model state into the device's text."""

from __future__ import annotations

import time
from functools import cache

from simulator.kinds.ftd import dataplane, ha_views, views
from simulator.kinds.ftd.cli_dataplane import DataplaneCommands
from simulator.kinds.ftd.context import FtdContext, follow_upgrade
from simulator.kinds.ftd.expert import ExpertShell
from simulator.kinds.ftd.manager import Manager
from simulator.terminal.session import Session, Shell
from simulator.terminal.tree import CliError, CommandTree, Parsed


def _yes(answer: str | None) -> bool:
    return (answer or "").strip().upper() == "YES"


class FtdCliShell(DataplaneCommands, Shell):
    tree = views.tree("cli")

    def __init__(self, session: Session, ctx: FtdContext) -> None:
        super().__init__(session)
        self.ctx = ctx
        self.device = ctx.device

    @property
    def prompt(self) -> str:
        return "> "

    async def cmd_show_version(self, _: Parsed) -> str:
        return views.show_version(self.device)

    async def cmd_show_upgrade_status(self, p: Parsed) -> str | None:
        detail = "detail" in p.flags
        text = views.status_detail(self.device) if detail else views.upgrade_status(self.device)
        if "continuous" not in p.flags:
            return text
        self.session.write(text + "\n")
        await follow_upgrade(self.session, self.device, detail)
        return None

    async def cmd_show_last_upgrade_status(self, _: Parsed) -> str:
        return views.last_upgrade(self.device)

    async def cmd_show_upgrade_revert_info(self, _: Parsed) -> str:
        return views.revert_info(self.device)

    async def cmd_show_disk(self, _: Parsed) -> str:
        return views.disk(self.device)

    async def cmd_show_time(self, _: Parsed) -> str:
        return views.ftd_text("time", utc=views.stamp(self.device.local_time())).rstrip("\n")

    async def cmd_show_managers(self, _: Parsed) -> str:
        return views.managers(self.device)

    async def cmd_configure_manager_add(self, p: Parsed) -> str | None:
        if self.device.manager is None and not _yes(await self.session.ask(views.ftd_text("manager_local_warning"))):
            return None
        manager = Manager(p.args["host"], p.args["reg_key"], p.args.get("nat_id"))
        return self._refusable(lambda: self.device.add_manager(manager)) or views.ftd_text("manager_added")

    async def cmd_configure_manager_delete(self, _: Parsed) -> str:
        return self._refusable(self.device.delete_manager) or views.ftd_text("manager_deleted")

    async def cmd_show_network(self, _: Parsed) -> str:
        return dataplane.show_network(self.device)

    async def cmd_show_failover(self, _: Parsed) -> str:
        return ha_views.show_failover(self.device)

    async def cmd_show_failover_state(self, _: Parsed) -> str:
        return ha_views.show_failover_state(self.device)

    async def cmd_show_ha_config(self, _: Parsed) -> str:
        return ha_views.show_ha_config(self.device)

    def _pair_action(self, action: str) -> str | None:
        pair = self.device.ha
        if pair is None:
            return ha_views.ha_text("not_configured")
        return self._refusable(getattr(pair, action))

    async def cmd_configure_ha_suspend(self, _: Parsed) -> str | None:
        return self._pair_action("suspend") or ha_views.ha_text("suspended")

    async def cmd_configure_ha_resume(self, _: Parsed) -> str | None:
        return self._pair_action("resume") or ha_views.ha_text("resumed")

    async def cmd_configure_ha_disable(self, _: Parsed) -> str | None:
        if not _yes(await self.session.ask(ha_views.ha_text("disable_confirm"))):
            return None
        return self._pair_action("break_pair") or ha_views.ha_text("disabled")

    async def cmd_configure_hostname(self, p: Parsed) -> str | None:
        return self._refusable(lambda: self.device.set_hostname(p.args["hostname"]))

    async def cmd_upgrade_cancel(self, _: Parsed) -> str:
        job = self.device.job
        error = self._refusable(self.device.cancel_upgrade)
        return error or views.ftd_text("cancel_started", version=job.base_version if job else "")

    async def cmd_upgrade_retry(self, _: Parsed) -> str:
        return self._refusable(self.device.retry_upgrade) or views.ftd_text("retry_started")

    async def cmd_upgrade_revert(self, _: Parsed) -> str | None:
        snap = self.device.revert
        if snap is None:
            return views.ftd_text("revert_info_none")
        if not _yes(await self.session.ask(views.ftd_text("revert_confirm", version=snap.version))):
            return None
        return self._refusable(self.device.start_revert) or views.ftd_text("revert_started", version=snap.version)

    async def cmd_upgrade_cleanup_revert(self, _: Parsed) -> str | None:
        snap = self.device.revert
        if snap is None:
            return views.ftd_text("revert_info_none")
        if not _yes(await self.session.ask(views.ftd_text("cleanup_confirm", version=snap.version))):
            return None
        return self._refusable(self.device.cleanup_revert) or views.ftd_text("cleanup_done")

    async def cmd_reboot(self, _: Parsed) -> str | None:
        if not _yes(await self.session.ask(views.ftd_text("reboot_confirm"))):
            return None
        return self._refusable(self.device.reboot)

    async def cmd_exit(self, _: Parsed) -> None:
        self.session.pop()

    async def cmd_help(self, _: Parsed) -> str:
        return self.help("")

    async def cmd_expert(self, _: Parsed) -> str:
        self.session.push(ExpertShell(self.session, self.ctx))
        return ExpertShell.notice()

    async def cmd_diagnostic_cli(self, _: Parsed) -> str:
        self.session.push(DiagShell(self.session, self.ctx))
        return views.ftd_text("diag_attach")


@cache
def diag_config_tree() -> CommandTree:
    """The diagnostic CLI's `host(config)#` mode."""
    spec = views.cli_data("cli_diag")
    return CommandTree({**spec, "commands": spec["config_commands"]})


class DiagShell(DataplaneCommands, Shell):
    """The Lina diagnostic CLI; netmiko's cisco_ftd enable() lives here."""

    tree = views.tree("cli_diag")
    hotkeys = {"\x01d": "detach"}

    def __init__(self, session: Session, ctx: FtdContext) -> None:
        super().__init__(session)
        self.ctx = ctx
        self.device = ctx.device
        self.privileged = False

    @classmethod
    def command_trees(cls) -> list[CommandTree]:
        return [views.tree("cli_diag"), diag_config_tree()]

    @property
    def configuring(self) -> bool:
        return self.tree is diag_config_tree()

    @property
    def prompt(self) -> str:
        if self.configuring:
            return f"{self.device.hostname}(config)# "
        return f"{self.device.hostname}{'#' if self.privileged else '>'} "

    def _text(self, key: str, **values) -> str:
        return views.template("cli_diag", key, **values).rstrip("\n")

    async def on_eof(self) -> None:
        """Lina's line editor reads Ctrl-D as "delete the character under the cursor": nothing here."""

    async def on_hotkey(self, name: str) -> None:
        if name == "detach":
            self.session.write(views.ftd_text("diag_detach") + "\n")
            self.session.pop()

    async def cmd_enable(self, _: Parsed) -> None:
        if self.privileged:
            return
        # The diagnostic CLI's enable password is empty by default; any answer is taken.
        if await self.session.ask("Password: ", secret=True) is not None:
            self.privileged = True

    async def cmd_disable(self, _: Parsed) -> None:
        self.privileged = False

    async def cmd_configure_terminal(self, p: Parsed) -> str | None:
        if not self.privileged:      # not a command of the unprivileged mode: its own error
            return views.tree("cli_diag").error_text(CliError("unknown", 0, "configure"), "configure terminal",
                                                     self.prompt)
        self.tree = diag_config_tree()
        return None

    async def cmd_config_end(self, _: Parsed) -> None:
        self.tree = views.tree("cli_diag")

    async def cmd_exit(self, _: Parsed) -> None:
        if self.privileged:
            self.privileged = False
        else:
            await self.on_hotkey("detach")

    async def cmd_help(self, _: Parsed) -> str:
        return self.help("")

    async def cmd_terminal_pager(self, _: Parsed) -> None:
        return None

    async def cmd_terminal_width(self, _: Parsed) -> None:
        return None

    async def cmd_show_curpriv(self, _: Parsed) -> str:
        level, mode = (15, "PRIV") if self.privileged else (1, "UNPR")
        return self._text("curpriv", level=level, mode=mode)

    async def cmd_show_version(self, _: Parsed) -> str:
        d = self.device
        body = self._text("show_version_body", asa=d.asa_version, ssp=d.ssp_version,
                          hostname=d.hostname, uptime=views.uptime(d), hardware=d.info.asa_hardware,
                          mac=d.uuid[:4], serial=d.serial,
                          modified=time.strftime("%H:%M:%S.000 UTC %a %b %d %Y", time.gmtime(d.booted_at)))
        return views.show_version(d) + "\n" + body

    async def cmd_show_failover(self, _: Parsed) -> str:
        return ha_views.show_failover(self.device)

    async def cmd_show_failover_state(self, _: Parsed) -> str:
        return ha_views.show_failover_state(self.device)
