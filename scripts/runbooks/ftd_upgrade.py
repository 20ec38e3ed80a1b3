#!/usr/bin/env python3
"""Upgrade a standalone FTD managed by Device Manager, as seed 000 chapter 2
describes: check pending changes, upload the package, run the readiness
check, Upgrade Now (auto-cancel on failure by default), watch until done
(through the reboot), log in again and verify. Talks only to the device's
REST API, so it runs unchanged against a real FTD.

    python scripts/runbooks/ftd_upgrade.py --url https://10.0.0.5 --password ... PACKAGE"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fdm_client import Fdm, FdmError  # noqa: E402
from upgrade_steps import add_device_arguments, summary_table, upgrade_unit  # noqa: E402

console = Console()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_device_arguments(parser)
    parser.add_argument("--url", required=True, help="the device's HTTPS URL")
    args = parser.parse_args()
    started = time.monotonic()
    fdm = Fdm(args.url, args.username, args.password, verify=args.ca or False)
    try:
        fdm.login()
        result = upgrade_unit(console, fdm, args.package, auto_cancel=not args.no_auto_cancel, poll=args.poll,
                              label=args.url)
    except FdmError as exc:
        console.print(f"[red]upgrade failed:[/red] {exc}")
        return 1
    finally:
        fdm.close()
    console.print(summary_table("FTD upgrade", [result], time.monotonic() - started))
    return 0 if result["state"] == "COMPLETED" else 1


if __name__ == "__main__":
    sys.exit(main())
