"""The ASA shell's platform commands (status.py: inventory, modules, licences,
CPU, memory, the failover link), on top of the Lina commands it shares with
the FTD (kinds/lina/commands.py)."""

from __future__ import annotations

from simulator.kinds.asa import status
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.lina import policy, vpn
from simulator.kinds.lina.commands import LinaCommands
from simulator.terminal.tree import Parsed


class NetworkCommands(LinaCommands):
    """`cmd_<action>` handlers mixed into AsaShell."""

    device: AsaDevice

    @property
    def unit(self) -> status.AsaUnit:
        return status.AsaUnit(self.device)

    def _clientless(self) -> bool:
        ver = self.device.ver
        return vpn.has_clientless((ver.major, ver.minor))

    async def cmd_show_access_list_brief(self, _: Parsed) -> str:
        return policy.show_access_list_brief(self.unit, self.device.local_time())

    async def cmd_show_inventory(self, _: Parsed) -> str:
        return status.show_inventory(self.device)

    async def cmd_show_module(self, _: Parsed) -> str:
        return status.show_module(self.device)

    async def cmd_show_license_all(self, _: Parsed) -> str:
        return status.show_license_all(self.device)

    async def cmd_show_cpu_usage_detailed(self, _: Parsed) -> str:
        return status.show_cpu_usage_detailed(self.device)

    async def cmd_show_memory(self, _: Parsed) -> str:
        return status.show_memory(self.device)

    async def cmd_show_failover_interface(self, _: Parsed) -> str:
        return status.show_failover_interface(self.device)
