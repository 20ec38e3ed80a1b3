"""A small SPS REST client for runbooks: Basic login to a `session_id`
cookie (sps.md 4.2), calls that ride out a node's reboot (refused
connections, 503s) and log in again when the session is gone."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

OURS = "/api/_simulator"       # the simulator's routes for web UI actions that have no public REST call


class SpsError(Exception):
    pass


class Sps:
    def __init__(self, url: str, username: str, password: str, verify: bool | str = False,
                 timeout: float = 30) -> None:
        self.url, self.username, self.password = url.rstrip("/"), username, password
        self.http = httpx.Client(base_url=self.url, verify=verify, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def login(self) -> None:
        r = self.http.get("/api/authentication", auth=(self.username, self.password))
        if r.status_code != 200:
            raise SpsError(f"{self.url}: login failed ({r.status_code}): {r.text[:200]}")

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call; a 401 logs in again once; an SPS error becomes SpsError with its type."""
        r = self.http.request(method, path, **kwargs)
        if r.status_code == 401:
            self.login()
            r = self.http.request(method, path, **kwargs)
        if r.status_code != 200:
            try:
                error = r.json()["error"]
                detail = f"{error['type']}: {error.get('details', {}).get('message', '')}"
            except (ValueError, KeyError, TypeError):
                detail = r.text[:200]
            raise SpsError(f"{method} {path}: {r.status_code} {detail}")
        return r.json()

    def reachable(self) -> bool:
        try:
            self.login()
            return True
        except (httpx.TransportError, SpsError):
            return False

    def poll(self, path: str, done: Callable[[Any], bool], every: float, timeout: float = 3600) -> Any:
        """GET `path` until `done(body)`, riding out a reboot (no answer, 503)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                body = self.call("GET", path)["body"]
                if done(body):
                    return body
            except (httpx.TransportError, SpsError):
                pass
            if time.monotonic() > deadline:
                raise SpsError(f"{self.url}{path}: no result in {timeout:.0f} s")
            time.sleep(every)

    def upload(self, iso: Path) -> dict:
        """safeguard-ps's way: the raw ISO as the body (sps.md 4.5)."""
        with iso.open("rb") as fh:
            return self.call("POST", "/api/upload/firmware", content=fh.read(),
                             headers={"Content-Type": "application/x-iso9660-image"})

    def ha(self) -> dict:
        return self.call("GET", f"{OURS}/high_availability")["body"]
