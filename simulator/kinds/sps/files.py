"""Where an SPS node keeps its firmware images on the lab host
(`opt/firmware/slot<N>/` under its file system), and the kind's worker that
tidies that folder at lab start: the partial uploads and downloads a stop or
a kill -9 left (`.upload-*.part`, `.fetch-*.part`), and the image of a slot
the node does not hold (a kill between the file landing and the model
taking it: the upload was never acknowledged)."""

from __future__ import annotations

import shutil
from pathlib import Path

from simulator.kinds.sps.model import SpsDevice
from simulator.transfer import remove_partials

FIRMWARE_DIR = "opt/firmware"


def firmware_dir(root: Path) -> Path:
    return root / FIRMWARE_DIR


class FirmwareFolder:
    """The kind's worker: at lab start the folder holds what the node's slots say, nothing half-written."""

    def __init__(self, device: SpsDevice, root: Path) -> None:
        folder = firmware_dir(root)
        remove_partials(folder)
        if folder.is_dir():
            for path in folder.glob("slot*"):
                if path.is_dir() and path.name[4:].isdigit() and int(path.name[4:]) not in device.slots:
                    shutil.rmtree(path, ignore_errors=True)

    def detach(self) -> None:
        pass

    async def settled(self) -> None:
        pass
