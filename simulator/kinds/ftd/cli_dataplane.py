"""The data-plane commands the FTD CLI and its diagnostic CLI share: each prints
a view of kinds/lina (the ASA's layout, which the FTD's Lina prints too) or of
dataplane.py (the FTD's own layouts) for the unit the session is on."""

from __future__ import annotations

from simulator.kinds.ftd import dataplane
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.lina import network, policy, vpn
from simulator.terminal.tree import Parsed


class DataplaneCommands:
    """`cmd_<action>` handlers mixed into FtdCliShell and DiagShell."""

    device: FtdDevice

    @property
    def unit(self) -> dataplane.FtdUnit:
        return dataplane.FtdUnit(self.device)

    async def cmd_show_interface(self, _: Parsed) -> str:
        return network.show_interface(self.unit)

    async def cmd_show_interface_detail(self, _: Parsed) -> str:
        return network.show_interface(self.unit, detail=True)

    async def cmd_show_interface_ip_brief(self, _: Parsed) -> str:
        return network.interface_ip_brief(self.unit)

    async def cmd_show_interface_summary(self, _: Parsed) -> str:
        return network.interface_summary(self.unit)

    async def cmd_show_nameif(self, _: Parsed) -> str:
        return network.nameif(self.unit)

    async def cmd_show_route(self, _: Parsed) -> str:
        return network.show_route(self.unit)

    async def cmd_show_arp(self, _: Parsed) -> str:
        return network.show_arp(self.unit)

    async def cmd_ping(self, p: Parsed) -> str:
        return network.ping(self.unit, p.args["target"])

    async def cmd_show_vpn_sessiondb_anyconnect(self, _: Parsed) -> str:
        return vpn.show_vpn_sessiondb_anyconnect(self.unit, self.device.ctx.clock.now(), ftd=True)

    async def cmd_show_nat(self, _: Parsed) -> str:
        return policy.show_nat(self.unit)

    async def cmd_show_xlate(self, _: Parsed) -> str:
        return policy.show_xlate(self.unit)

    async def cmd_show_access_list(self, _: Parsed) -> str:
        return policy.show_access_list(self.unit)

    async def cmd_show_asp_drop(self, _: Parsed) -> str:
        return policy.show_asp_drop(self.unit)

    async def cmd_show_resource_usage(self, _: Parsed) -> str:
        return policy.show_resource_usage(self.unit)

    async def cmd_show_conn_count(self, _: Parsed) -> str:
        return dataplane.show_conn_count(self.device)

    async def cmd_show_cpu(self, _: Parsed) -> str:
        return dataplane.show_cpu(self.device)

    async def cmd_show_memory(self, _: Parsed) -> str:
        return dataplane.show_memory(self.device)

    async def cmd_show_running(self, _: Parsed) -> str:
        return dataplane.running_config(self.device)

    async def cmd_show_running_access_group(self, _: Parsed) -> str:
        return policy.show_running_access_group()

    async def cmd_show_running_object_network(self, _: Parsed) -> str:
        return policy.show_running_object_network()
