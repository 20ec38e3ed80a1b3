"""The FDM upgrade of one unit, step by step, with rich progress: shared by
the standalone and HA runbooks."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from fdm_client import Fdm, FdmError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("package", type=Path, help="the upgrade package (.sh.REL.tar)")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument("--ca", help="CA file to verify the device certificate (default: no verification)")
    parser.add_argument("--no-auto-cancel", action="store_true",
                        help="leave a failed upgrade for retry/cancel instead of rolling back")
    parser.add_argument("--poll", type=float, default=10.0, help="seconds between status polls (default 10)")


@contextmanager
def logged_in(units: dict[str, Fdm]) -> Iterator[None]:
    """Every unit logged in for the steps; their sessions closed whatever happens."""
    try:
        for fdm in units.values():
            fdm.login()
        yield
    finally:
        for fdm in units.values():
            fdm.close()


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def upgrade_unit(console: Console, fdm: Fdm, package: Path, auto_cancel: bool, poll: float, label: str) -> dict:
    """Seed 000: pending changes, upload, readiness check, Upgrade Now, monitor, verify."""
    before = fdm.system_version()
    console.print(f"[bold]{label}[/bold]: running {before}")
    pending = fdm.call("GET", "/operational/pendingchanges")["items"]
    if pending:
        raise FdmError(f"{len(pending)} pending change(s): deploy or discard them before upgrading")
    console.print(f"uploading {package.name} ({package.stat().st_size} bytes)")
    upgrade_file = fdm.upload(package)
    console.print(f"upgrade file {upgrade_file['updateVersion']} ({upgrade_file['upgradeType']}) accepted")
    fdm.call("POST", "/action/upgradereadinesscheck",
             json={"upgradeFile": {"id": upgrade_file["id"], "type": "upgradefile"}, "type": "upgradereadinesscheck"})
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("readiness check", total=100)
        check = fdm.poll("/operational/upgradereadinesscheckstatus/default", lambda s: s["state"] != "IN_PROGRESS",
                         poll, lambda s, _: s and progress.update(task, completed=s["progressPercent"]))
        progress.update(task, completed=100)
    if check["state"] != "SUCCESS":
        raise FdmError(f"readiness check failed: {check['message']}")
    console.print("readiness check passed; starting the upgrade "
                  f"({'automatic cancel on failure' if auto_cancel else 'no automatic cancel'})")
    fdm.call("POST", "/action/upgrade", params={"cancelOnFailure": str(auto_cancel).lower()})
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("upgrade", total=100)

        def show(status: dict | None, note: str) -> None:
            if status is None:
                progress.update(task, description=f"upgrade: {note}")
            else:
                progress.update(task, completed=status["progressPercent"],
                                description=f"upgrade: {(status['message'] or '')[:60]}")

        final = fdm.poll("/operational/upgradestatus",
                         lambda s: s["state"] in ("COMPLETED", "FAILED", "CANCELLED"), poll, show)
    after = fdm.system_version()
    outcome = "[green]" if final["state"] == "COMPLETED" else "[red]"
    console.print(f"{outcome}{label}: upgrade {final['state']}[/] - now running {after}"
                  + (f" ({final['detailedFailure']})" if final.get("detailedFailure") else ""))
    return {"unit": label, "before": before, "after": after, "state": final["state"],
            "simulated_s": _seconds(final.get("startTime"), final.get("endTime"))}


def summary_table(title: str, results: list[dict], wall_s: float, traffic: dict | None = None) -> Table:
    table = Table(title=f"{title}: {wall_s:.1f} s wall time")
    for column in ("unit", "before", "after", "result", "device time"):
        table.add_column(column)
    for r in results:
        took = f"{r['simulated_s'] / 60:.1f} min" if r["simulated_s"] is not None else "-"
        table.add_row(r["unit"], r["before"], r["after"], r["state"], took)
    if traffic is not None:
        table.caption = (f"traffic: {traffic['lost_probes']} probes lost "
                         f"({traffic['lost_seconds']:.0f} s without traffic)")
    return table
