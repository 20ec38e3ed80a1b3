"""The only list of the device kinds. Adding a kind is a folder under
simulator/kinds/ with a `kind.py` declaring its `KIND`, and a line here
(docs/adding-a-kind.md)."""

from __future__ import annotations

from simulator.kinds.asa.kind import KIND as ASA
from simulator.kinds.fmc.kind import KIND as FMC
from simulator.kinds.ftd.kind import KIND as FTD
from simulator.kinds.fxos.kind import KIND as FXOS
from simulator.kinds.kind import Kind
from simulator.kinds.sps.kind import KIND as SPS
from simulator.machines import Table

KINDS: dict[str, Kind] = {kind.name: kind for kind in (FTD, FXOS, ASA, FMC, SPS)}
DEFAULT = FTD.name          # a profile entry without `kind:`


def kind_of(device: object) -> Kind:
    return KINDS[device.kind]  # type: ignore[attr-defined]


def machine_tables() -> list[Table]:
    """Every kind's state machines, for docs/machines/ (scripts/machines writes them)."""
    return [table for kind in KINDS.values() for table in kind.machines]
