"""The console menu's *Create support bundle* (SPS-ADMIN "Accessing the SPS
console": for when the web UI is down). SPS-ADMIN "Support bundle": a
zip-compressed archive named `debug_info-<hostname>YYYYMMDDHHMM` holding log
files, the configuration (sensitive data removed) and system statistics.
Ours: it is written to root's home (/root), where root fetches it by SCP or
SFTP (sps.md 5.2: the core's root directory is where SCP lands); its members
(bundle.yaml) are RECONSTRUCTED."""

from __future__ import annotations

import json
import os
import time
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.sps.api_ha import ha_view
from simulator.kinds.sps.facts import sps
from simulator.kinds.sps.model import SpsDevice
from simulator.transfer import partial_path

HOME = "/root"


@cache
def _layout() -> dict[str, Any]:
    return dict(read_yaml("bundle.yaml", __package__))


def _members(device: SpsDevice) -> dict[str, str]:
    """What the archive holds, by member name: the console/upgrade log, version, slots, HA, health."""
    names = _layout()["members"]
    slots = {str(slot_id): {"version": slot.version, "current": slot_id == device.current,
                            "after_reboot": slot_id == device.after_reboot}
             for slot_id, slot in sorted(device.slots.items())}
    version = _layout()["version"].format(model=device.model, hostname=device.hostname, serial=device.serial,
                                           label=device.label)
    return {names["log"]: "".join(f"{line}\n" for line in device.log),
            names["version"]: version,
            names["slots"]: json.dumps({"slots": slots, "number_of_slots": sps().slots}, indent=2) + "\n",
            names["ha"]: json.dumps(ha_view(device), indent=2) + "\n",
            names["health"]: json.dumps(device.health(), indent=2) + "\n"}


def bundle_name(device: SpsDevice) -> str:
    """`debug_info-<hostname>YYYYMMDDHHMM` on the lab clock (UTC)."""
    return f"debug_info-{device.hostname}{time.strftime('%Y%m%d%H%M', time.gmtime(device.ctx.clock.now()))}"


def write_bundle(device: SpsDevice, path: Path, top: str) -> None:
    """Write the archive, its members under `top/`, to `path` whole or not at all (a partial
    name until it is complete), dated by the lab clock. The console's bundle and the REST
    API's (api_bundle.py) are this one archive."""
    part = partial_path(path)
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, text in _members(device).items():
            archive.writestr(f"{top}/{member}", text)
    os.replace(part, path)
    now = device.ctx.clock.now()
    os.utime(path, (now, now))             # its age on the lab clock: what `keep_newest` orders by


def keep_newest(paths: list[Path]) -> None:
    """Only the newest `keep` bundles stay: every bundle is bounded, and so is their number."""
    for stale in sorted(paths, key=lambda p: (p.stat().st_mtime_ns, p.name))[:-keep()]:
        stale.unlink(missing_ok=True)


def keep() -> int:
    return int(_layout()["keep"])


def create_bundle(device: SpsDevice, fs_root: Path) -> str:
    """The console's bundle: written into /root; returns its path as root sees it."""
    home = fs_root / HOME.lstrip("/")
    home.mkdir(parents=True, exist_ok=True)
    name = f"{bundle_name(device)}.zip"
    write_bundle(device, home / name, name.removesuffix(".zip"))
    keep_newest(list(home.glob(f"debug_info-{device.hostname}*.zip")))
    return f"{HOME}/{name}"
