"""SPS vendor facts (facts.yaml): models, the upgrade policy, timings, API limits, texts;
and SPS version numbers (`7.5.1`, LTS `7.0.2.1`)."""

from __future__ import annotations

from functools import total_ordering
from typing import Any

from simulator.facts import Facts, load


class SpsModel(Facts):
    description: str
    storage_mb: int
    virtual: bool


class ApiFacts(Facts):
    session_idle: float
    sessions_max: int
    upload_max: int
    login_methods: list[str]
    transaction_seconds: int
    x_token_since: str


class SpsData(Facts):
    models: dict[str, SpsModel]
    upgrade_paths: dict[str, list[str]]
    firmware_paths: dict[str, list[str]]
    slots: int
    firmware_mb: int
    timings: dict[str, float]
    api: ApiFacts
    texts: dict[str, str]
    firmware_texts: dict[str, str]
    no_web_upgrade_log: list[str]
    health: dict[str, Any]


def sps() -> SpsData:
    return load(SpsData, "kinds/sps/facts.yaml")


def text(key: str, **values: object) -> str:
    return sps().texts[key].format(**values)


@total_ordering
class SpsVersion:
    """A release number: two to four dot-separated numbers; X.0[.n...] is LTS."""

    def __init__(self, numbers: tuple[int, ...]) -> None:
        self.numbers = numbers

    @classmethod
    def parse(cls, value: str) -> SpsVersion:
        raw = str(value).strip()
        if raw.upper().endswith(" LTS"):
            raw = raw[:-4]
        parts = raw.split(".")
        if not 2 <= len(parts) <= 4 or not all(p.isdigit() and len(p) <= 4 for p in parts):
            raise ValueError(f"not an SPS version: {value!r} (expected e.g. 7.5.1 or 7.0.2.1)")
        return cls(tuple(int(p) for p in parts))

    @property
    def train(self) -> str:
        return f"{self.numbers[0]}.{self.numbers[1]}"

    @property
    def lts(self) -> bool:
        return self.numbers[1] == 0

    @property
    def label(self) -> str:
        """As the vendor writes it: `7.0.2.1 LTS`, `7.5.1`."""
        return f"{self}{' LTS' if self.lts else ''}"

    def __str__(self) -> str:
        return ".".join(map(str, self.numbers))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SpsVersion) and self.numbers == other.numbers

    def __lt__(self, other: SpsVersion) -> bool:
        return self.numbers < other.numbers

    def __hash__(self) -> int:
        return hash(self.numbers)
