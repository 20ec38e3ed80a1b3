"""The ASA's data-plane views over SSH: filled from the unit's own state (its
failover role picks the active or standby addresses), counters growing on the
lab clock, ping answering by the routing table, bad input refused."""

from __future__ import annotations

from simulator.kinds.asa.facts import asa_data
from tests.kinds.asa.test_asa import login


async def test_interfaces_routes_and_arp_follow_the_units_role(rig):
    r = await rig()
    addresses = asa_data().failover.addresses
    active, standby = await login(r.port(r.a)), await login(r.port(r.b))
    brief = await active.cmd("show interface ip brief")
    assert f"GigabitEthernet0/0         {addresses.outside[0]:<16}YES CONFIG up" in brief
    assert "GigabitEthernet0/3         unassigned      YES unset  administratively down down" in brief
    assert addresses.outside[1] in await standby.cmd("show interface ip brief")
    route = await active.cmd("show route")
    assert "Gateway of last resort is 203.0.113.254 to network 0.0.0.0" in route
    assert f"L        {addresses.inside[0]} 255.255.255.255 is directly connected, inside" in route
    assert "outside 203.0.113.254" in await active.cmd("show arp")
    assert "outside                    0" in await active.cmd("show nameif")
    assert "nat (inside,outside) source dynamic inside-net interface" in await active.cmd("show running-config")
    await active.close()
    await standby.close()


async def test_counters_grow_with_uptime(rig):
    r = await rig()
    term = await login(r.port(r.a))

    def packets(out: str) -> int:
        line = next(line for line in out.splitlines() if "packets input" in line)
        return int(line.split()[0])

    before = packets(await term.cmd("show interface"))
    await r.clock.advance(600)
    assert packets(await term.cmd("show interface")) > before
    await term.close()


async def test_ping_by_the_routing_table_and_bad_input(rig):
    r = await rig()
    term = await login(r.port(r.a))
    assert "Success rate is 100 percent (5/5)" in await term.cmd("ping 192.168.1.20")
    assert "Success rate is 100 percent (5/5)" in await term.cmd("ping 8.8.8.8")    # via the default route
    out = await term.cmd("ping 10.99.1.1")                       # private, no route covers it
    assert "....." in out and "Success rate is 0 percent (0/5)" in out
    assert "%Error: Invalid address or hostname" in await term.cmd("ping no.such.host")
    assert "ERROR: % Invalid input detected at '^' marker." in await term.cmd("show interface bogus")
    await term.close()


async def test_logging_buffer_has_the_login_and_failover_events(rig):
    r = await rig()
    term = await login(r.port(r.a))
    await term.cmd("no failover active")
    out = await term.cmd("show logging")
    assert "%ASA-6-199002: Startup completed. Beginning operation." in out
    assert '%ASA-6-605005: Login permitted from' in out and 'for user "admin"' in out
    assert "%ASA-1-104002: (Primary) Switching to STANDBY" in out
    await term.close()


async def test_show_memory_counts_the_models_ram(rig):
    """The layout asa_facts reads (cisco.asa's capture): free + used = total, the ASAv part after it."""
    r = await rig()
    active, standby = await login(r.port(r.a)), await login(r.port(r.b))
    out = (await active.cmd("show memory")).splitlines()
    counts = {line.split(":")[0]: int(line.split()[2]) for line in out if line.endswith("%)")}
    assert counts["Total memory"] == 8192 * 1024 * 1024 == counts["Free memory"] + counts["Used memory"]
    assert "Total memory:       8589934592 bytes (100%)" in out
    assert "Provisioned       8192 MB" in out and "Allowed           8192 MB" in out
    assert await standby.cmd("show memory") != "\n".join(out)          # each unit its own share in use
    await active.close()
    await standby.close()
