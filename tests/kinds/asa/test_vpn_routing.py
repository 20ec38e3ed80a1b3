"""The ASA's VPN, dynamic routing, object-group and service-policy views over
SSH: tunnels come up and users log in on the lab clock, counters and SA
lifetimes follow it, the running configuration holds what the views show, and
the AnyConnect layout parses with ntc-templates' cisco_asa template (and, with
the tunnel zone an FTD adds, its cisco_ftd one)."""

from __future__ import annotations

from ntc_templates.parse import parse_output

from simulator.kinds.asa.status import AsaUnit
from simulator.kinds.lina import vpn
from tests.kinds.asa.test_asa import login


def _body(out: str) -> str:
    """What the command printed: without the echoed command line and the prompt after it."""
    return "\n".join(out.splitlines()[1:-1])

async def test_tunnels_and_sessions_follow_the_clock(rig):
    r = await rig()
    term = await login(r.port(r.a))
    assert "There are no IKEv1 SAs" in await term.cmd("show crypto ikev1 sa")         # just booted
    assert "INFO: There are presently no active sessions" in await term.cmd("show vpn-sessiondb anyconnect")
    await r.clock.advance(3600)
    sas = await term.cmd("show crypto ikev1 sa detail")
    assert "1 198.51.100.10 L2L   Init  No   MM_ACTIVE  aes256  SHA   preshrd 86400" in sas
    assert "198.51.100.20" in sas
    assert "192.0.2.77/500" in await term.cmd("show crypto ikev2 sa")
    ipsec = await term.cmd("show crypto ipsec sa")
    assert "Crypto map tag: outside_map, seq num: 10, local addr: 203.0.113.1" in ipsec
    encaps = int(ipsec.split("#pkts encaps: ")[1].split(",")[0])
    users = await term.cmd("show vpn-sessiondb anyconnect")
    assert "Username     : jsmith" in users and "Username     : mgarcia" in users and "akumar" not in users
    await r.clock.advance(600)
    ipsec = await term.cmd("show crypto ipsec sa")
    assert int(ipsec.split("#pkts encaps: ")[1].split(",")[0]) > encaps
    assert "akumar" in await term.cmd("show vpn-sessiondb anyconnect")    # logged in at 3900 s
    pool = await term.cmd("show ip local pool VPN-POOL")
    assert "10.255.0.10     10.255.0.59     255.255.255.0      47        0        3" in pool
    assert "ERROR: Pool NOPE not found" in await term.cmd("show ip local pool NOPE")
    await term.close()


async def test_running_config_holds_what_the_views_show(rig):
    r = await rig()
    term = await login(r.port(r.a))
    await r.clock.advance(600)
    config = await term.cmd("show running-config")
    for line in ("object-group network RFC1918", "object service HTTPS-ALT",
                 "access-list outside_cryptomap_10 extended permit ip 192.168.1.0 255.255.255.0 10.50.0.0 255.255.0.0",
                 "crypto map outside_map 10 set peer 198.51.100.10 ", "crypto map outside_map interface outside",
                 "crypto ikev1 policy 10", "tunnel-group RAVPN type remote-access", "ip local pool VPN-POOL",
                 "router ospf 1", " network 192.168.1.0 255.255.255.0 area 0", "router bgp 65010",
                 "  neighbor 203.0.113.254 remote-as 64500", "service-policy global_policy global"):
        assert line in config, line
    assert config.index("router ospf 1") < config.index("route outside 0.0.0.0")
    assert _body(await term.cmd("sh run crypto map")).startswith("crypto map outside_map 10 match address")
    assert "outside_cryptomap_10; 1 elements" in await term.cmd("show access-list")
    assert "FULL/DR" in await term.cmd("sh ospf neigh")
    route = await term.cmd("show route")
    assert "O        10.30.0.0 255.255.0.0 [110/20] via 192.168.1.2" in route
    assert "B        198.18.0.0 255.254.0.0 [20/0] via 203.0.113.254" in route
    assert "203.0.113.254   4        64500" in await term.cmd("show bgp summary")
    assert "Inspect: dns preset_dns_map, packet" in await term.cmd("show service-policy")
    assert "ERROR: % Invalid input detected at '^' marker." in await term.cmd("show vpn-sessiondb bogus")
    await term.close()


async def test_anyconnect_layout_parses_as_asa_and_as_ftd(rig):
    r = await rig()
    term = await login(r.port(r.a))
    await r.clock.advance(3 * 3600)
    asa = parse_output(platform="cisco_asa", command="show vpn-sessiondb anyconnect",
                       data=_body(await term.cmd("show vpn-sessiondb anyconnect")))
    assert [row["username"] for row in asa] == ["jsmith", "mgarcia", "lchen"]
    assert all(row["assigned_ip"].startswith("10.255.0.") and int(row["bytes_tx"]) for row in asa)
    ftd = parse_output(platform="cisco_ftd", command="show vpn-sessiondb anyconnect",
                       data=vpn.show_vpn_sessiondb_anyconnect(AsaUnit(r.a), r.clock.now(), ftd=True))
    assert [(row["username"], row["tunnel_zone"]) for row in ftd] == [("jsmith", "0"), ("mgarcia", "0"),
                                                                       ("lchen", "0")]
    await term.close()


async def test_clientless_sessions_only_before_9_17_and_genie_parses_them(rig):
    from tests.interop.test_parsers_asa import _genie_parse
    old = await rig(version="9.16(4)")
    term = await login(old.port(old.a))
    await old.clock.advance(3600)
    out = _body(await term.cmd("show vpn-sessiondb webvpn"))
    assert out.startswith("Session Type: WebVPN") and "Protocol     : Clientless" in out
    parsed = _genie_parse("show vpn-sessiondb webvpn", out)
    session = parsed["session_type"]["WebVPN"]["username"]["contractor1"]["index"]
    assert [s["tunnel_group"] for s in session.values()] == ["DefaultWEBVPNGroup"]
    await term.close()
    new = await rig(version="9.19(1)")
    term = await login(new.port(new.a))
    await new.clock.advance(3600)
    assert "There are presently no active sessions" in await term.cmd("show vpn-sessiondb webvpn")
    await term.close()
