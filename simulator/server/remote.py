"""A client of a lab server (`simulator serve`), and a handle on one of its
labs with the parts of `Lab` a test reaches for: its endpoints, devices
(state, version, reboot, power), HA pairs (the active unit), faults, clock
and journal, each read or done through the lab's control API at the moment
it is used. Standard library only (urllib, through ControlClient)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import yaml

from simulator.control.client import ControlClient

EVENT_PAGE = 1000       # the control API's largest event page


def profile_text(profile: str | Path | dict[str, Any]) -> str:
    """What `POST /labs` takes for a profile: a bundled name as is, a file's or a dict's YAML text."""
    if isinstance(profile, dict):
        return yaml.safe_dump(profile, sort_keys=False)
    path = Path(profile)
    if isinstance(profile, Path) or path.suffix in (".yaml", ".yml") or path.is_file():
        return path.read_text(encoding="utf-8")
    return str(profile)


class LabServerClient:
    def __init__(self, url: str, token: str | None = None) -> None:
        self.url, self.token = url.rstrip("/"), token
        self.client = ControlClient(self.url, token, timeout=120)

    def create(self, profile: str | Path | dict[str, Any], **options: Any) -> RemoteLab:
        """A new lab (options: seed, virtual_time, time_scale, name, ttl)."""
        body = {"profile": profile_text(profile), **{k: v for k, v in options.items() if v is not None}}
        return RemoteLab(self.client.call("POST", "/labs", body), self.token)

    def delete(self, lab_id: str, keep_state: bool = False) -> dict[str, Any]:
        return self.client.call("DELETE", f"/labs/{lab_id}?keep_state={str(keep_state).lower()}")

    def labs(self) -> list[dict[str, Any]]:
        return self.client.call("GET", "/labs")["items"]


class RemoteLab:
    """One lab of a server (the pytest plugin's labs with `--simulator-url`)."""

    def __init__(self, entry: dict[str, Any], token: str | None = None) -> None:
        self.id: str = entry["id"]
        self.name: str = entry["name"]
        self.control_url: str = entry["control_url"]
        self.state_dir = Path(entry["state_dir"])       # on the server's machine
        self.control = ControlClient(self.control_url, token)
        self._endpoints: dict[str, Any] = entry["endpoints"]
        self.devices = {d["name"]: RemoteDevice(self, d["name"]) for d in self._endpoints["devices"]}
        self.pairs = RemotePairs(self, [p["name"] for p in self._endpoints.get("pairs", [])])
        self.journal = RemoteJournal(self.control)
        self.clock = RemoteClock(self.control)

    def endpoints(self) -> dict[str, Any]:
        """The endpoints document now (states and HA roles change), its control URL the server's."""
        endpoints = self.control.call("GET", "/api/endpoints")
        endpoints["control"] = {"url": self.control_url}
        return endpoints

    def endpoint(self, device: str) -> dict[str, Any]:
        return next(d for d in self.endpoints()["devices"] if d["name"] == device)

    def device(self, name: str) -> RemoteDevice:
        try:
            return self.devices[name]
        except KeyError:
            raise KeyError(f"no device {name!r} in lab {self.name}") from None

    def power(self, name: str, action: str) -> dict[str, Any]:
        return self.control.call("POST", self.device(name).path + "/power", {"action": action})

    def reimage(self, name: str, version: str | None = None) -> dict[str, Any]:
        return self.control.call("POST", self.device(name).path + "/reimage", {"version": version} if version else {})

    def set_link(self, pair: str, up: bool) -> dict[str, Any]:
        return self.control.call("POST", f"/api/pairs/{quote(pair, safe='')}/link", {"up": up})

    def add_fault(self, point: str, action: str, device: str | None = None, **options: Any) -> dict[str, Any]:
        body = {"point": point, "action": action, **({"device": device} if device else {}), **options}
        return self.control.call("POST", "/api/faults", body)

    def remove_fault(self, fault_id: int) -> dict[str, Any]:
        return self.control.call("DELETE", f"/api/faults/{fault_id}")

    def snapshot(self, name: str | None = None) -> dict[str, Any]:
        """Take a snapshot (its entry: `id`, `name`, ...), as `Lab.snapshot`."""
        return self.control.call("POST", "/api/snapshots", {"name": name} if name else {})

    def restore(self, snapshot_id: str) -> dict[str, Any]:
        return self.control.call("POST", f"/api/snapshots/{quote(snapshot_id, safe='')}/restore")

    def snapshots(self) -> list[dict[str, Any]]:
        return self.control.call("GET", "/api/snapshots")["items"]


class RemoteDevice:
    def __init__(self, lab: RemoteLab, name: str) -> None:
        self.lab, self.name = lab, name
        self.path = f"/api/devices/{quote(name, safe='')}"

    def entry(self) -> dict[str, Any]:
        """The device as the control API shows it (`GET /api/devices/{name}`)."""
        return self.lab.control.call("GET", self.path)

    @property
    def state(self) -> str:
        return self.entry()["state"]

    @property
    def version(self) -> str:
        return self.entry()["version"]

    def reboot(self) -> None:
        self.lab.control.call("POST", self.path + "/reboot")

    def power_off(self) -> None:
        self.lab.power(self.name, "off")

    def power_on(self) -> None:
        self.lab.power(self.name, "on")

    def reimage(self, version: str | None = None) -> None:
        self.lab.reimage(self.name, version)


class RemotePairs(Mapping[str, "RemotePair"]):
    def __init__(self, lab: RemoteLab, names: list[str]) -> None:
        self._pairs = {name: RemotePair(lab, name) for name in names}

    def __getitem__(self, name: str) -> RemotePair:
        return self._pairs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)


class RemotePair:
    def __init__(self, lab: RemoteLab, name: str) -> None:
        self.lab, self.name = lab, name

    def status(self) -> dict[str, Any]:
        """The pair as `GET /api/pairs` shows it (units, link, traffic)."""
        return next(p for p in self.lab.control.call("GET", "/api/pairs")["items"] if p["name"] == self.name)

    @property
    def active(self) -> str | None:
        return self.status()["active"]


class RemoteJournal:
    def __init__(self, control: ControlClient) -> None:
        self.control = control

    def select(self, device: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """Every event of `device` whose kind starts with `kind`, as `Journal.select`."""
        wanted = {key: value for key, value in (("device", device), ("kind", kind)) if value}
        found: list[dict[str, Any]] = []
        after = 0
        while True:
            page = self.control.call("GET", "/api/events?" + urlencode({"after": after, "limit": EVENT_PAGE, **wanted}))
            found += page["items"]
            if len(page["items"]) < EVENT_PAGE:
                return found
            after = page["next"]

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.select()


class RemoteClock:
    def __init__(self, control: ControlClient) -> None:
        self.control = control

    def now(self) -> float:
        return self.control.call("GET", "/api/clock")["now"]

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.control.call("POST", "/api/clock/advance", {"seconds": seconds})

    def pause(self) -> dict[str, Any]:
        return self.control.call("POST", "/api/clock/pause")

    def resume(self) -> dict[str, Any]:
        return self.control.call("POST", "/api/clock/resume")
