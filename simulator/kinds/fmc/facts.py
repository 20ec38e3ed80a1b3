"""The FMC's vendor facts (facts.yaml): models, releases, timings, API limits, texts."""

from __future__ import annotations

from simulator.facts import Facts, load


class FmcModel(Facts):
    platform: str
    model_number: str
    max_devices: int


class Release(Facts):
    vdb: str
    sru: str
    lsp: str
    geo: str


class ApiFacts(Facts):
    global_domain: str
    token_lifetime: float
    max_refreshes: int
    rate_limit: int
    rate_window: float
    max_connections: int
    payload_max: int
    page_default: int
    page_max: int
    task_id_base: int
    sessions_max: int


class HealthFacts(Facts):
    time_offset_max: float
    fault_test: str               # the test a `health` fault without a message fails


class CopyFacts(Facts):
    fallback_from: str            # the FMC release that brings device internet and fallback copies
    internet_device_from: str     # the device release that may download from the internet


class ReleasedAfter(Facts):
    date: str
    trains: dict[str, list[str]]      # current train -> releases (A.B.C) released before the target


class FmcData(Facts):
    models: dict[str, FmcModel]
    releases: dict[str, Release]
    timings: dict[str, float]
    api: ApiFacts
    texts: dict[str, str]
    upgrade_paths: dict[str, list[str]]
    released_after: dict[str, ReleasedAfter]
    health: HealthFacts
    package_copy: CopyFacts


def fmc() -> FmcData:
    return load(FmcData, "kinds/fmc/facts.yaml")


def text(key: str, **values: object) -> str:
    return fmc().texts[key].format(**values)
