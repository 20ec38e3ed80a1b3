"""Snapshots of a sharded lab, behind its router (router.py): one snapshot is
each shard's own (simulator/snapshots.py), all taken at one simulated time.

Saving pauses every shard's clock, brings the ones behind to the latest
shard's time (as `clock advance` does), saves each shard, and lets the
clocks that were running run again; restoring puts every shard back to its
part (all at that one time) the same way. A shard's own snapshot ids are its
own: the router keeps which of them make up each of its snapshots in
`STATE/snapshots.json` (in memory only where it has no state directory, as
`simulator route` on Kubernetes). A save that fails on one shard deletes
the parts the others made; nothing is left half-made."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from simulator.control.common import ApiError, Handler, body_of, text

# The router's call to every shard (or those given), in shard order; any error is raised as ApiError.
Each = Callable[..., Awaitable[list[Any]]]
MAX_NAME = 200          # a snapshot's name, as simulator/snapshots.py (which the router does not import)


class ShardSnapshots:
    def __init__(self, each: Each, shards: int, path: Path | None) -> None:
        self.each, self.shards, self.path = each, shards, path
        self.items: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            self.items = {entry["id"]: entry for entry in json.loads(path.read_text(encoding="utf-8"))}
        self._next = max((int(sid) for sid in self.items), default=0) + 1
        self._lock = asyncio.Lock()        # one save, restore or delete at a time: each pauses all clocks

    @property
    def routes(self) -> dict[tuple[str, str], Handler]:
        return {("GET", "/api/snapshots"): self.list_all, ("POST", "/api/snapshots"): self.save,
                ("GET", "/api/snapshots/{sid}"): self.get, ("DELETE", "/api/snapshots/{sid}"): self.delete,
                ("POST", "/api/snapshots/{sid}/restore"): self.restore}

    def _entry(self, request: web.Request) -> dict[str, Any]:
        entry = self.items.get(request.match_info["sid"])
        if entry is None:
            raise ApiError(404, f"no snapshot {request.match_info['sid']!r} in this lab")
        return entry

    def _write(self) -> None:
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(list(self.items.values()), indent=1), encoding="utf-8")
            tmp.replace(self.path)

    async def _pause(self) -> list[int]:
        """Every shard's clock paused; the shards whose clocks were running."""
        clocks = await self.each("GET", "/api/clock")
        running = [i for i, clock in enumerate(clocks) if not clock["paused"]]
        await self.each("POST", "/api/clock/pause", shards=running)
        return running

    async def _align(self) -> None:
        """The paused shards behind brought to the latest one's time (their timers due by then run)."""
        latest = max(clock["now"] for clock in await self.each("GET", "/api/clock"))
        await self.each("POST", "/api/clock/advance", json.dumps({"to": latest}).encode())

    async def _resume(self, running: list[int]) -> list[dict[str, Any]]:
        await self.each("POST", "/api/clock/resume", shards=running)
        return await self.each("GET", "/api/clock")

    # -- handlers --------------------------------------------------------------------------
    async def list_all(self, request: web.Request) -> web.Response:
        entries = list(self.items.values())
        return web.json_response({"total": len(entries), "offset": 0, "limit": None, "next": None,
                                  "items": entries})

    async def get(self, request: web.Request) -> web.Response:
        return web.json_response(self._entry(request))

    async def save(self, request: web.Request) -> web.Response:
        spec = await body_of(request)       # checked here: a refused body pauses no clock
        unknown = sorted(set(spec) - {"name"})
        if unknown:
            raise ApiError(400, f"unknown field {unknown[0]!r}: a snapshot takes only `name`")
        name = text(spec, "name")
        if name is not None and len(name) > MAX_NAME:
            raise ApiError(400, f"a snapshot's name is a string of at most {MAX_NAME} characters")
        async with self._lock:
            running = await self._pause()
            try:
                await self._align()
                parts = await asyncio.gather(*(self.each("POST", "/api/snapshots", json.dumps(spec).encode(),
                                                         shards=[i]) for i in range(self.shards)),
                                             return_exceptions=True)
                made = [(i, part[0]) for i, part in enumerate(parts) if not isinstance(part, BaseException)]
                failed = next((part for part in parts if isinstance(part, BaseException)), None)
                if failed is not None:
                    for index, entry in made:
                        await self.each("DELETE", f"/api/snapshots/{entry['id']}", shards=[index])
                    raise failed
            finally:
                await self._resume(running)
            sid = str(self._next)
            self._next += 1
            self.items[sid] = {"id": sid, "name": name, "sim_time": made[0][1]["sim_time"],
                               "created": round(time.time(), 3), "devices": sum(e["devices"] for _, e in made),
                               "shards": [{"index": i, "id": e["id"]} for i, e in made]}
            self._write()
        return web.json_response(self.items[sid], status=201)

    async def restore(self, request: web.Request) -> web.Response:
        entry = self._entry(request)
        async with self._lock:
            started = time.perf_counter()
            running = await self._pause()
            try:
                await asyncio.gather(*(self.each("POST", f"/api/snapshots/{part['id']}/restore",
                                                 shards=[part["index"]]) for part in entry["shards"]))
            finally:
                clocks = await self._resume(running)
            took = round((time.perf_counter() - started) * 1000, 1)
        return web.json_response({**entry, "restored_in_ms": took,
                                  "clock": min(clocks, key=lambda clock: clock["now"])})

    async def delete(self, request: web.Request) -> web.Response:
        entry = self._entry(request)
        async with self._lock:
            for part in entry["shards"]:
                try:
                    await self.each("DELETE", f"/api/snapshots/{part['id']}", shards=[part["index"]])
                except ApiError as exc:
                    if exc.status != 404:        # a part already gone is what was asked
                        raise
            del self.items[entry["id"]]
            self._write()
        return web.json_response(entry)
