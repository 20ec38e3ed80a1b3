"""The BMC's facts (bmc.yaml): IPMI session limits and codes, Redfish enums and messages."""

from __future__ import annotations

from simulator.facts import Facts, load


class Codes(Facts):
    refused: int
    not_supported: int


class Ipmi(Facts):
    sessions: int
    session_idle: float
    sol_buffer: int
    sol_retry: float
    sol_retries: int
    codes: Codes


class Power(Facts):
    powering_on: float


class Redfish(Facts):
    reset_types: dict[str, str]
    boot_targets: dict[str, str]
    system_type: str
    session_idle: float
    sessions: int
    messages: dict[str, str]


class BmcFacts(Facts):
    ipmi: Ipmi
    power: Power
    redfish: Redfish


def bmc() -> BmcFacts:
    return load(BmcFacts, "surfaces/bmc/bmc.yaml")
