"""Fleets (issue 14): lab-wide work stays O(devices). Costs are checked by
counting calls, not by timing (speed figures come from scripts/bench.py)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from simulator.kinds.spec import DeviceSpec
from simulator.lab import Lab

FLEET = 300


def fleet(count: int = FLEET) -> dict[str, Any]:
    """`count` FTDv from one template, in HA pairs of two (telnet consoles only)."""
    return {"lab": "fleet", "devices": [{"name": "ftd-{n}", "model": "FTDv", "version": "7.4.1-172",
                                         "count": count, "console_ssh_port": None}],
            "ha_pairs": [{"name": f"ha-{i}", "primary": f"ftd-{2 * i + 1}", "secondary": f"ftd-{2 * i + 2}"}
                         for i in range(count // 2)]}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often a template is expanded and a device's endpoints entry is built."""
    counter: Counter[str] = Counter()
    expand, entry = DeviceSpec.expand, Lab.device_endpoints

    def counted_expand(self: DeviceSpec) -> list[DeviceSpec]:
        counter["expand"] += 1
        return expand(self)

    def counted_entry(self: Lab, name: str) -> dict[str, Any]:
        counter["entry"] += 1
        return entry(self, name)

    monkeypatch.setattr(DeviceSpec, "expand", counted_expand)
    monkeypatch.setattr(Lab, "device_endpoints", counted_entry)
    return counter


async def test_a_fleet_expands_its_template_once_and_lists_each_device_once(calls: Counter[str]) -> None:
    async with Lab(fleet(), virtual_time=True, seed=1) as lab:
        assert calls["expand"] == 1             # validating, pairing 150 pairs, building and serving
        assert len(lab.devices) == FLEET and len(lab.pairs) == FLEET // 2
        async with httpx.AsyncClient(base_url=lab.control.url, timeout=30) as client:
            for path in ("/api/devices", "/api/lab"):
                calls.clear()
                r = await client.get(path)
                assert r.status_code == 200
                listed = r.json()["items" if path == "/api/devices" else "devices"]
                assert len(listed) == FLEET and listed[-1]["ha"]["role"] == "secondary"
                assert calls == {"entry": FLEET}       # one entry per device, nothing re-expanded
        calls.clear()
        assert len(lab.endpoints()["pairs"]) == FLEET // 2 and calls == {"entry": FLEET}
