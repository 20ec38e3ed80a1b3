"""One control API in front of a sharded lab's shards (simulator/shards.py).

The same routes as one lab's control API (server.py ROUTES): a device's or a
pair's call goes to the shard that owns it; lists are merged in profile
order; clock changes go to every shard. Fault ids and event sequence numbers
are unique per shard, so here they are interleaved: shard i's n-th is
(n - 1) * S + i + 1 for S sources (the shards, then the router's own journal
of shards lost and recovered). An event page is every source's events after
the cursor, and `next` is a cursor that misses none.

Every shard signs its devices' certificates with the one lab CA: the router
serves it at `GET /api/ca.pem` (from its file on one machine, else from a
shard), and where it has no file of it (`simulator route`, e.g. on
Kubernetes) each device's `https.ca` names that URL instead of a path in a pod.

Where a shard is down (killed, restarting), calls it owns answer 503 with a
line that says so; `GET /api/lab` answers with the shards that are up and
each shard's state."""

from __future__ import annotations

import asyncio
import bisect
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
import yaml
from aiohttp import web

from simulator.control import ui
from simulator.control.common import ApiError, Handler, http_error, is_loopback, number, stream_queue
from simulator.control.router_snapshots import ShardSnapshots
from simulator.control.ui import plots
from simulator.journal import Event, Journal
from simulator.shards import Plan, fault_shards, merge_endpoints
from simulator.sockets import HeldPort
from simulator.webserver import BODY_TIMEOUT, JSON_BODY_MAX, TIMEOUTS, parse_json, server_options

# The routes of one lab's control API, from its OpenAPI description (the tests keep it equal to
# server.ROUTES; the router does not import the device runtime that server.py does).
ROUTES = [(method.upper(), path) for path, item in
          yaml.safe_load((Path(__file__).parent / "openapi.yaml").read_text())["paths"].items()
          for method in item if method in ("get", "post", "put", "delete", "patch")]
CALL_TIMEOUT = 600.0      # a `clock run` may take long; the shard's own limits still hold
RETRY_STREAM = 0.5        # seconds before an event stream reconnects to a shard that went away


class ShardDown(Exception):
    pass


@dataclass
class ShardLink:
    """What the router knows of one shard."""

    index: int
    url: str | None = None         # its control API, once up
    host: str = ""                 # the address its devices listen on
    devices: int = 0
    state: str = "starting"        # starting, up, restarting, failed, stopped (unreachable: a call failed)
    state_dir: str | None = None
    pid: int | None = None
    exitcode: int | None = None
    restarts: int = 0
    advertise: str | None = None   # the address clients reach its devices at, when not `host` (Kubernetes)


class Router:
    def __init__(self, plan: Plan, links: list[ShardLink], journal: Journal | None, host: str, port: int = 0, *,
                 state_dir: Path | None = None, token: str | None = None, shard_token: str | None = None,
                 ca: Path | None = None) -> None:
        self.name, self.host, self.port, self.links = plan.lab, host, port, links
        self.state_dir, self.ca = state_dir, ca
        self.order = {name: i for i, name in enumerate(plan.names)}
        self.owner = {name: i for i, names in enumerate(plan.parts) for name in names}
        self.pair_owner = plan.pairs
        self._names = list(self.order)
        self._positions: list[list[int]] = [[] for _ in links]     # each shard's devices' places in the lab's list
        for position, name in enumerate(self._names):
            self._positions[self.owner[name]].append(position)
        self.journal = journal or Journal(lambda: 0.0)
        self.token = token
        if token is None and not is_loopback(host) and state_dir is not None:
            path = state_dir / "control.token"
            if not path.exists():
                path.write_text(secrets.token_urlsafe(32) + "\n")
                path.chmod(0o600)
            self.token = path.read_text().strip()
        self._headers = {"Authorization": f"Bearer {shard_token}"} if shard_token else {}
        self.session: aiohttp.ClientSession | None = None
        self.app = web.Application(middlewares=[self._middleware], client_max_size=JSON_BODY_MAX)
        self.app[BODY_TIMEOUT] = TIMEOUTS.body      # a body it reads itself (a snapshot's), as a lab's API does
        self.snapshots = ShardSnapshots(self.each, len(links), state_dir / "snapshots.json" if state_dir else None)
        handlers: dict[str, Handler] = {
            "/api/lab": self.get_lab, "/api/endpoints": self.get_endpoints, "/api/devices": self.list_devices,
            "/api/ca.pem": self.get_ca,
            "/api/pairs": self.merged_items, "/api/traffic": self.merged_items, "/api/clock": self.first,
            "/api/openapi.json": self.first, "/api/faults/points": self.first, "/api/events": self.list_events,
            "/api/events/stream": self.stream_events}
        for method, route in ROUTES:
            handler: Handler
            if route.startswith(("/api/devices/{name}", "/api/pairs/{name}")):
                handler = self.to_owner
            elif route.startswith("/api/clock/"):
                handler = self.clock_call
            elif route == "/api/faults":
                handler = self.list_faults if method == "GET" else self.add_fault
            elif route.startswith("/api/faults/{id"):
                handler, route = self.fault_by_id, route.replace("{id}", "{id:\\d+}")
            elif route.startswith("/api/snapshots"):
                handler = self.snapshots.routes[(method, route)]
            elif route in ("/api/exercise", "/api/grade"):
                handler = self.no_exercise
            else:
                handler = handlers.get(route, self.first)      # a route added later and not merged: shard 0 answers
            self.app.router.add_route(method, route, handler)
        ui.add_static(self.app)
        self.app.router.add_get("/ui/", self.shards_page)
        self.runner = web.AppRunner(self.app, **server_options(TIMEOUTS))
        self.held: HeldPort | None = None
        self._streams: set[asyncio.Queue[Event | None]] = set()

    @property
    def url(self) -> str:
        return f"http://{f'[{self.host}]' if ':' in self.host else self.host}:{self.port}"

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT),
                                             headers=self._headers)
        await self.runner.setup()
        self.held = HeldPort(self.host, self.port)
        self.port = self.held.number
        await web.SockSite(self.runner, self.held.listen()).start()

    async def stop(self) -> None:
        for queue in self._streams:
            queue.put_nowait(None)
        await self.runner.cleanup()
        if self.session:
            await self.session.close()
        if self.held is not None:
            self.held.close()

    def shard_entries(self) -> list[dict[str, Any]]:
        return [{"index": link.index, "state": link.state, "host": link.advertise or link.host,
                 "devices": link.devices, "control": link.url, "restarts": link.restarts,
                 **({"state_dir": link.state_dir} if link.state_dir else {}),
                 **({"pid": link.pid} if link.pid else {}),
                 **({"exitcode": link.exitcode} if link.exitcode is not None else {})} for link in self.links]

    async def shards_page(self, request: web.Request) -> web.Response:
        """The lab's dashboard: its shards, each linking to its own dashboard; the clock bar acts on all."""
        from simulator.control.ui import templating  # Jinja2 and pydantic: not in a supervisor never asked

        clocks = await self.each("GET", "/api/clock", shards=self._up())
        clock: dict[str, Any] = min(clocks, key=lambda c: c["now"]) if clocks else \
            {"now": 0.0, "since_start": 0.0, "mode": "virtual", "scale": 1.0, "paused": False}
        settings = templating.settings()
        return templating.page(request, "shards.html", lab=self.name, pages={"": "Shards"}, page="", clock=clock,
                               since=plots.hms(clock["since_start"]), devices=len(self._names),
                               shards=self.shard_entries(),
                               ui={"colours": settings["state_colours"], "refresh_s": settings["labs_refresh_s"],
                                   "epoch": clock["now"] - clock["since_start"]})

    async def no_exercise(self, request: web.Request) -> web.Response:
        """`simulator up --exercise` refuses shards: a sharded lab is never an exercise."""
        raise ApiError(404, "this lab is not an exercise (an exercise runs as one process: "
                            "`simulator up --exercise NAME`)")

    # -- calls to shards ----------------------------------------------------------------------
    async def call(self, index: int, method: str, path: str, body: bytes | None = None,
                   raw: bool = False) -> tuple[int, Any]:
        """A shard's answer: its status and JSON (its bytes, `raw`)."""
        link = self.links[index]
        if link.url is None or link.state not in ("up", "unreachable"):
            raise ShardDown(f"shard {index} ({link.devices} devices) is {link.state}")
        assert self.session is not None
        try:
            async with self.session.request(method, link.url + path, data=body,
                                            headers={"Content-Type": "application/json"} if body else None) as resp:
                return resp.status, await (resp.read() if raw else resp.json(content_type=None))
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            link.state = "unreachable" if link.state == "up" else link.state
            raise ShardDown(f"shard {index} ({link.devices} devices) does not answer: {exc}") from None

    async def each(self, method: str, path: str, body: bytes | None = None,
                   shards: list[int] | None = None) -> list[Any]:
        """The same call on every shard (or those given), in shard order; any error is the answer."""
        indexes = list(range(len(self.links))) if shards is None else shards
        results = await asyncio.gather(*(self.call(i, method, path, body) for i in indexes))
        for status, data in results:
            if status >= 400:
                raise ApiError(status, data.get("error", str(data)) if isinstance(data, dict) else str(data))
        return [data for _, data in results]

    def _up(self) -> list[int]:
        return [link.index for link in self.links if link.state in ("up", "unreachable")]

    # -- handlers ------------------------------------------------------------------------------
    async def first(self, request: web.Request) -> web.Response:
        up = self._up() or [0]
        status, data = await self.call(up[0], request.method, request.path_qs)
        return web.json_response(data, status=status)

    async def get_ca(self, request: web.Request) -> web.Response:
        """The lab CA: the router's file of it, else the first shard's that is up (every shard has the same)."""
        if self.ca is not None:
            return web.Response(body=self.ca.read_bytes(), content_type="application/x-pem-file")
        status, pem = await self.call((self._up() or [0])[0], "GET", "/api/ca.pem", raw=True)
        if status != 200:
            raise ApiError(status, pem.decode(errors="replace"))
        return web.Response(body=pem, content_type="application/x-pem-file")

    def _ca_url(self, request: web.Request) -> str | None:
        """Where a client finds the CA when the shards' path to it means nothing to it: this router,
        at the address the client reached it by."""
        return None if self.ca is not None else f"{request.scheme}://{request.host}/api/ca.pem"

    async def get_lab(self, request: web.Request) -> web.Response:
        """The lab, its clock (shard 0's, or the first up), a page of devices (`devices_page` says
        where it lies) from every shard that answers, and the shards' states."""
        offset, limit, runs = self._runs(request)
        paths = [self._page_path("/api/lab", runs.get(i), i) for i in range(len(self.links))]
        results = await asyncio.gather(*(self.call(i, "GET", path) for i, path in enumerate(paths)),
                                       return_exceptions=True)
        labs = {i: data for i, result in enumerate(results) if not isinstance(result, BaseException)
                for status, data in [result] if status == 200}
        if not labs:
            raise ApiError(503, "no shard of this lab answers: " + "; ".join(map(str, results)))
        devices = [d for i, lab in labs.items() if i in runs for d in _run(lab["devices"], runs[i])]
        first = labs[min(labs)]
        return web.json_response({"lab": self.name, "state_dir": str(self.state_dir or first["state_dir"]),
                                  "seed": first["seed"], "clock": first["clock"],
                                  "devices_page": self._where(offset, limit),
                                  "devices": self._in_order(devices, self._ca_url(request)), "shards": self.shard_entries()})

    async def get_endpoints(self, request: web.Request) -> web.Response:
        docs = await self.each("GET", "/api/endpoints")
        ca = self._ca_url(request)
        for doc in docs:
            doc["devices"] = [self._advertised(entry, ca) for entry in doc["devices"]]
        return web.json_response(merge_endpoints(docs, self.order, self.name, str(self.state_dir or "") or None,
                                                 self.url, self.shard_entries()))

    async def list_devices(self, request: web.Request) -> web.Response:
        """Devices in profile order, paged as one lab's are (`?offset=&limit=`; `total`, `next`):
        each shard is asked for its run of the page only."""
        offset, limit, runs = self._runs(request)
        pages = await asyncio.gather(*(self.call(i, "GET", self._page_path("/api/devices", run, i))
                                       for i, run in runs.items()))
        items = []
        for run, (status, data) in zip(runs.values(), pages, strict=True):
            if status >= 400:
                raise ApiError(status, data.get("error", str(data)))
            items += _run(data["items"], run)
        return web.json_response({**self._where(offset, limit), "items": self._in_order(items, self._ca_url(request))})

    def _runs(self, request: web.Request) -> tuple[int, int | None, dict[int, tuple[int, int]]]:
        """The page asked for, and each shard's run of it: (its devices before the page, its devices in it)."""
        try:
            offset = int(request.query.get("offset", 0))
            limit = int(request.query["limit"]) if "limit" in request.query else None
        except ValueError:
            raise ApiError(400, "`offset` and `limit` must be an integer (offset from 0, limit from 1)") from None
        if offset < 0 or limit is not None and limit < 1:
            raise ApiError(400, "`offset` must be an integer from 0 and `limit` an integer from 1")
        counts: dict[int, int] = {}
        for name in self._names[offset:None if limit is None else offset + limit]:
            counts[self.owner[name]] = counts.get(self.owner[name], 0) + 1
        return offset, limit, {i: (bisect.bisect_left(self._positions[i], offset), n) for i, n in counts.items()}

    def _page_path(self, path: str, run: tuple[int, int] | None, index: int) -> str:
        """A shard's page: its run, all of it (no query: as shards that do not page answer), or, for a
        shard with none of the page, its smallest one."""
        if run is None:
            return f"{path}?limit=1"
        skip, take = run
        return path if skip == 0 and take == len(self._positions[index]) else f"{path}?offset={skip}&limit={take}"

    def _where(self, offset: int, limit: int | None) -> dict[str, Any]:
        after = min(len(self._names), offset + limit) if limit is not None else len(self._names)
        return {"total": len(self._names), "offset": offset, "limit": limit,
                "next": after if after < len(self._names) else None}

    def _in_order(self, entries: list[dict[str, Any]], ca: str | None) -> list[dict[str, Any]]:
        return [self._advertised(e, ca) for e in sorted(entries, key=lambda e: self.order.get(e["name"], 0))]

    async def merged_items(self, request: web.Request) -> web.Response:
        lists = await self.each("GET", request.path_qs)
        return web.json_response({"items": [item for data in lists for item in data["items"]]})

    async def to_owner(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        pairs = request.path.startswith("/api/pairs/")
        index = (self.pair_owner if pairs else self.owner).get(name)
        if index is None:
            raise ApiError(404, f"no {'HA pair' if pairs else 'device'} {name!r} in this lab")
        status, data = await self.call(index, request.method, request.path_qs, await request.read() or None)
        return web.json_response(self._advertised(data, self._ca_url(request)) if not pairs and status == 200 else data,
                                 status=status)

    async def clock_call(self, request: web.Request) -> web.Response:
        """Clock changes reach every shard (each keeps its own clock); `advance` and `run` leave every
        shard at one simulated time and answer with it. Advance by `seconds`: every shard to the latest
        one's time plus `seconds`. Run until idle: every shard, then all to the latest end; run until a
        device's state: its owner, then the others to the time it ended at."""
        body = await request.read()
        spec = _object(body)
        if request.path == "/api/clock/advance" and "seconds" in spec and "to" not in spec:
            seconds = number(spec, "seconds") or 0.0
            latest = max(clock["now"] for clock in await self.each("GET", "/api/clock"))
            body = json.dumps({"to": latest + seconds}).encode()
        elif request.path == "/api/clock/run":
            device = spec.get("device")
            owner = [self.owner[device]] if isinstance(device, str) and device in self.owner else None
            runs = await self.each("POST", "/api/clock/run", body or None, owner)
            end = max(run["now"] for run in runs)
            rest = [i for i in range(len(self.links)) if owner is None or i not in owner]
            aligned = await self.each("POST", "/api/clock/advance", json.dumps({"to": end}).encode(), rest)
            return web.json_response({**min(aligned or runs, key=lambda clock: clock["now"]),
                                      "reached": all(run["reached"] for run in runs)})
        results = await self.each(request.method, request.path_qs, body or None)
        return web.json_response(min(results, key=lambda clock: clock["now"]))

    # -- faults: ids interleaved by shard --------------------------------------------------------
    def _fault_out(self, index: int, fault: dict[str, Any]) -> dict[str, Any]:
        return {**fault, "id": (fault["id"] - 1) * len(self.links) + index + 1, "shard": index}

    async def list_faults(self, request: web.Request) -> web.Response:
        lists = await self.each("GET", "/api/faults")
        items = [self._fault_out(i, f) for i, data in enumerate(lists) for f in data["items"]]
        return web.json_response({"items": sorted(items, key=lambda f: f["id"])})

    async def add_fault(self, request: web.Request) -> web.Response:
        status, data = await self.place_fault(await request.read())
        return web.json_response(data, status=status)

    async def place_fault(self, body: bytes) -> tuple[int, Any]:
        """A fault to the shards shards.fault_shards names (a counted one for any device: one shard, so it
        fires once in the lab); the first one's answer. A body that is no JSON object: shard 0's 400."""
        indexes = fault_shards(_object(body), self.owner, self.pair_owner, len(self.links))
        results = [await self.call(i, "POST", "/api/faults", body or None) for i in indexes]
        status, data = results[0]
        return status, self._fault_out(indexes[0], data) if status == 201 else data

    async def fault_by_id(self, request: web.Request) -> web.Response:
        number = int(request.match_info["id"])
        if number < 1:
            raise ApiError(404, f"no fault with id {number}")
        index, local = (number - 1) % len(self.links), (number - 1) // len(self.links) + 1
        status, data = await self.call(index, request.method, f"/api/faults/{local}")
        if status == 404:
            raise ApiError(404, f"no fault with id {number}")
        return web.json_response(self._fault_out(index, data) if status == 200 else data, status=status)

    # -- events: one view of every shard's journal and the router's ------------------------------
    @property
    def _sources(self) -> int:
        return len(self.links) + 1

    def _event_out(self, index: int, event: Event) -> Event:
        """An event with its merged number; a shard's says which shard it came from (the router's own
        events, shard.lost and shard.recovered, name the shard they are about)."""
        mine = index == len(self.links)
        return {**event, "seq": (event["seq"] - 1) * self._sources + index + 1, **({} if mine else {"shard": index})}

    def _local_after(self, after: int, index: int) -> int:
        """Source `index`'s own cursor for a merged cursor: its events numbered after `after`."""
        return max(0, (after - index - 1 + self._sources) // self._sources)

    async def list_events(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            after, limit = int(query.get("after", 0)), int(query.get("limit", 100))
        except ValueError:
            raise ApiError(400, "`after` and `limit` must be integers") from None
        if not 1 <= limit <= 1000:
            raise ApiError(400, f"`limit` must be 1 to 1000 (got {limit})")
        device, kind = query.get("device") or None, query.get("kind") or None
        filters = {k: v for k, v in (("device", device), ("kind", kind)) if v}
        shards = [self.owner[device]] if device in self.owner else list(range(len(self.links)))
        pages = await asyncio.gather(*(self.call(i, "GET", "/api/events?" + urlencode(
            {**filters, "after": self._local_after(after, i), "limit": limit})) for i in shards),
            return_exceptions=True)
        missing = [i for i, page in zip(shards, pages, strict=True) if isinstance(page, ShardDown)]
        for page in pages:
            if isinstance(page, BaseException) and not isinstance(page, ShardDown):
                raise page
        items = [self._event_out(i, e) for i, page in zip(shards, pages, strict=True)
                 if isinstance(page, tuple) and page[0] == 200 for e in page[1]["items"]]
        mine = self._local_after(after, len(self.links))
        items += [self._event_out(len(self.links), e) for e in self.journal.select(device, kind) if e["seq"] > mine]
        items = sorted(items, key=lambda e: e["seq"])[:limit]
        # A shard that is down (restarting) is left out and named; `events -f` (the stream) catches up on it.
        return web.json_response({"items": sorted(items, key=lambda e: (e["sim_time"], e["seq"])),
                                  "next": max((e["seq"] for e in items), default=after),
                                  **({"missing_shards": missing} if missing else {})})

    async def stream_events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events of every shard (each stream reconnected after a shard's restart) and the router."""
        query = request.query
        try:
            after = int(query["after"]) if "after" in query else None
        except ValueError:
            raise ApiError(400, "`after` must be an integer") from None
        device, kind = query.get("device") or None, query.get("kind") or None
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._streams.add(queue)
        filters = {k: v for k, v in (("device", device), ("kind", kind)) if v}
        shards = [self.owner[device]] if device in self.owner else list(range(len(self.links)))
        tasks = [asyncio.get_running_loop().create_task(self._follow(i, filters, after, queue)) for i in shards]

        def forward(event: Event) -> None:
            if (device is None or event["device"] == device) and (kind is None or event["kind"].startswith(kind)):
                queue.put_nowait(self._event_out(len(self.links), event))
        unsubscribe = self.journal.subscribe(forward)
        try:
            return await stream_queue(request, queue)
        finally:
            unsubscribe()
            self._streams.discard(queue)
            for task in tasks:
                task.cancel()

    async def _follow(self, index: int, filters: dict[str, str], after: int | None,
                      queue: asyncio.Queue[Event | None]) -> None:
        """One shard's stream into the merged one; after a lost connection, on from the last event seen."""
        local = None if after is None else self._local_after(after, index)
        assert self.session is not None
        while True:
            link = self.links[index]
            if link.url is not None and link.state in ("up", "unreachable"):
                query = urlencode({**filters, **({"after": local} if local is not None else {})})
                try:
                    async with self.session.get(f"{link.url}/api/events/stream?{query}",
                                                timeout=aiohttp.ClientTimeout(total=None)) as resp:
                        async for raw in resp.content:
                            line = raw.decode().rstrip("\n")
                            if line.startswith("data: "):
                                event = json.loads(line[6:])
                                local = event["seq"]
                                queue.put_nowait(self._event_out(index, event))
                        if local is None:
                            local = 0
                except (aiohttp.ClientError, OSError, ValueError):
                    local = local or 0
            await asyncio.sleep(RETRY_STREAM)

    # -- addresses ---------------------------------------------------------------------------------
    def _advertised(self, entry: Any, ca: str | None) -> Any:
        """A device's entry with its shard's advertised address (Kubernetes: the pod's name, not 0.0.0.0)
        and, given `ca`, the URL of the lab CA in place of a path in the shard's file system."""
        if not isinstance(entry, dict) or entry.get("name") not in self.owner:
            return entry
        address = self.links[self.owner[entry["name"]]].advertise
        entry = _readdress(entry, address) if address else entry
        if ca is not None and isinstance(entry.get("https"), dict):
            entry = {**entry, "https": {**entry["https"], "ca": ca}}
        return entry

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        offered = credentials.strip() if scheme.lower() == "bearer" else ui.offered_token(request)     # a browser's
        given = offered.encode("utf-8", "surrogateescape")
        if self.token is not None and not (given and secrets.compare_digest(given, self.token.encode())):
            return web.json_response({"error": "missing or wrong token: send Authorization: Bearer <token>"},
                                     status=401, headers={"WWW-Authenticate": "Bearer"})
        try:
            return await handler(request)
        except ApiError as exc:
            return web.json_response({"error": exc.message}, status=exc.status)
        except ShardDown as exc:
            return web.json_response({"error": str(exc)}, status=503)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return http_error(request, exc)


def _object(body: bytes) -> dict[str, Any]:
    """A request body's JSON object ({} for anything else: the shards answer it as one lab would)."""
    try:
        data = parse_json(body.decode()) if body else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _run(entries: list[Any], run: tuple[int, int]) -> list[Any]:
    """A shard's run of a page; a shard that does not page sends its whole list."""
    skip, take = run
    return entries if len(entries) <= take else entries[skip:skip + take]


def _readdress(value: Any, address: str) -> Any:
    """Every `host` and URL host of an endpoints entry replaced by `address`."""
    if isinstance(value, list):
        return [_readdress(v, address) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key == "host" and isinstance(item, str):
            out[key] = address
        elif key == "url" and isinstance(item, str):
            parts = urlsplit(item)
            port = f":{parts.port}" if parts.port else ""
            out[key] = urlunsplit(parts._replace(netloc=f"{address}{port}"))
        else:
            out[key] = _readdress(item, address)
    return out
