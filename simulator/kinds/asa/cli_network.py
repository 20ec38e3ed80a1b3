"""The ASA shell's data-plane and platform commands: each prints a view of
lina.network, lina.policy or status.py for the unit the session is on."""

from __future__ import annotations

from simulator.kinds.asa import status
from simulator.kinds.asa.model import AsaDevice
from simulator.kinds.lina import network, policy
from simulator.terminal.tree import Parsed


class NetworkCommands:
    """`cmd_<action>` handlers mixed into AsaShell."""

    device: AsaDevice

    @property
    def unit(self) -> status.AsaUnit:
        return status.AsaUnit(self.device)

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

    async def cmd_show_name(self, _: Parsed) -> str:
        return policy.show_name(self.unit)

    async def cmd_show_nat(self, _: Parsed) -> str:
        return policy.show_nat(self.unit)

    async def cmd_show_xlate(self, _: Parsed) -> str:
        return policy.show_xlate(self.unit)

    async def cmd_show_access_list(self, _: Parsed) -> str:
        return policy.show_access_list(self.unit)

    async def cmd_show_access_list_brief(self, _: Parsed) -> str:
        return policy.show_access_list_brief(self.unit, self.device.local_time())

    async def cmd_show_asp_drop(self, _: Parsed) -> str:
        return policy.show_asp_drop(self.unit)

    async def cmd_show_resource_usage(self, _: Parsed) -> str:
        return policy.show_resource_usage(self.unit)

    async def cmd_show_running_object_network(self, _: Parsed) -> str:
        return policy.show_running_object_network()

    async def cmd_show_running_access_group(self, _: Parsed) -> str:
        return policy.show_running_access_group()

    async def cmd_show_inventory(self, _: Parsed) -> str:
        return status.show_inventory(self.device)

    async def cmd_show_module(self, _: Parsed) -> str:
        return status.show_module(self.device)

    async def cmd_show_license_all(self, _: Parsed) -> str:
        return status.show_license_all(self.device)

    async def cmd_show_cpu_usage_detailed(self, _: Parsed) -> str:
        return status.show_cpu_usage_detailed(self.device)

    async def cmd_show_failover_interface(self, _: Parsed) -> str:
        return status.show_failover_interface(self.device)
