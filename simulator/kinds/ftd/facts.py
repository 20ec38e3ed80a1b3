"""The FTD's vendor facts (facts.yaml): models, release trains, upgrade paths,
package sizes, timings, upgrade stages and the device's texts."""

from __future__ import annotations

from simulator.facts import Facts, load


class FtdModel(Facts):
    description: str
    type_id: int
    platform: str
    os: str
    asa_hardware: str
    disk_mb: int
    disk_used_mb: int | None = None
    speed: float
    logical_device: bool = False
    virtual: bool = False           # a VM: no BMC of its own (surfaces/bmc)
    last_train: str | None = None


class Train(Facts):
    fxos: str
    asa: str
    lsp: str
    vdb: str
    fdm_api: str


class OsRelease(Facts):
    fx_os: str | None = None        # "2.14.1 (build 131)"
    fire_linux: str | None = None   # "6.4.0 (build 2)"
    copyright: int | None = None


class Stage(Facts):
    name: str
    script: str
    message: str
    seconds: float
    percent: int


class FtdData(Facts):
    models: dict[str, FtdModel]
    base_disk_used_mb: int
    disk_needed_factor: float
    trains: dict[str, Train]
    os_releases: dict[str, OsRelease]
    upgrade_paths: dict[str, list[str]]
    blocked_targets: list[str]
    package_size_mb: dict[str, int]
    revert_snapshot_mb: int
    deployments_kept: int
    readiness_scripts: int
    fdm_tokens: dict[str, int]
    timings: dict[str, float]
    upgrade_stages: dict[str, list[Stage]]
    early_stages: list[str]
    rollback_stages: list[Stage]
    revert_stages: list[Stage]
    texts: dict[str, dict[str, str]]

    def train_of(self, numbers: str) -> str:
        """Key of the trains/upgrade_paths tables for a version (`6.2.3` is its own row)."""
        return "6.2.3" if numbers.startswith("6.2.3") else ".".join(numbers.split(".")[:2])


    def os_release(self, numbers: str) -> OsRelease:
        """The banner's OS facts of an FTD release (`7.4.1`, or `7.4.1.1`: its release's), else its train's."""
        release = ".".join(numbers.split(".")[:3])
        return self.os_releases.get(release) or self.os_releases.get(self.train_of(numbers)) or OsRelease()


def ftd() -> FtdData:
    return load(FtdData, "kinds/ftd/facts.yaml")
