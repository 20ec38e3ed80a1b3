"""The wall message open terminal sessions of an FTD see as it goes down: the
operator's `reboot` says so in the real box's words, other reboots in
shutdown's (texts in ssh.yaml)."""

from __future__ import annotations

import time
from itertools import islice

from simulator.facts import read_yaml
from simulator.kinds.ftd.model import FtdDevice

RECENT = 500        # journal events looked back through for the reboot's cause (it was emitted just now)


def _asctime(seconds: float) -> str:
    return time.asctime(time.gmtime(seconds))


def reboot_broadcast(device: FtdDevice) -> str:
    texts = read_yaml("ssh.yaml", __package__)["reboot_broadcast"]
    now = device.ctx.clock.now()
    return texts[_cause(device)].format(user=device.username, hostname=device.hostname,
                                        date=_asctime(now), later=_asctime(now + 1))


def _cause(device: FtdDevice) -> str:
    """Why the device goes down: its latest `reboot` event (emitted as the reboot starts)."""
    for event in islice(reversed(device.ctx.journal.events), RECENT):
        if event["device"] == device.name and event["kind"] == "reboot":
            return "operator" if event.get("cause") == "operator" else "system"
    return "system"
