"""A small Device Manager (FDM) REST client for runbooks: what an automation
engineer writes against a real FTD. It logs in again when a reboot voids its
token and rides out the 503s and refused connections of a reboot."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

API = "/api/fdm/latest"


class FdmError(Exception):
    pass


class Fdm:
    def __init__(self, url: str, username: str, password: str, verify: bool | str = False,
                 timeout: float = 30) -> None:
        self.url, self.username, self.password = url.rstrip("/"), username, password
        self.http = httpx.Client(base_url=self.url + API, verify=verify, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def login(self) -> None:
        r = self.http.post("/fdm/token", json={"grant_type": "password", "username": self.username,
                                               "password": self.password})
        if r.status_code != 200:
            raise FdmError(f"{self.url}: login failed ({r.status_code}): {r.text[:200]}")
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def call(self, method: str, path: str, ok: tuple[int, ...] = (200, 204), **kwargs: Any) -> Any:
        """One API call; a 401 logs in again once."""
        r = self.http.request(method, path, **kwargs)
        if r.status_code == 401:
            self.login()
            r = self.http.request(method, path, **kwargs)
        if r.status_code not in ok:
            try:
                detail = r.json()["error"]["messages"][0]["description"]
            except (ValueError, KeyError, IndexError, TypeError):
                detail = r.text[:300]
            raise FdmError(f"{method} {path}: HTTP {r.status_code}: {detail}")
        return r.json() if r.content else None

    def poll(self, path: str, done: Callable[[dict], bool], every: float,
             on_status: Callable[[dict | None, str], None], timeout: float = 4 * 3600) -> dict:
        """GET `path` until `done`; while the device reboots (503, refused,
        reset), keep trying and report what is seen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status = self.call("GET", path)
                on_status(status, "ok")
                if done(status):
                    return status
            except httpx.TransportError:
                on_status(None, "unreachable (rebooting)")
            except FdmError as exc:
                if "HTTP 503" not in str(exc):
                    raise
                on_status(None, "web server starting (503)")
            time.sleep(every)
        raise FdmError(f"{path}: no result within {timeout} s")

    # -- the pieces of an upgrade -----------------------------------------------------------
    def system_version(self) -> str:
        return self.call("GET", "/operational/systeminfo/default")["softwareVersion"]

    def upload(self, package: Path) -> dict:
        with package.open("rb") as fh:
            self.call("POST", "/action/uploadupgrade", files={"fileToUpload": (package.name, fh)})
        files = self.call("GET", "/managedentity/upgradefiles")["items"]
        return next(f for f in files if f["upgradeFileName"] == package.name)

    def ha_status(self) -> dict:
        return self.call("GET", "/devices/default/operational/ha/status/default")
