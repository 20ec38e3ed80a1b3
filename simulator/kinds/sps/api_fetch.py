"""`/api/firmware/fetch` (SPS downloads a firmware ISO from a URL: 202,
asynchronous, cancellable while `queued` or `in-progress`; a cancelled fetch
keeps its status until a second DELETE) and `/api/transaction` (open, commit,
discard, changes), sps.md 4.4-4.6. The downloads run as tasks of the web
server (simulator/transfer.py: bounded, under a partial name); a reboot
cancels those in flight."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections import OrderedDict
from pathlib import Path
from typing import Any

from aiohttp import web

from simulator.kinds.base import Refused
from simulator.kinds.sps.facts import sps, text
from simulator.kinds.sps.files import firmware_dir
from simulator.kinds.sps.model import SpsDevice
from simulator.kinds.sps.packages import file_upload
from simulator.surfaces.https import Route, device_of, site_of, state_of
from simulator.transfer import Source, TransferError, fetch

FETCHES_MAX = 16          # fetch statuses a node keeps (the oldest finished ones go first)


class Fetch:
    def __init__(self, key: str, url: str, sha256: str | None) -> None:
        self.key, self.url, self.sha256 = key, url, sha256
        self.status, self.message = "queued", ""
        self.slot: int | None = None
        self.task: asyncio.Task[None] | None = None

    def body(self) -> dict[str, Any]:
        return {"url": self.url, "status": self.status, "message": self.message,
                "slot": f"/api/firmware/slots/{self.slot}" if self.slot else None}


class Fetches:
    """A node's firmware fetches by key."""

    def __init__(self) -> None:
        self.items: OrderedDict[str, Fetch] = OrderedDict()

    def start(self, device: SpsDevice, folder: Path, url: str, sha256: str | None) -> Fetch:
        running = [f for f in self.items.values() if f.status in ("queued", "in-progress")]
        if len(running) >= FETCHES_MAX:
            raise Refused("refused", text("fetch_busy"))
        while len(self.items) >= FETCHES_MAX:
            self.items.pop(next(k for k, f in self.items.items() if f not in running))
        job = Fetch(secrets.token_hex(8), url, sha256)
        self.items[job.key] = job
        job.task = asyncio.get_running_loop().create_task(self._run(device, folder, job))
        return job

    async def _run(self, device: SpsDevice, folder: Path, job: Fetch) -> None:
        job.status = "in-progress"
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".fetch-{job.key}.part"
        try:
            await fetch(Source.parse(job.url), partial, limit=sps().api.upload_max)
            if job.sha256 and _sha256(partial) != job.sha256.lower():
                raise ValueError(text("fetch_checksum"))
            slot_id = device.free_slot()
            _, firmware = file_upload(partial, folder, slot_id)
            device.add_firmware(slot_id, firmware)
            job.status, job.slot = "finished", slot_id
        except asyncio.CancelledError:
            job.status = "cancelled"
        except TransferError as exc:
            job.status, job.message = "failed", text("fetch_failed", cause=exc.cause)
        except (Refused, ValueError, OSError) as exc:
            job.status, job.message = "failed", getattr(exc, "message", None) or str(exc)
        finally:
            partial.unlink(missing_ok=True)
        device.ctx.journal.emit(device.name, "firmware.fetch", key=job.key, status=job.status)

    def cancel_all(self) -> None:
        for job in self.items.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _job(request: web.Request) -> Fetch:
    job = state_of(request).fetches.items.get(request.match_info["key"])
    if job is None:
        raise Refused("not_found", text("no_fetch", fetch=request.match_info["key"]))
    return job


def _entry(job: Fetch) -> dict[str, Any]:
    return {"key": job.key, "body": job.body(),
            "meta": {"href": f"/api/firmware/fetch/{job.key}", "parent": "/api/firmware/fetch"}}


async def start_fetch(request: web.Request, body: dict[str, Any]) -> web.Response:
    url, checksum = body.get("url"), body.get("checksum") or {}
    if not isinstance(url, str) or not url or not isinstance(checksum, dict):
        raise Refused("incomplete", text("fetch_url"))
    device = device_of(request)
    device.free_slot()                 # no empty slot: refused now, not after the download
    job = state_of(request).fetches.start(device, firmware_dir(site_of(request).fs_root), url,
                                          checksum.get("sha256"))
    return web.json_response(_entry(job), status=202)


async def list_fetches(request: web.Request) -> web.Response:
    items = [_entry(job) for job in state_of(request).fetches.items.values()]
    return web.json_response({"items": items, "meta": {"href": "/api/firmware/fetch", "parent": "/api/firmware"}})


async def get_fetch(request: web.Request) -> web.Response:
    return web.json_response(_entry(_job(request)))


async def delete_fetch(request: web.Request) -> web.Response:
    """Cancel a queued or running fetch; a second DELETE forgets it; a finished one cannot be cancelled."""
    job = _job(request)
    if job.status in ("queued", "in-progress") and job.task is not None:
        job.task.cancel()
        job.status = "cancelled"
    elif job.status == "finished":
        raise Refused("refused", text("fetch_done"))
    else:
        del state_of(request).fetches.items[job.key]
    return web.json_response(_entry(job))


# -- /api/transaction ---------------------------------------------------------------------------
def _transaction(request: web.Request) -> web.Response:
    """The docs' `transaction.status` and safeguard-ps's `body.status` both (sps.md 4.6)."""
    device = device_of(request)
    status = {"status": "open" if device.transaction_open else "closed"}
    return web.json_response({"key": "transaction", "body": status, "transaction": status,
                              "meta": {"href": "/api/transaction", "parent": "/api"}})


async def get_transaction(request: web.Request) -> web.Response:
    return _transaction(request)


async def open_transaction(request: web.Request, body: dict[str, Any]) -> web.Response:
    device_of(request).set_transaction(True)
    return _transaction(request)


async def commit_transaction(request: web.Request, body: dict[str, Any]) -> web.Response:
    if body.get("status") != "commit":
        raise Refused("incomplete", text("commit_status"))
    device_of(request).set_transaction(False)
    return _transaction(request)


async def discard_transaction(request: web.Request) -> web.Response:
    device_of(request).set_transaction(False)
    return _transaction(request)


async def transaction_changes(request: web.Request) -> web.Response:
    """No configuration endpoint is simulated: a transaction has no changes."""
    return web.json_response({"changes": [], "meta": {"href": "/api/transaction/changes",
                                                      "parent": "/api/transaction"}})


def routes(with_body: Any) -> list[Route]:
    """The routes; `with_body` wraps a handler that takes the JSON body (411 without one)."""
    return [
        Route("GET", "/api/firmware/fetch", list_fetches),
        Route("POST", "/api/firmware/fetch", with_body(start_fetch)),
        Route("GET", "/api/firmware/fetch/{key}", get_fetch),
        Route("DELETE", "/api/firmware/fetch/{key}", delete_fetch),
        Route("GET", "/api/transaction", get_transaction),
        Route("POST", "/api/transaction", with_body(open_transaction)),
        Route("PUT", "/api/transaction", with_body(commit_transaction)),
        Route("DELETE", "/api/transaction", discard_transaction),
        Route("GET", "/api/transaction/changes", transaction_changes),
    ]
