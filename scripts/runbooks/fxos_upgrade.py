#!/usr/bin/env python3
"""Upgrade the FXOS platform bundle of a Firepower 4100/9300 chassis over its
REST API, following seed 000 chapter 3 (download the bundle, verify it,
install it, watch FPRM, the reboot, the fabric interconnect and the
security modules, then check that every app instance is back Online).
Talks only to the chassis' REST API, so it runs unchanged against a real one.

    python scripts/runbooks/fxos_upgrade.py --url https://chassis --password ... \\
        --bundle-url scp://user@10.0.0.9/images/fxos-k9.2.14.1.131.SPA --bundle-password ..."""

from __future__ import annotations

import argparse
import re
import sys
import time
from urllib.parse import urlsplit

import httpx
from rich.console import Console
from rich.table import Table

console = Console()


class Chassis:
    def __init__(self, url: str, username: str, password: str, verify: bool | str) -> None:
        self.username, self.password = username, password
        self.http = httpx.Client(base_url=url.rstrip("/"), verify=verify, timeout=30)

    def login(self) -> None:
        r = self.http.post("/api/login", headers={"USERNAME": self.username, "PASSWORD": self.password})
        if r.status_code != 200:
            raise SystemExit(f"login failed ({r.status_code}): {r.text[:200]}")
        self.http.headers["TOKEN"] = r.json()["token"]

    def get(self, path: str) -> dict | None:
        """GET through reboots: None while the chassis is down or starting; logs in again when asked."""
        try:
            r = self.http.get(path)
        except httpx.TransportError:
            return None
        if r.status_code == 503:
            return None
        if r.status_code in (400, 401, 403) and r.json().get("error-code") in ("552", "555"):
            try:                        # the token died with a reboot; the chassis may be going down again
                self.login()
            except httpx.TransportError:
                return None
            return self.get(path)
        r.raise_for_status()
        return r.json()

    def send(self, method: str, path: str, body: dict) -> dict:
        r = self.http.request(method, path, json=body)
        if r.status_code != 200:
            raise SystemExit(f"{method} {path}: HTTP {r.status_code}: {r.text[:300]}")
        return r.json()


def bundle_version(filename: str) -> str:
    """fxos-k9.2.14.1.131.SPA -> 2.14(1.131)"""
    m = re.match(r"fxos-k9\.(\d+)\.(\d+)\.(\d+)\.(\d+)\.SPA$", filename)
    if not m:
        raise SystemExit(f"{filename}: not an FXOS platform bundle name (fxos-k9.A.B.C.D.SPA)")
    a, b, c, d = m.groups()
    return f"{a}.{b}({c}.{d})"


def wait(chassis: Chassis, path: str, done, poll: float, what: str, timeout: float = 4 * 3600) -> dict:
    deadline = time.monotonic() + timeout
    with console.status(what) as status:
        while time.monotonic() < deadline:
            body = chassis.get(path)
            if body is None:
                status.update(f"{what} (chassis rebooting or starting)")
            elif done(body):
                return body
            time.sleep(poll)
    raise SystemExit(f"gave up: {what}")


def upgrade_chassis(chassis: Chassis, label: str, bundle_url: str, bundle_password: str | None,
                    poll: float) -> dict:
    """Seed 000 ch. 3 on one chassis: download, verify, install, wait for its modules and apps."""
    source = urlsplit(bundle_url)
    filename = source.path.rsplit("/", 1)[-1]
    target = bundle_version(filename)
    before = chassis.get("/api/sys/firmware/version/mgmt")["firmwareRunning"][0]["packageVersion"]
    console.print(f"{label}: FXOS {before}; target {target}")
    chassis.send("POST", "/api/sys/firmware/dnld/", {"firmwareDownloader": [{
        "protocol": source.scheme, "server": source.hostname, "port": str(source.port or 0),
        "user": source.username or "", "pwd": bundle_password or "", "remotePath": source.path.rsplit("/", 1)[0],
        "dn": f"sys/fw-catalogue/dnld-{filename}"}]})
    task = wait(chassis, f"/api/sys/firmware/dnld/{filename}",
                lambda b: b["firmwareDownloader"][0]["transferState"] != "downloading", poll,
                f"{label}: downloading {filename}")["firmwareDownloader"][0]
    if task["transferState"] != "downloaded":
        raise SystemExit(f"{label}: download failed: {task}")
    check = chassis.get(f"/api/sys/firmware/validate-platform-fw/{target}")["firmwareValidatePlatform"][0]
    if check.get("validationStatus") != "valid":
        raise SystemExit(f"{label}: the chassis refuses {target}: {check}")
    chassis.send("PATCH", "/api/sys/firmware/sched-platform-fw",
                 {"firmwareInfraPack": [{"platformBundleVersion": target}]})
    console.print(f"{label}: install scheduled: FPRM, reboot, fabric interconnect, security modules")
    last = [""]

    def progress(body: dict) -> bool:
        fsm = body["firmwareSystemFsm"][0]
        line = ", ".join(f"{c['name']} {c['upgradeStatus']}" for c in fsm.get("firmwareMonitor", []))
        if line != last[0]:
            console.print(f"  {line}")
            last[0] = line
        return fsm["fsmStatus"] != "in-progress"

    fsm = wait(chassis, "/api/sys/fw-system/fsm", progress, poll, f"{label}: installing")["firmwareSystemFsm"][0]
    if fsm["fsmStatus"] != "success":
        raise SystemExit(f"{label}: install failed: {fsm}")
    slots = wait(chassis, "/api/slot", lambda b: all(s["operState"] == "online" for s in b["smSlot"]), poll,
                 f"{label}: security modules online")["smSlot"]
    apps = wait(chassis, "/api/?classId=smAppInstance",
                lambda b: all(a["operState"] == "online" for a in b["smAppInstance"]), poll,
                f"{label}: app instances online")["smAppInstance"]
    after = chassis.get("/api/sys/firmware/version/mgmt")["firmwareRunning"][0]["packageVersion"]
    return {"chassis": label, "before": before, "after": after, "target": target, "modules": len(slots),
            "apps": ", ".join(f"{a.get('identifier', a.get('dn', '?'))} {a['operState']}" for a in apps)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the chassis' HTTPS URL")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--ca", help="CA file to verify the chassis certificate (default: no verification)")
    parser.add_argument("--bundle-url", required=True, help="scp://, sftp://, http(s):// URL of the bundle")
    parser.add_argument("--bundle-password", help="password for the bundle server")
    parser.add_argument("--poll", type=float, default=15.0)
    args = parser.parse_args()
    started = time.monotonic()
    chassis = Chassis(args.url, args.username, args.password, args.ca or False)
    chassis.login()
    result = upgrade_chassis(chassis, args.url, args.bundle_url, args.bundle_password, args.poll)
    table = Table(title=f"FXOS upgrade: {time.monotonic() - started:.1f} s wall time")
    for column in ("chassis", "before", "after", "modules", "app instances"):
        table.add_column(column)
    table.add_row(result["chassis"], result["before"], result["after"], f"{result['modules']} online", result["apps"])
    console.print(table)
    return 0 if result["after"] == result["target"] else 1


if __name__ == "__main__":
    sys.exit(main())
