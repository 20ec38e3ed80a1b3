"""The FXOS chassis' vendor facts (facts.yaml): chassis models, which FTD
trains each FXOS runs, bundle and image store sizes, timings, the platform
bundle install's phases, the chassis' own words, download errors, faults and
the REST API's errors. Sources and confidence: docs/fidelity/fxos.md."""

from __future__ import annotations

from typing import Any

from simulator.facts import Facts, load
from simulator.kinds.fxos.bundles import FxosVersion


class ChassisModel(Facts):
    description: str
    pid: str
    module_pid: str
    slots: int
    ftd_model: str | None
    speed: float
    supervisor: str          # the supervisor's platform as ROMMON names it
    memory_mb: int


class DownloadError(Facts):
    code: str
    text: str


class ComponentName(Facts):
    """A line group of `show firmware monitor` and its REST object's rn."""

    name: str
    rn: str


class Phase(Facts):
    """One phase of the platform bundle install (machine.py draws their order)."""

    upgrades: str | None = None      # the component role it upgrades (components:)
    firmware: bool = False           # it installs the firmware
    timing: str | None = None        # its duration (timings:)
    progress: int                    # the REST FSM's progress (%) meanwhile


class Fault(Facts):
    code: str
    severity: str
    text: str


class ApiError(Facts):
    status: int
    code: str
    text: str
    nr: str


class FxosData(Facts):
    models: dict[str, ChassisModel]
    runs_ftd: dict[str, list[str]]
    firmware_from: str
    firmware_version: str
    old_firmware_version: str
    bundle_size_kb: int
    image_store_kb: int
    download_rate_kbps: int
    download_tick: float
    unreachable_after: float
    timings: dict[str, float]
    components: dict[str, ComponentName]
    install_phases: dict[str, Phase]
    texts: dict[str, str]
    download_errors: dict[str, DownloadError]
    faults: dict[str, Fault]
    rest_sessions_per_user: int
    api_errors: dict[str, ApiError]

    def supported_trains(self, fxos: str) -> list[str]:
        """FTD trains an FXOS version runs (its own train's row, else the nearest older one)."""
        v = FxosVersion.parse(fxos)
        rows = sorted(((FxosVersion.parse(k), k) for k in self.runs_ftd), reverse=True)
        for row, key in rows:
            if (row.major, row.minor) <= (v.major, v.minor):
                return self.runs_ftd[key]
        return []


def fxos_data() -> FxosData:
    return load(FxosData, "kinds/fxos/facts.yaml")


def say(key: str, **values: Any) -> str:
    """One of the chassis' texts, filled in."""
    return fxos_data().texts[key].format(**values)
