"""The Lina commands every shell that reaches the data plane answers alike (an
ASA's CLI, an FTD's CLI and its diagnostic CLI): each prints a view of
kinds/lina for the unit the session is on. A shell's command tree decides
which of them it offers; the kind gives the `unit` and the device's clock."""

from __future__ import annotations

from typing import Any

from simulator.kinds.lina import network, objects, policy, routing, services, vpn
from simulator.terminal.tree import Parsed


class LinaCommands:
    """`cmd_<action>` handlers mixed into a kind's shells."""

    device: Any
    TUNNEL_ZONE = False         # an FTD's AnyConnect sessions end with their tunnel zone

    @property
    def unit(self) -> network.Unit:
        raise NotImplementedError

    def _now(self) -> float:
        return float(self.device.ctx.clock.now())

    def _clientless(self) -> bool:
        """Whether the unit's release has clientless SSL VPN (an FTD never has)."""
        return False

    # -- interfaces, routes, reachability ---------------------------------------------------------
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
        unit = self.unit
        return routing.show_route(unit, network.show_route(unit))

    async def cmd_show_arp(self, _: Parsed) -> str:
        return network.show_arp(self.unit)

    async def cmd_ping(self, p: Parsed) -> str:
        return network.ping(self.unit, p.args["target"])

    # -- policy ----------------------------------------------------------------------------------
    async def cmd_show_name(self, _: Parsed) -> str:
        return policy.show_name(self.unit)

    async def cmd_show_nat(self, _: Parsed) -> str:
        return policy.show_nat(self.unit)

    async def cmd_show_xlate(self, _: Parsed) -> str:
        return policy.show_xlate(self.unit)

    async def cmd_show_access_list(self, _: Parsed) -> str:
        return policy.show_access_list(self.unit) + "\n" + vpn.show_access_list(self.unit)

    async def cmd_show_asp_drop(self, _: Parsed) -> str:
        return policy.show_asp_drop(self.unit)

    async def cmd_show_resource_usage(self, _: Parsed) -> str:
        return policy.show_resource_usage(self.unit)

    async def cmd_show_running_object_network(self, _: Parsed) -> str:
        return policy.show_running_object_network()

    async def cmd_show_running_access_group(self, _: Parsed) -> str:
        return policy.show_running_access_group()

    # -- VPN -------------------------------------------------------------------------------------
    async def cmd_show_crypto_ikev1_sa(self, _: Parsed) -> str:
        return vpn.show_crypto_ikev1_sa(self.unit)

    async def cmd_show_crypto_ikev1_sa_detail(self, _: Parsed) -> str:
        return vpn.show_crypto_ikev1_sa(self.unit, detail=True)

    async def cmd_show_crypto_ikev2_sa(self, _: Parsed) -> str:
        return vpn.show_crypto_ikev2_sa(self.unit)

    async def cmd_show_crypto_ipsec_sa(self, _: Parsed) -> str:
        return vpn.show_crypto_ipsec_sa(self.unit)

    async def cmd_show_asp_table_vpn_context_detail(self, _: Parsed) -> str:
        return vpn.show_asp_vpn_context(self.unit)

    async def cmd_show_vpn_sessiondb(self, _: Parsed) -> str:
        return vpn.show_vpn_sessiondb(self.unit)

    async def cmd_show_vpn_sessiondb_anyconnect(self, _: Parsed) -> str:
        return vpn.show_vpn_sessiondb_anyconnect(self.unit, self._now(), ftd=self.TUNNEL_ZONE)

    async def cmd_show_vpn_sessiondb_detail_l2l(self, _: Parsed) -> str:
        return vpn.show_vpn_sessiondb_detail_l2l(self.unit, self._now())

    async def cmd_show_vpn_sessiondb_webvpn(self, _: Parsed) -> str:
        return vpn.show_vpn_sessiondb_webvpn(self.unit, self._now(), self._clientless())

    async def cmd_show_vpn_load_balancing(self, _: Parsed) -> str:
        return vpn.show_vpn_load_balancing(self.unit)

    async def cmd_show_ip_local_pool(self, p: Parsed) -> str:
        return vpn.show_ip_local_pool(self.unit, p.args["pool"])

    async def cmd_show_running_crypto(self, _: Parsed) -> str:
        return "\n".join([*vpn.ipsec_lines(), *vpn.crypto_map_lines(), *vpn.ikev2_lines(), *vpn.ikev1_lines()])

    async def cmd_show_running_crypto_map(self, _: Parsed) -> str:
        return "\n".join(vpn.crypto_map_lines())

    async def cmd_show_running_all_crypto_map(self, _: Parsed) -> str:
        return "\n".join(vpn.crypto_map_lines(defaults=True))

    async def cmd_show_running_crypto_ikev1(self, _: Parsed) -> str:
        return "\n".join(vpn.ikev1_lines())

    async def cmd_show_running_crypto_ikev2(self, _: Parsed) -> str:
        return "\n".join(vpn.ikev2_lines())

    async def cmd_show_running_ipsec(self, _: Parsed) -> str:
        return "\n".join(vpn.ipsec_lines())

    async def cmd_show_running_tunnel_group(self, _: Parsed) -> str:
        return "\n".join(vpn.tunnel_group_lines())

    async def cmd_show_running_group_policy(self, _: Parsed) -> str:
        return "\n".join(vpn.group_policy_lines())

    # -- routing ---------------------------------------------------------------------------------
    async def cmd_show_ospf_neighbor(self, _: Parsed) -> str:
        return routing.show_ospf_neighbor(self.unit)

    async def cmd_show_ospf_interface_brief(self, _: Parsed) -> str:
        return routing.show_ospf_interface_brief(self.unit)

    async def cmd_show_bgp_summary(self, _: Parsed) -> str:
        return routing.show_bgp_summary(self.unit)

    async def cmd_show_running_router(self, _: Parsed) -> str:
        return "\n".join(routing.config_lines(self.unit))

    # -- objects, service policy, traffic ------------------------------------------------------------
    async def cmd_show_object_group(self, _: Parsed) -> str:
        return "\n".join(objects.network_group_lines() + objects.service_group_lines())

    async def cmd_show_object_group_network(self, _: Parsed) -> str:
        return "\n".join(objects.network_group_lines())

    async def cmd_show_object_group_service(self, _: Parsed) -> str:
        return "\n".join(objects.service_group_lines())

    async def cmd_show_running_object_service(self, _: Parsed) -> str:
        return "\n".join(objects.service_lines())

    async def cmd_show_service_policy(self, _: Parsed) -> str:
        return services.show_service_policy(self.unit)

    async def cmd_show_traffic(self, _: Parsed) -> str:
        return services.show_traffic(self.unit)
