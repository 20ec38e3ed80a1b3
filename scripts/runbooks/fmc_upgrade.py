#!/usr/bin/env python3
"""Upgrade a Management Center (FMC) and the threat defense devices it manages
in seed 001's order: the FMC first (its readiness check is mandatory, then the
install from its root shell), then the HA pairs (the FMC upgrades a pair
given by its primary standby first), then the standalone devices. Before each
device it deploys pending configuration changes (seed 001: "Before device
upgrade, deploy configuration changes"), runs the readiness check, then the
upgrade, all as FMC tasks polled to COMPLETED or FAILED. A device or pair that
fails is reported and the next one goes on; the summary says what each ran
before and after and, per pair with a traffic probe, the probes lost.

    python scripts/runbooks/fmc_upgrade.py --url https://fmc --password ... --ssh fmc:22 \\
        --fmc-package Cisco_Secure_FW_Mgmt_Center_Upgrade-7.6.1-91.sh.REL.tar --target 7.6.1"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fmc_client import PLATFORM, Fmc, FmcError, sftp_put, ssh_install  # noqa: E402
from ftd_ha_upgrade import read_probe  # noqa: E402

console = Console()


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the FMC's HTTPS URL")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--ca", help="CA file to verify the FMC's certificate (default: no verification)")
    parser.add_argument("--ssh", help="host:port of the FMC's SSH (for --upload and --fmc-package)")
    parser.add_argument("--upload", action="append", type=Path, default=[],
                        help="an upgrade package to copy into the FMC's /var/sf/updates first")
    parser.add_argument("--fmc-package", help="the FMC's own upgrade package (on the FMC) to install first")
    parser.add_argument("--target", required=True, help="the devices' target release, e.g. 7.6.1")
    parser.add_argument("--pair", action="append", default=[], help="only these HA pairs (default: all)")
    parser.add_argument("--device", action="append", default=[], help="only these standalone devices (default: all)")
    parser.add_argument("--probe", action="append", default=[], help="PAIR=host:port of the pair's traffic probe")
    parser.add_argument("--no-auto-cancel", action="store_true", help="leave a failed upgrade for retry/cancel")
    parser.add_argument("--poll", type=float, default=10.0, help="seconds between task polls (default 10)")
    args = parser.parse_args()
    if (args.upload or args.fmc_package) and not args.ssh:
        parser.error("--upload and --fmc-package need --ssh host:port")
    return args


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in version.split(".")[:3])


def run_task(fmc: Fmc, answer: dict, label: str, poll: float) -> dict:
    """Poll a task to its end with a progress bar over its per-device subtasks."""
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task(label, total=None)

        def show(status: dict) -> None:
            subs = status.get("subTasks") or [{"status": status["status"], "target": {"name": ""}, "message": ""}]
            done = sum(s["status"] in ("COMPLETED", "FAILED") for s in subs)
            running = next((f"{s['target']['name']}: {s['message']}" for s in subs if s["status"] == "RUNNING"), "")
            progress.update(bar, total=len(subs), completed=done,
                            description=f"{label}: {status['status']} {running}"[:90])

        return fmc.task(answer["metadata"]["task"]["id"], poll, show)


def upgrade_fmc(fmc: Fmc, args: argparse.Namespace) -> dict:
    """Seed 001: the FMC first; its readiness check is mandatory."""
    before = fmc.server_version()
    package = next((p for p in fmc.items(f"{PLATFORM}/updates/upgradepackages") if p["name"] == args.fmc_package),
                   None)
    if package is None:
        raise FmcError(f"{args.fmc_package} is not on the management center")
    me = fmc.items(f"{PLATFORM}/updates/upgradepackages/{package['id']}/applicabledevices")
    if not me:
        return {"target": "management center", "before": before, "after": before, "state": "SKIPPED", "wall": 0.0}
    started = time.monotonic()
    console.rule(f"management center: readiness check of {package['name']}")
    body = {"upgradePackage": {"id": package["id"], "type": "UpgradePackage"}, "readinessCheckOnly": True,
            "targets": [{"id": me[0]["id"], "type": "Device", "name": me[0]["name"]}]}
    ready = run_task(fmc, fmc.call("POST", f"{PLATFORM}/updates/upgrades", json=body), "readiness", args.poll)
    if ready["status"] != "COMPLETED":
        raise FmcError(f"management center readiness check failed: {ready['message']}")
    console.print(f"readiness check passed; installing {package['name']} from the root shell")
    host, port = args.ssh.rsplit(":", 1)
    said = ssh_install(host, int(port), args.username, args.password, package["name"]).strip().splitlines()
    console.print("\n".join(line for line in said[1:] if not line.startswith("root@")))
    with console.status("management center upgrading") as status:
        after = fmc.wait_for_version(before, args.poll, lambda note: status.update(f"management center: {note}"))
    console.print(f"[green]management center: now running {after}[/]")
    return {"target": "management center", "before": before, "after": after, "state": "COMPLETED",
            "wall": time.monotonic() - started}


def plan(fmc: Fmc, args: argparse.Namespace) -> list[tuple[str, str, list[str]]]:
    """(name, id the FMC upgrades by, unit names): the HA pairs (by primary), then standalone devices."""
    pairs = [p for p in fmc.items(f"{fmc.config}/devicehapairs/ftddevicehapairs") if not args.pair
             or p["name"] in args.pair]
    in_pairs = {u["name"] for p in fmc.items(f"{fmc.config}/devicehapairs/ftddevicehapairs")
                for u in (p["primary"], p["secondary"])}
    devices = [d for d in fmc.items(f"{fmc.config}/devices/devicerecords")
               if d["name"] not in in_pairs and (not args.device or d["name"] in args.device)]
    if args.pair and not args.device:
        devices = []
    if args.device and not args.pair:
        pairs = []
    return ([(p["name"], p["primary"]["id"], [p["primary"]["name"], p["secondary"]["name"]]) for p in pairs]
            + [(d["name"], d["id"], [d["name"]]) for d in devices])


def package_for(fmc: Fmc, target: str, device_id: str) -> dict | None:
    for package in fmc.items(f"{PLATFORM}/updates/upgradepackages"):
        if f"-{target}-" in package["name"] and any(
                d["id"] == device_id for d in fmc.items(f"{PLATFORM}/updates/upgradepackages/{package['id']}"
                                                        "/applicabledevices")):
            return package
    return None


def versions(fmc: Fmc, units: list[str]) -> str:
    found = {d["name"]: d["sw_version"] for d in fmc.items(f"{fmc.config}/devices/devicerecords")}
    return ", ".join(sorted({found.get(u, "?") for u in units}))


def deploy_first(fmc: Fmc, name: str, args: argparse.Namespace) -> None:
    pending = [d for d in fmc.items(f"{fmc.config}/deployment/deployabledevices") if d["name"] == name]
    if not pending:
        return
    console.print(f"{name}: deploying pending configuration changes first")
    body = {"type": "DeploymentRequest", "version": pending[0]["version"], "forceDeploy": False,
            "ignoreWarning": True, "deviceList": [pending[0]["device"]["id"]]}
    done = run_task(fmc, fmc.call("POST", f"{fmc.config}/deployment/deploymentrequests", json=body), "deploy",
                    args.poll)
    if done["status"] != "COMPLETED":
        raise FmcError(f"deployment failed: {done['message']}")


def upgrade_target(fmc: Fmc, name: str, target_id: str, units: list[str], args: argparse.Namespace,
                   probes: dict[str, str]) -> dict:
    started, before = time.monotonic(), versions(fmc, units)
    console.rule(f"{name} ({', '.join(units)}): running {before}")
    traffic = read_probe(probes.get(name))
    result = {"target": name, "before": before, "after": before, "state": "FAILED", "wall": 0.0, "traffic": None}
    try:
        package = package_for(fmc, args.target, target_id)
        if package is None:
            raise FmcError(f"no upgrade package for {args.target} applies to {name}")
        deploy_first(fmc, name, args)
        body = {"upgradePackage": {"id": package["id"], "type": "UpgradePackage"},
                "targets": [{"id": target_id, "type": "Device", "name": units[0]}], "readinessCheckOnly": True,
                "enableUpgradeRevert": True, "autoUpgradeCancel": not args.no_auto_cancel}
        ready = run_task(fmc, fmc.call("POST", f"{PLATFORM}/updates/upgrades", json=body), "readiness", args.poll)
        if ready["status"] != "COMPLETED":
            raise FmcError(ready["message"])
        console.print(f"readiness check passed; upgrading with {package['name']}")
        done = run_task(fmc, fmc.call("POST", f"{PLATFORM}/updates/upgrades",
                                      json={**body, "readinessCheckOnly": False}), "upgrade", args.poll)
        result["state"] = done["status"]
        if done["status"] != "COMPLETED":
            raise FmcError(done["message"])
    except FmcError as exc:
        console.print(f"[red]{name}: {exc}[/]")
        result["detail"] = str(exc)
    result["after"], result["wall"] = versions(fmc, units), time.monotonic() - started
    after = read_probe(probes.get(name))
    if traffic and after and traffic.get("lost_probes") is not None and after.get("lost_probes") is not None:
        result["traffic"] = after["lost_probes"] - traffic["lost_probes"]
    colour = "green" if result["state"] == "COMPLETED" else "red"
    console.print(f"[{colour}]{name}: upgrade {result['state']}[/] - now running {result['after']}")
    return result


def summary(results: list[dict], wall: float) -> Table:
    table = Table(title=f"FMC-managed upgrade: {wall:.1f} s wall time")
    for column in ("target", "before", "after", "result", "wall time", "probes lost"):
        table.add_column(column)
    for r in results:
        lost = "-" if r.get("traffic") is None else str(r["traffic"])
        table.add_row(r["target"], r["before"], r["after"], r["state"], f"{r['wall']:.1f} s", lost)
    return table


def main() -> int:
    args = arguments()
    started = time.monotonic()
    fmc = Fmc(args.url, args.username, args.password, verify=args.ca or False)
    probes = dict(p.split("=", 1) for p in args.probe)
    results: list[dict] = []
    try:
        fmc.login()
        console.print(f"management center {args.url}: running {fmc.server_version()}")
        if args.upload:
            host, port = args.ssh.rsplit(":", 1)
            for path in args.upload:
                console.print(f"copying {path.name} to /var/sf/updates")
                sftp_put(host, int(port), args.username, args.password, path)
        if args.fmc_package:
            results.append(upgrade_fmc(fmc, args))
        if _release(args.target) > _release(fmc.server_version()):
            raise FmcError(f"the management center runs {fmc.server_version()}: upgrade it first (seed 001, "
                           "a device cannot go past the management center)")
        for name, target_id, units in plan(fmc, args):
            results.append(upgrade_target(fmc, name, target_id, units, args, probes))
    except FmcError as exc:
        console.print(f"[red]upgrade stopped:[/red] {exc}")
        return 1
    finally:
        console.print(summary(results, time.monotonic() - started))
        fmc.close()
    return 0 if all(r["state"] in ("COMPLETED", "SKIPPED") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
