"""A small Management Center (FMC) REST client for runbooks: what an
automation engineer writes against a real FMC (token headers, the Global
domain, paged lists, tasks polled to COMPLETED or FAILED). It logs in again
on a 401 and rides out the 503s and refused connections of the FMC's own
upgrade and reboot. The FMC's own install runs from its root shell over SSH
(there is no REST call for it)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncssh
import httpx

PLATFORM = "/api/fmc_platform/v1"


class FmcError(Exception):
    pass


class Fmc:
    def __init__(self, url: str, username: str, password: str, verify: bool | str = False,
                 timeout: float = 30) -> None:
        self.url, self.username, self.password = url.rstrip("/"), username, password
        self.http = httpx.Client(base_url=self.url, verify=verify, timeout=timeout)
        self.domain = ""

    def close(self) -> None:
        self.http.close()

    def login(self) -> None:
        r = self.http.post(f"{PLATFORM}/auth/generatetoken", auth=(self.username, self.password))
        if r.status_code != 204:
            raise FmcError(f"{self.url}: login failed ({r.status_code}): {r.text[:200]}")
        self.http.headers["X-auth-access-token"] = r.headers["X-auth-access-token"]
        self.domain = r.headers["DOMAIN_UUID"]

    @property
    def config(self) -> str:
        return f"/api/fmc_config/v1/domain/{self.domain}"

    def call(self, method: str, path: str, ok: tuple[int, ...] = (200, 201, 202), **kwargs: Any) -> Any:
        """One API call; a 401 logs in again once, a 429 waits as Retry-After says."""
        for _ in range(5):
            r = self.http.request(method, path, **kwargs)
            if r.status_code == 401:
                self.login()
                r = self.http.request(method, path, **kwargs)
            if r.status_code != 429:
                break
            time.sleep(float(r.headers.get("Retry-After", "1")))
        if r.status_code not in ok:
            try:
                detail = r.json()["error"]["messages"][0]["description"]
            except (ValueError, KeyError, IndexError, TypeError):
                detail = r.text[:300]
            raise FmcError(f"{method} {path}: HTTP {r.status_code}: {detail}")
        return r.json() if r.content else None

    def items(self, path: str) -> list[dict]:
        """Every item of a paged list (expanded), following `paging.next`."""
        found: list[dict] = []
        url: str | None = f"{path}?expanded=true&limit=1000"
        while url:
            body = self.call("GET", url)
            found += body.get("items", [])
            url = (body["paging"].get("next") or [None])[0]
        return found

    def server_version(self) -> str:
        """`7.6.0 (build 113)` → `7.6.0`."""
        return self.call("GET", f"{PLATFORM}/info/serverversion")["items"][0]["serverVersion"].split(" ")[0]

    def task(self, task_id: str, every: float, on_status: Callable[[dict], None],
             timeout: float = 6 * 3600) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.call("GET", f"{self.config}/job/taskstatuses/{task_id}")
            on_status(status)
            if status["status"] in ("COMPLETED", "FAILED"):
                return status
            time.sleep(every)
        raise FmcError(f"task {task_id}: not done within {timeout} s")

    def wait_for_version(self, old: str, every: float, on_note: Callable[[str], None],
                         timeout: float = 4 * 3600) -> str:
        """While the FMC installs and reboots: 503, refused, then a login and a new version."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.login()
                version = self.server_version()
                if version != old:
                    return version
                on_note(f"still {version}")
            except httpx.TransportError:
                on_note("unreachable (rebooting)")
            except FmcError as exc:
                on_note("web server answers 503" if "503" in str(exc) else str(exc)[:80])
            time.sleep(every)
        raise FmcError(f"the management center did not come back within {timeout} s")


def ssh_install(host: str, port: int, username: str, password: str, package: str) -> str:
    """`expert`, `sudo su -`, `install_update.pl /var/sf/updates/PACKAGE`: what the root shell printed."""
    return asyncio.run(_ssh_install(host, port, username, password, package))


async def _ssh_install(host: str, port: int, username: str, password: str, package: str) -> str:
    async with asyncssh.connect(host, port, username=username, password=password, known_hosts=None) as conn:
        proc = await conn.create_process(term_type="vt100")
        seen = ""

        async def until(pattern: str, end_ok: bool = False) -> str:
            nonlocal seen
            while not re.search(pattern, seen):
                chunk = await asyncio.wait_for(proc.stdout.read(4096), 60)
                if not chunk:
                    if end_ok:        # the install took the box down under us
                        break
                    raise FmcError(f"SSH session ended; last output: {seen[-200:]}")
                seen += chunk
            out, seen = seen, ""
            return out

        await until(r"> $")
        for line, prompt in (("expert", r"\$ $"), ("sudo su -", r"Password: $"), (password, r"# $")):
            proc.stdin.write(line + "\n")
            await until(prompt)
        proc.stdin.write(f"install_update.pl /var/sf/updates/{package}\n")
        out = await until(r"# $", end_ok=True)
        proc.close()
        return out


def sftp_put(host: str, port: int, username: str, password: str, path: Path) -> None:
    async def put() -> None:
        async with asyncssh.connect(host, port, username=username, password=password, known_hosts=None) as conn:
            async with conn.start_sftp_client() as sftp:
                await sftp.put(str(path), f"/var/sf/updates/{path.name}")
    asyncio.run(put())
