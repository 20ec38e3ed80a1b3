"""Where an SPS node keeps its firmware images on the lab host
(`opt/firmware/slot<N>/` under its file system), and the kind's worker that
tidies that folder at lab start: the partial uploads and downloads a stop or
a kill -9 left (`.upload-*.part`, `.fetch-*.part`), and the image of a slot
the node does not hold (a kill between the file landing and the model
taking it: the upload was never acknowledged), and root's SFTP/SCP uploads
a kill cut short (/root), and a REST support bundle a kill cut short. `install_file` takes an ISO from the node's own
file system into a slot (the core shell's install command)."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from pathlib import Path

from simulator.kinds.base import Refused
from simulator.kinds.sps.model import SpsDevice
from simulator.kinds.sps.packages import file_upload
from simulator.transfer import PARTIAL, remove_partials

FIRMWARE_DIR = "opt/firmware"
UPLOAD_DIR = "root"          # where root's SCP/SFTP uploads land (sps.md 5.2)
BUNDLE_DIR = "var/lib/support-bundles"   # the REST API's support bundles (api_bundle.py; RECONSTRUCTED)


def firmware_dir(root: Path) -> Path:
    return root / FIRMWARE_DIR


async def install_file(device: SpsDevice, root: Path, source: Path) -> int:
    """An ISO on the node (e.g. copied to /root by SCP) installed as the REST upload installs
    one: copied beside the slots under a partial name, then the same model call and checks
    (free slot, readable, signed); a refused image leaves no trace. Returns the slot."""
    device.free_slot()                          # refuse before copying when nothing can take it
    folder = firmware_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".install-{secrets.token_hex(4)}{PARTIAL}"
    try:
        await asyncio.to_thread(shutil.copyfile, source, partial)
        slot_id = device.free_slot()            # no await from here on: the slot stays free
        _, firmware = file_upload(partial, folder, slot_id)
    finally:
        partial.unlink(missing_ok=True)
    try:
        device.add_firmware(slot_id, firmware)
    except Refused:
        shutil.rmtree(folder / f"slot{slot_id}", ignore_errors=True)
        raise
    return slot_id


class FirmwareFolder:
    """The kind's worker: at lab start the folder holds what the node's slots say, nothing half-written."""

    def __init__(self, device: SpsDevice, root: Path) -> None:
        folder = firmware_dir(root)
        remove_partials(folder)
        remove_partials(root / UPLOAD_DIR)
        remove_partials(root / BUNDLE_DIR)
        if folder.is_dir():
            for path in folder.glob("slot*"):
                if path.is_dir() and path.name[4:].isdigit() and int(path.name[4:]) not in device.slots:
                    shutil.rmtree(path, ignore_errors=True)

    def detach(self) -> None:
        pass

    async def settled(self) -> None:
        pass
