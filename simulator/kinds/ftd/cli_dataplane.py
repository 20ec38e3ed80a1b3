"""The data-plane commands the FTD CLI and its diagnostic CLI share: the Lina
commands of kinds/lina (the ASA's layouts, which the FTD's Lina prints too)
for the FTD's unit, and dataplane.py's FTD-only layouts."""

from __future__ import annotations

from simulator.kinds.ftd import dataplane
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.lina.commands import LinaCommands
from simulator.terminal.tree import Parsed


class DataplaneCommands(LinaCommands):
    """`cmd_<action>` handlers mixed into FtdCliShell and DiagShell."""

    device: FtdDevice
    TUNNEL_ZONE = True

    @property
    def unit(self) -> dataplane.FtdUnit:
        return dataplane.FtdUnit(self.device)

    async def cmd_show_conn_count(self, _: Parsed) -> str:
        return dataplane.show_conn_count(self.device)

    async def cmd_show_cpu(self, _: Parsed) -> str:
        return dataplane.show_cpu(self.device)

    async def cmd_show_memory(self, _: Parsed) -> str:
        return dataplane.show_memory(self.device)

    async def cmd_show_running(self, _: Parsed) -> str:
        return dataplane.running_config(self.device)
