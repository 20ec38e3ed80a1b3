"""`/api/troubleshooting/support-bundle`, as safeguard-ps's
`Get-SafeguardSpsSupportBundle` drives it (sps.md 4.5): `POST` starts one and
answers its `key`, `GET .../<key>` shows `body.status` until `finished`,
`GET .../<key>/download` gives the archive, `DELETE .../<key>` removes it.
The archive is the console's (bundle.py), made after `timings.support_bundle`
on the lab clock. A bundle being made lives in memory (a reboot loses it); a
finished one is a file `<key>.zip` under the node's BUNDLE_DIR, so it outlasts
a lab restart. The answer codes, the running status and the download headers
are RECONSTRUCTED (docs/fidelity/sps.md)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from aiohttp import web

from simulator.clock import Timer
from simulator.kinds.base import Refused
from simulator.kinds.sps.bundle import bundle_name, keep, keep_newest, write_bundle
from simulator.kinds.sps.facts import sps, text
from simulator.kinds.sps.files import BUNDLE_DIR
from simulator.kinds.sps.model import SpsDevice
from simulator.surfaces.https import Route, device_of, site_of, state_of

BASE = "/api/troubleshooting/support-bundle"
KEY = re.compile(r"[0-9a-f]{16}")
RUNNING, FINISHED = "in-progress", "finished"     # "finished": safeguard-ps [verbatim]; "in-progress" as firmware fetch's


def bundle_dir(root: Path) -> Path:
    return root / BUNDLE_DIR


class Bundles:
    """A node's REST support bundles: those being made, by key, with their lab-clock timers."""

    def __init__(self) -> None:
        self.running: dict[str, Timer] = {}

    def start(self, device: SpsDevice, root: Path) -> str:
        if len(self.running) >= keep():
            raise Refused("refused", text("bundle_busy"))
        key = device.new_id().replace("-", "")[:16]       # reproducible under the lab's seed, as every id
        self.running[key] = device.ctx.clock.call_later(sps().timings["support_bundle"], self._finish,
                                                        device, root, key)
        return key

    def _finish(self, device: SpsDevice, root: Path, key: str) -> None:
        del self.running[key]
        if not device.core_runs:           # going down: the reset that cancels it may not have run yet
            return
        folder = bundle_dir(root)
        folder.mkdir(parents=True, exist_ok=True)
        write_bundle(device, folder / f"{key}.zip", bundle_name(device))
        keep_newest(list(folder.glob("*.zip")))
        device.ctx.journal.emit(device.name, "support_bundle", path=f"/{BUNDLE_DIR}/{key}.zip", key=key)

    def status(self, root: Path, key: str) -> str:
        if key in self.running:
            return RUNNING
        if KEY.fullmatch(key) and (bundle_dir(root) / f"{key}.zip").is_file():
            return FINISHED
        raise Refused("not_found", text("no_bundle", bundle=key))

    def delete(self, root: Path, key: str) -> str:
        status = self.status(root, key)
        if status == RUNNING:
            self.running.pop(key).cancel()
        else:
            (bundle_dir(root) / f"{key}.zip").unlink(missing_ok=True)
        return status

    def cancel_all(self) -> None:
        """The node went down: the bundles being made are lost; the finished ones stay on disk."""
        for timer in self.running.values():
            timer.cancel()
        self.running.clear()


def _bundles(request: web.Request) -> Bundles:
    bundles: Bundles = state_of(request).bundles
    return bundles


def _entry(key: str, status: str) -> dict[str, Any]:
    meta = {"href": f"{BASE}/{key}", "parent": BASE}
    if status == FINISHED:
        meta["download"] = f"{BASE}/{key}/download"
    return {"key": key, "body": {"status": status}, "meta": meta}


async def start_bundle(request: web.Request, body: dict[str, Any]) -> web.Response:
    key = _bundles(request).start(device_of(request), site_of(request).fs_root)
    return web.json_response(_entry(key, RUNNING), status=202)


async def get_bundle(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    return web.json_response(_entry(key, _bundles(request).status(site_of(request).fs_root, key)))


async def download_bundle(request: web.Request) -> web.StreamResponse:
    root, key = site_of(request).fs_root, request.match_info["key"]
    if _bundles(request).status(root, key) != FINISHED:
        raise Refused("not_found", text("bundle_not_ready", bundle=key))
    path = bundle_dir(root) / f"{key}.zip"
    with zipfile.ZipFile(path) as archive:          # the file is named as the console names it
        top = archive.namelist()[0].split("/", 1)[0]
    return web.FileResponse(path, headers={"Content-Type": "application/zip",
                                           "Content-Disposition": f'attachment; filename="{top}.zip"'})


async def delete_bundle(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    return web.json_response(_entry(key, _bundles(request).delete(site_of(request).fs_root, key)))


def routes(with_body: Any) -> list[Route]:
    """The routes; `with_body` wraps a handler that takes the JSON body (411 without one)."""
    return [
        Route("POST", BASE, with_body(start_bundle)),
        Route("GET", f"{BASE}/{{key}}", get_bundle),
        Route("GET", f"{BASE}/{{key}}/download", download_bundle),
        Route("DELETE", f"{BASE}/{{key}}", delete_bundle),
    ]
