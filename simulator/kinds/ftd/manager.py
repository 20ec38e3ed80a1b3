"""The manager an FTD is registered to (`configure manager add`, a profile's
`managed_by`): a Management Center of the lab, by its name or address. While
an FTD has one, its Device Manager (FDM) is off."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Manager:
    host: str                        # the FMC's name or address, as `configure manager add` was given it
    reg_key: str = ""
    nat_id: str | None = None
    display_name: str | None = None
    registered: bool = False         # the FMC added the device (registration task completed)
    identifier: str | None = None    # the FMC's UUID, once registered
    version: str | None = None       # the FMC's version text, once registered

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Manager | None:
        return cls(**data) if data else None
