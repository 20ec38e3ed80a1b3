"""An FTD HA pair hosted on two FXOS chassis (profile ftd-ha-on-4100): the
six-step order of seed 000 table 2 through the real surfaces (FXOS REST on
the chassis, FDM REST on the units), with the traffic probe; and what
upgrading both chassis at once costs."""

from __future__ import annotations

import pytest

from simulator.kinds.ftd.packages import make_package
from simulator.lab import Lab
from tests.kinds.ftd.test_ha import Unit, run_until

BUNDLE = "fxos-k9.2.14.1.131.SPA"
FXOS_TARGET = "2.14(1.131)"
FTD_PACKAGE = "Cisco_FTD_SSP_Upgrade-7.4.1-172.sh.REL.tar"


@pytest.fixture
async def lab(lab_factory) -> Lab:
    return await lab_factory("ftd-ha-on-4100", seed=9)


async def start_chassis_upgrade(lab: Lab, name: str, server: str) -> None:
    """FXOS REST: log in, download the bundle, schedule the platform install."""
    import httpx

    url = next(d for d in lab.endpoints()["devices"] if d["name"] == name)["https"]["url"]
    chassis = lab.devices[name]
    async with httpx.AsyncClient(base_url=url, verify=False, timeout=10) as client:
        r = await client.post("/api/login", headers={"USERNAME": "admin", "PASSWORD": "Admin123"})
        h = {"TOKEN": r.json()["token"]}
        host, port = server.split(":")
        body = {"firmwareDownloader": [{"protocol": "http", "server": host, "port": port, "remotePath": "/pub",
                                        "dn": f"sys/fw-catalogue/dnld-{BUNDLE}"}]}
        assert (await client.post("/api/sys/firmware/dnld/", headers=h, json=body)).status_code == 200
        await lab.settle()
        await run_until(lab, lambda: any(t.state == "Downloaded" for t in chassis.downloads.values()), step=2)
        r = await client.patch("/api/sys/firmware/sched-platform-fw", headers=h,
                               json={"firmwareInfraPack": [{"platformBundleVersion": FXOS_TARGET}]})
        assert r.status_code == 200, r.text


def chassis_done(lab: Lab, name: str, ftd: str) -> bool:
    pair = lab.pairs["ftd-ha"]
    return (lab.devices[name].version == FXOS_TARGET and lab.devices[name].state == "online"
            and pair.unit_state[ftd] in ("Active", "Standby Ready"))


async def test_table_2_order_chassis_then_threat_defense_loses_no_traffic(lab, web_server, tmp_path):
    pair, traffic = lab.pairs["ftd-ha"], lab.traffic["ftd-ha"]
    a, b = Unit(lab, "ftd-a"), Unit(lab, "ftd-b")
    for unit in (a, b):
        await unit.login()
    package = make_package(FTD_PACKAGE, tmp_path)

    # Before: threat defense 7.4 needs FXOS 2.14 - the readiness check says so.
    with package.open("rb") as fh:
        await b.api.post("/action/uploadupgrade", files={"fileToUpload": (package.name, fh)})
    await b.api.post("/action/upgradereadinesscheck", json={})
    await run_until(lab, lambda: b.device.readiness.state != "IN_PROGRESS", step=5)
    assert "FXOS version incompatibility" in b.device.readiness.messages[0]

    # 1. Upgrade the chassis of the standby (B): its FTD goes down with it, traffic stays on A.
    await start_chassis_upgrade(lab, "chassis-b", web_server)
    await run_until(lab, lambda: b.device.state == "off", step=10)
    assert pair.active == "ftd-a" and traffic.up
    await run_until(lab, lambda: chassis_done(lab, "chassis-b", "ftd-b"), step=30)
    assert pair.unit_state["ftd-b"] == "Standby Ready"
    # 2. Switch roles.
    await b.login()
    assert (await b.api.post("/devices/default/action/ha/failover")).json()["nodeState"] == "HA_ACTIVE_NODE"
    # 3. Upgrade the chassis with the new standby (A).
    await start_chassis_upgrade(lab, "chassis-a", web_server)
    await run_until(lab, lambda: chassis_done(lab, "chassis-a", "ftd-a") and a.device.fxos_version == FXOS_TARGET,
                    step=30)
    # 4. Upgrade threat defense on the new standby (A).
    await a.login()
    await a.upgrade(package)
    await run_until(lab, lambda: a.device.version == "7.4.1-172" and pair.unit_state["ftd-a"] == "Standby Ready")
    # 5. Switch roles again.
    await a.login()
    assert (await a.api.post("/devices/default/action/ha/failover")).json()["nodeState"] == "HA_ACTIVE_NODE"
    # 6. Upgrade threat defense on the original standby (B).
    await b.login()
    await b.upgrade(package)
    await run_until(lab, lambda: b.device.version == "7.4.1-172" and pair.state == "healthy")
    assert traffic.outages == [] and traffic.up
    assert [e["cause"] for e in lab.journal.select(kind="ha.failover")] == ["switch", "switch"]
    for unit in (a, b):
        await unit.api.aclose()


async def test_upgrading_both_chassis_at_once_drops_traffic_until_one_is_back(lab, web_server):
    traffic = lab.traffic["ftd-ha"]
    await start_chassis_upgrade(lab, "chassis-a", web_server)
    await start_chassis_upgrade(lab, "chassis-b", web_server)
    await run_until(lab, lambda: chassis_done(lab, "chassis-a", "ftd-a") and chassis_done(lab, "chassis-b", "ftd-b"),
                    step=30)
    # Both units were dark together: nothing carried traffic until one came back.
    assert max(end - start for start, end in traffic.outages) > 300, traffic.outages
