"""The ASA's vendor facts (facts.yaml): hardware models, release trains, image
file names, timings, failover defaults and the device's texts."""

from __future__ import annotations

from typing import Any, Literal

from simulator.facts import Facts, load


class SmartLicense(Facts):
    entitlement: str        # `Active entitlement: ASAv-STD-2G, enforce mode: Authorized`
    throughput: str         # `Firewall throughput limited to 2 Gbps`


class AsaModel(Facts):
    hardware: str
    model_id: str | None
    slot_model: str
    hw_rev: str
    storage: str | None
    bios: str | None
    families: list[str]
    first_train: str
    last_train: str
    disk_mb: int
    monitored_max: int
    serial_prefix: str
    ssp: str | None
    license: str | None = None            # `This platform has a ... license.` (activation-key units)
    smart: SmartLicense | None = None     # licensed by Smart Licensing (ASAv) instead
    failover_interface: str
    interfaces: list[str]
    data_interfaces: dict[str, str]
    boot: float


class ImageFamily(Facts):
    pattern: str        # a file name of the family (matched without case); group `v` holds the version
    name: str           # the vendor's file name of a version: {dashed} 9-20-2, {dotted} 9.20.2


class Timings(Facts):
    shutdown: float
    rommon: float
    copy_rate_mbps: float


class Addresses(Facts):
    failover: tuple[str, str]
    outside: tuple[str, str]
    inside: tuple[str, str]
    management: tuple[str, str]


class Failover(Facts):
    unit_poll: int              # timers `show failover` prints
    unit_hold: int
    interface_poll: int
    interface_hold: int
    negotiation: float
    cold_standby: float
    sync_config: float
    sync_file_system: float
    bulk_sync: float
    vpn_update_interval: float
    link_name: str
    state_link_name: str
    addresses: Addresses
    auto_failover_mixed: Literal["compatible", "never"]


class AsaData(Facts):
    models: dict[str, AsaModel]
    trains: dict[int, list[str]]
    images: dict[str, ImageFamily]
    compiled: dict[str, str]
    timings: Timings
    failover: Failover
    texts: dict[str, Any]

    def train_index(self, train: str) -> tuple[int, int] | None:
        major = int(train.split(".")[0])
        trains = self.trains.get(major, [])
        return (major, trains.index(train)) if train in trains else None


def asa_data() -> AsaData:
    return load(AsaData, "kinds/asa/facts.yaml")


def say(*path: str, **values: Any) -> str:
    """A text of facts.yaml `texts` (e.g. say("refuse", "not_active")), formatted."""
    node: Any = asa_data().texts
    for key in path:
        node = node[key]
    return str(node).format(**values)
