"""The lab's control API: HTTP JSON on the control port (loopback by default).

Lab and devices, power and reimage, the clock, the fault plan, snapshots
(simulator/snapshots.py) and the journal (paged, and live as server-sent events). Lists page with
`?offset=&limit=` and say so (`total`, `offset`, `limit`, `next`: the offset of
the following page, null on the last); without `limit` a list is whole. A list
is built a chunk of entries at a time, the loop free in between, so a listing
of thousands of devices never holds up their SSH logins. Every route is in ROUTES and
in the OpenAPI description served at /api/openapi.json (openapi.yaml); the
tests keep the two equal. Bound to a non-loopback address, every call needs
`Authorization: Bearer <token>` with the token kept in
`<state dir>/control.token`. The limits of the devices' web servers hold here
too (simulator/webserver.py): JSON bodies of at most JSON_BODY_MAX bytes and
JSON_DEPTH_MAX levels, idle connections closed, malformed requests logged as
one line."""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import json
import secrets
import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import ValidationError

from simulator import webserver
from simulator.control import ui
from simulator.control.common import (
    MAX_NUMBER,
    ApiError,
    Handler,
    body_of,
    http_error,
    is_loopback,
    number,
    stream_queue,
    text,
)
from simulator.facts import read_yaml
from simulator.faults import POINTS, Fault
from simulator.kinds.base import Refused
from simulator.snapshots import SnapshotLimit
from simulator.sockets import HeldPort, PortRange
from simulator.webserver import BODY_TIMEOUT, JSON_BODY_MAX, Timeouts, server_options

if TYPE_CHECKING:
    from simulator.lab import Lab

CHUNK = 10          # list entries built and sent between two turns of the event loop (a quarter of a ms)
PAGE_MAX = 100_000  # entries in one page at most
SCAN = 5_000        # journal events filtered between two turns of the event loop
LAB = web.AppKey("lab", object)
STREAMS = web.AppKey("streams", set)    # queues of the open event streams


def lab_of(request: web.Request) -> Lab:
    return request.app[LAB]  # type: ignore[return-value]


# -- lab and devices ------------------------------------------------------------------
def device_entry(lab: Lab, name: str) -> dict[str, Any]:
    entry = lab.device_endpoints(name)
    device = lab.devices[name]
    ha = entry.get("ha")
    entry.update({"role": f"{ha['role']} - {ha['state']}" if ha else None, "serial": device.serial,
                  "package": None, "job": None, **device.summary()})
    return entry


def clock_entry(lab: Lab) -> dict[str, Any]:
    clock = lab.clock
    return {"now": round(clock.now(), 3), "since_start": round(clock.now() - lab.epoch, 3),
            "mode": "virtual" if clock.virtual else "scaled", "scale": clock.scale, "paused": clock.paused,
            "next_timer": clock.next_deadline()}


def _page(request: web.Request) -> tuple[int, int | None]:
    """`offset` and `limit` of a list request (no limit: to the end)."""
    values: dict[str, int | None] = {}
    for name, low in (("offset", 0), ("limit", 1)):
        raw = request.query.get(name)
        if raw is None:
            values[name] = None
            continue
        if not raw.isdigit() or not low <= int(raw) <= PAGE_MAX:
            raise ApiError(400, f"`{name}` must be an integer from {low} to {PAGE_MAX} (got {raw!r})")
        values[name] = int(raw)
    return values["offset"] or 0, values["limit"]


async def paged(request: web.Request, names: Sequence[Any], entry: Callable[[Any], Any],
                head: dict[str, Any] | None = None, key: str = "items") -> web.StreamResponse:
    """One page of a list: `head`'s keys, where the page lies, and the entries of `names` under
    `key` (each `entry(name)`), sent as they are built, CHUNK at a time, the loop free in between."""
    offset, limit = _page(request)
    chosen = names[offset:None if limit is None else offset + limit]
    after = offset + len(chosen)
    where = {"total": len(names), "offset": offset, "limit": limit, "next": after if after < len(names) else None}
    fields = {**head, f"{key}_page": where} if head is not None else where    # in an object: beside its list
    response = web.StreamResponse(headers={"Content-Type": "application/json; charset=utf-8"})
    await response.prepare(request)
    await response.write(f'{json.dumps(fields)[:-1]}, "{key}": ['.encode())   # the object, open for its list
    for start in range(0, len(chosen), CHUNK):
        part = ",".join(json.dumps(entry(name)) for name in chosen[start:start + CHUNK])
        await response.write(f'{"," if start else ""}{part}'.encode())
        await asyncio.sleep(0)
    await response.write(b"]}")
    await response.write_eof()
    return response


async def get_lab(request: web.Request) -> web.StreamResponse:
    lab = lab_of(request)
    return await paged(request, list(lab.devices), lambda name: device_entry(lab, name),
                       {"lab": lab.name, "state_dir": str(lab.state_dir), "seed": lab.seed,
                        "clock": clock_entry(lab)}, key="devices")


async def get_endpoints(request: web.Request) -> web.StreamResponse:
    """The endpoints document (as `--endpoints FILE` writes it; what a sharded lab's router merges),
    its devices sent as they are built, as the lists are."""
    lab = lab_of(request)
    pairs = [lab.pair_endpoints(name) for name in lab.pairs]
    return await paged(request, list(lab.devices), lab.device_endpoints,
                       {"lab": lab.name, "state_dir": str(lab.state_dir), "control": {"url": lab.control.url},
                        **({"pairs": pairs} if pairs else {})}, key="devices")


async def list_devices(request: web.Request) -> web.StreamResponse:
    lab = lab_of(request)
    return await paged(request, list(lab.devices), lambda name: device_entry(lab, name))


def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    if name not in lab_of(request).devices:
        raise ApiError(404, f"no device {name!r} in this lab")
    return name


async def get_device(request: web.Request) -> web.Response:
    return web.json_response(device_entry(lab_of(request), _name(request)))


async def power_device(request: web.Request) -> web.Response:
    lab, name = lab_of(request), _name(request)
    action = (await body_of(request)).get("action")
    if action not in ("on", "off", "cycle"):
        raise ApiError(400, f"`action` must be one of on, off, cycle (got {action!r})")
    lab.power(name, action)
    return web.json_response(device_entry(lab, name))


async def reboot_device(request: web.Request) -> web.Response:
    """A reboot as the device's own CLI asks for it (kinds without one: 409)."""
    lab, name = lab_of(request), _name(request)
    reboot = getattr(lab.devices[name], "reboot", None)
    if reboot is None:
        raise ApiError(409, f"{name} ({lab.devices[name].kind}) reboots from its own CLI only")
    reboot()
    return web.json_response(device_entry(lab, name))


async def reimage_device(request: web.Request) -> web.Response:
    lab, name = lab_of(request), _name(request)
    body = await body_of(request)
    version = body.get("version")
    if "version" in body and not isinstance(version, str):
        raise ApiError(400, "`version` must be a string such as 7.4.1-172 (leave it out for the current version)")
    try:
        lab.reimage(name, version)
    except ValueError as exc:
        raise ApiError(400, f"`version`: {exc}") from None
    return web.json_response(device_entry(lab, name))


async def expire_sessions(request: web.Request) -> web.Response:
    """Every login session of the device's REST APIs ends now (tests of token expiry)."""
    lab, name = lab_of(request), _name(request)
    expired = lab.expire_sessions(name)
    if expired is None:
        raise ApiError(409, f"{name} keeps no REST API sessions")
    return web.json_response({"device": name, "expired": expired})


async def add_package(request: web.Request) -> web.Response:
    """A package reaches a device as its product takes one: `{"filename", "content"}` (base64) lands
    in its upload folder as an SFTP upload would; `{"url"}` is an internal server pointer
    (an FMC's "Specify Remote Location", which its devices fetch themselves)."""
    lab, name = lab_of(request), _name(request)
    body = await body_of(request)
    url, filename, content = text(body, "url"), text(body, "filename"), text(body, "content")
    try:
        if url is not None:
            add_pointer = getattr(lab.device(name), "add_pointer", None)
            if add_pointer is None:
                raise ApiError(409, f"{name} takes no internal server pointers")
            add_pointer(url)
        elif filename is not None and content is not None:
            await lab.add_file(name, filename, base64.b64decode(content, validate=True))
        else:
            raise ApiError(400, "give `filename` and `content` (the file in base64), or `url`")
    except binascii.Error:
        raise ApiError(400, "`content` is not base64") from None
    except (Refused, ValueError) as exc:
        raise ApiError(409, exc.message if isinstance(exc, Refused) else str(exc)) from None
    return web.json_response(device_entry(lab, name))


async def get_ca(request: web.Request) -> web.Response:
    """The CA a client trusts for every device's HTTPS, for one that cannot read the state dir."""
    return web.Response(body=lab_of(request).ca_path.read_bytes(), content_type="application/x-pem-file")


# -- clock ------------------------------------------------------------------------------
async def get_clock(request: web.Request) -> web.Response:
    return web.json_response(clock_entry(lab_of(request)))


async def clock_advance(request: web.Request) -> web.Response:
    """Forward by `seconds`, or to the simulated time `to` (nothing when past it: how a sharded lab's
    router brings every shard to one time)."""
    lab = lab_of(request)
    body = await body_of(request)
    if "to" in body:
        if "seconds" in body:
            raise ApiError(400, "give `seconds` or `to`, not both")
        to = body["to"]
        if isinstance(to, bool) or not isinstance(to, (int, float)) or to - lab.clock.now() > MAX_NUMBER:
            raise ApiError(400, f"`to` must be a simulated Unix time at most {MAX_NUMBER:.0f} s ahead, not {to!r}")
        seconds: float | None = max(0.0, to - lab.clock.now())
    else:
        seconds = number(body, "seconds")
    await lab.clock.advance(seconds or 0.0)
    await lab.settle()
    return web.json_response(clock_entry(lab))


async def clock_scale(request: web.Request) -> web.Response:
    lab = lab_of(request)
    scale = number(await body_of(request), "scale", positive=True)
    if lab.clock.virtual:
        raise ApiError(409, "the lab runs on virtual time; scale applies to scaled time only")
    lab.clock.set_scale(scale or 1.0)
    return web.json_response(clock_entry(lab))


async def clock_pause(request: web.Request) -> web.Response:
    lab_of(request).clock.pause()
    return web.json_response(clock_entry(lab_of(request)))


async def clock_resume(request: web.Request) -> web.Response:
    lab_of(request).clock.resume()
    return web.json_response(clock_entry(lab_of(request)))


async def clock_run(request: web.Request) -> web.Response:
    """Virtual time: run until idle, or until a device reaches a state."""
    lab = lab_of(request)
    body = await body_of(request)
    if not lab.clock.virtual:
        raise ApiError(409, "run needs virtual time (start the lab with --virtual-time)")
    limit = number(body, "limit", required=False) or 30 * 24 * 3600.0
    device, state = text(body, "device"), text(body, "state")
    if (device is None) != (state is None):
        raise ApiError(400, "give both `device` and `state`, or neither (run until idle)")
    if device is None:
        await lab.clock.run_until_idle(limit)
        reached = lab.clock.next_deadline() is None
    else:
        if device not in lab.devices:
            raise ApiError(404, f"no device {device!r} in this lab")
        target = lab.devices[device]
        reached = await lab.clock.run_until(lambda: target.state == state, limit)
    await lab.settle()
    return web.json_response({**clock_entry(lab), "reached": reached})


# -- faults ---------------------------------------------------------------------------
async def list_faults(request: web.Request) -> web.StreamResponse:
    faults = lab_of(request).faults.dump()
    return await paged(request, faults, lambda fault: fault)


async def list_points(request: web.Request) -> web.Response:
    return web.json_response({"items": [{"point": point, "description": text, "actions": list(actions)}
                                        for point, (text, actions) in POINTS.items()]})


async def add_fault(request: web.Request) -> web.Response:
    lab = lab_of(request)
    body = await body_of(request)
    for key in ("id", "seen", "fired", "fired_at"):
        if key in body:
            raise ApiError(400, f"`{key}` is set by the lab, not by the caller")
    try:
        fault = Fault.model_validate(body)
    except ValidationError as exc:
        raise ApiError(400, "; ".join(("`" + ".".join(map(str, e["loc"])) + "`: " if e["loc"] else "")
                                      + e["msg"].removeprefix("Value error, ") for e in exc.errors())) from None
    known = lab.pairs if fault.point == "failover.link" else lab.devices
    if fault.device is not None and fault.device not in known:
        raise ApiError(404, f"no {'HA pair' if fault.point == 'failover.link' else 'device'} "
                            f"{fault.device!r} in this lab")
    lab.faults.add_fault(fault)
    return web.json_response(fault.model_dump(), status=201)


def _fault_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or lab_of(request).faults.get(int(raw)) is None:
        raise ApiError(404, f"no fault with id {raw}")
    return int(raw)


async def get_fault(request: web.Request) -> web.Response:
    fault = lab_of(request).faults.get(_fault_id(request))
    assert fault is not None
    return web.json_response(fault.model_dump())


async def delete_fault(request: web.Request) -> web.Response:
    fault = lab_of(request).remove_fault(_fault_id(request))
    return web.json_response(fault.model_dump())


# -- HA pairs and traffic ------------------------------------------------------------------
def pair_entry(lab: Lab, name: str) -> dict[str, Any]:
    return {**lab.pairs[name].status(), "traffic": lab.traffic[name].report()}


async def list_pairs(request: web.Request) -> web.StreamResponse:
    lab = lab_of(request)
    return await paged(request, list(lab.pairs), lambda name: pair_entry(lab, name))


async def set_pair_link(request: web.Request) -> web.Response:
    lab, name = lab_of(request), request.match_info["name"]
    if name not in lab.pairs:
        raise ApiError(404, f"no HA pair {name!r} in this lab")
    up = (await body_of(request)).get("up")
    if not isinstance(up, bool):
        raise ApiError(400, "`up` must be true (restore the failover link) or false (cut it)")
    lab.set_link(name, up)
    return web.json_response(pair_entry(lab, name))


async def list_traffic(request: web.Request) -> web.StreamResponse:
    traffic = lab_of(request).traffic
    return await paged(request, list(traffic), lambda name: traffic[name].report())


# -- snapshots ------------------------------------------------------------------------------
async def list_snapshots(request: web.Request) -> web.StreamResponse:
    return await paged(request, [s.entry() for s in lab_of(request).snapshots()], lambda entry: entry)


async def save_snapshot(request: web.Request) -> web.Response:
    body = await body_of(request)
    unknown = sorted(set(body) - {"name"})
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]!r}: a snapshot takes only `name`")
    try:
        snapshot = lab_of(request).snapshot(text(body, "name"))
    except SnapshotLimit as exc:
        raise ApiError(409, str(exc)) from None
    return web.json_response(snapshot.entry(), status=201)


def _snapshot_id(request: web.Request) -> str:
    sid = request.match_info["sid"]
    if sid not in {s.id for s in lab_of(request).snapshots()}:
        raise ApiError(404, f"no snapshot {sid!r} in this lab")
    return sid


async def get_snapshot(request: web.Request) -> web.Response:
    sid = _snapshot_id(request)
    return web.json_response(next(s for s in lab_of(request).snapshots() if s.id == sid).entry())


async def restore_snapshot(request: web.Request) -> web.Response:
    lab, sid = lab_of(request), _snapshot_id(request)
    started = time.perf_counter()
    snapshot = await lab.restore(sid)
    took = round((time.perf_counter() - started) * 1000, 1)
    return web.json_response({**snapshot.entry(), "restored_in_ms": took, "clock": clock_entry(lab)})


async def delete_snapshot(request: web.Request) -> web.Response:
    return web.json_response(lab_of(request).delete_snapshot(_snapshot_id(request)).entry())


# -- events ---------------------------------------------------------------------------
def _event_filter(request: web.Request) -> tuple[str | None, str | None]:
    return request.query.get("device") or None, request.query.get("kind") or None


def _wanted(event: dict[str, Any], device: str | None, kind: str | None) -> bool:
    return (device is None or event["device"] == device) and (kind is None or event["kind"].startswith(kind))


async def list_events(request: web.Request) -> web.Response:
    lab = lab_of(request)
    device, kind = _event_filter(request)
    try:
        after = int(request.query.get("after", 0))
        limit = int(request.query.get("limit", 100))
    except ValueError:
        raise ApiError(400, "`after` and `limit` must be integers") from None
    if not 1 <= limit <= 1000:
        raise ApiError(400, f"`limit` must be 1 to 1000 (got {limit})")
    events = list(lab.journal.events)       # a snapshot: events keep coming while the scan lets the loop run
    items: list[dict[str, Any]] = []
    for start in range(_after(events, after), len(events), SCAN):
        items += [e for e in events[start:start + SCAN] if _wanted(e, device, kind)]
        if len(items) >= limit:
            break
        await asyncio.sleep(0)
    items = items[:limit]
    return web.json_response({"items": items, "next": items[-1]["seq"] if items else after})


def _after(events: Sequence[dict[str, Any]], seq: int) -> int:
    """The index of the first event past `seq` (the journal keeps them in order)."""
    return bisect.bisect_right(events, seq, key=lambda event: event["seq"])


async def stream_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: every new journal event that matches, as `data: <json>`."""
    lab = lab_of(request)
    device, kind = _event_filter(request)
    try:
        after = int(request.query["after"]) if "after" in request.query else None
    except ValueError:
        raise ApiError(400, "`after` must be an integer") from None
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    events = list(lab.journal.events) if after is not None else []
    for event in events[_after(events, after or 0):]:       # catch up first: nothing is missed
        if _wanted(event, device, kind):
            queue.put_nowait(event)
    def forward(event: dict[str, Any]) -> None:
        if _wanted(event, device, kind):
            queue.put_nowait(event)
    unsubscribe = lab.journal.subscribe(forward)
    streams = request.app[STREAMS]
    streams.add(queue)
    try:
        return await stream_queue(request, queue)
    finally:
        unsubscribe()
        streams.discard(queue)


# -- exercise -------------------------------------------------------------------------------
def _exercise(request: web.Request) -> Any:
    exercise = lab_of(request).exercise
    if exercise is None:
        raise ApiError(404, "this lab is not an exercise (start one with `simulator up --exercise NAME`)")
    return exercise


async def get_exercise(request: web.Request) -> web.Response:
    return web.json_response(_exercise(request).describe())


async def get_grade(request: web.Request) -> web.Response:
    return web.json_response(_exercise(request).grade(lab_of(request)).to_dict())


@cache
def _openapi() -> dict[str, Any]:
    return read_yaml("control/openapi.yaml")


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(_openapi())


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/api/openapi.json", get_openapi),
    ("GET", "/api/lab", get_lab),
    ("GET", "/api/endpoints", get_endpoints),
    ("GET", "/api/ca.pem", get_ca),
    ("GET", "/api/devices", list_devices),
    ("GET", "/api/devices/{name}", get_device),
    ("POST", "/api/devices/{name}/power", power_device),
    ("POST", "/api/devices/{name}/reboot", reboot_device),
    ("POST", "/api/devices/{name}/reimage", reimage_device),
    ("POST", "/api/devices/{name}/sessions/expire", expire_sessions),
    ("POST", "/api/devices/{name}/packages", add_package),
    ("GET", "/api/pairs", list_pairs),
    ("POST", "/api/pairs/{name}/link", set_pair_link),
    ("GET", "/api/traffic", list_traffic),
    ("GET", "/api/clock", get_clock),
    ("POST", "/api/clock/advance", clock_advance),
    ("POST", "/api/clock/scale", clock_scale),
    ("POST", "/api/clock/pause", clock_pause),
    ("POST", "/api/clock/resume", clock_resume),
    ("POST", "/api/clock/run", clock_run),
    ("GET", "/api/faults", list_faults),
    ("POST", "/api/faults", add_fault),
    ("GET", "/api/faults/points", list_points),
    ("GET", "/api/faults/{id:\\d+}", get_fault),
    ("DELETE", "/api/faults/{id:\\d+}", delete_fault),
    ("GET", "/api/snapshots", list_snapshots),
    ("POST", "/api/snapshots", save_snapshot),
    ("GET", "/api/snapshots/{sid}", get_snapshot),
    ("DELETE", "/api/snapshots/{sid}", delete_snapshot),
    ("POST", "/api/snapshots/{sid}/restore", restore_snapshot),
    ("GET", "/api/events", list_events),
    ("GET", "/api/events/stream", stream_events),
    ("GET", "/api/exercise", get_exercise),
    ("GET", "/api/grade", get_grade),
]


class ControlServer:
    """The control API of one lab, on its own port."""

    def __init__(self, lab: Lab, host: str, port: int = 0, timeouts: Timeouts | None = None,
                 ports: PortRange | None = None) -> None:
        self.lab, self.host, self.port, self.ports = lab, host, port, ports
        self.token: str | None = None
        if not is_loopback(host):
            path = lab.state_dir / "control.token"
            if not path.exists():
                path.write_text(secrets.token_urlsafe(32) + "\n")
                path.chmod(0o600)
            self.token = path.read_text().strip()
        timeouts = timeouts or webserver.TIMEOUTS
        app = web.Application(middlewares=[self._middleware], client_max_size=JSON_BODY_MAX)
        app[BODY_TIMEOUT] = timeouts.body
        app[LAB] = lab
        app[STREAMS] = set()
        self.app = app
        for method, route, handler in ROUTES:
            app.router.add_route(method, route, handler)
        ui.add_routes(app)      # the dashboard at /ui/
        self.runner = web.AppRunner(app, **server_options(timeouts))
        self.site: web.SockSite | None = None
        self.held: HeldPort | None = None

    @property
    def url(self) -> str:
        return f"http://{f'[{self.host}]' if ':' in self.host else self.host}:{self.port}"

    async def start(self) -> None:
        await self.runner.setup()
        self.held = HeldPort(self.host, self.port, self.ports)
        self.port = self.held.number
        self.site = web.SockSite(self.runner, self.held.listen())
        await self.site.start()

    async def stop(self) -> None:
        for queue in self.app[STREAMS]:
            queue.put_nowait(None)
        await self.runner.cleanup()
        if self.held is not None:
            self.held.close()

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        offered = credentials.strip() if scheme.lower() == "bearer" else ui.offered_token(request)   # a browser's
        given = offered.encode("utf-8", "surrogateescape")      # any bytes a client sent
        return self.token is None or (bool(given) and secrets.compare_digest(given, self.token.encode()))

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self._authorized(request):
            return web.json_response({"error": "missing or wrong token: send Authorization: Bearer <token>, the "
                                               "token in control.token in the lab's state directory (a browser: "
                                               "open /ui/?token=<token> once)"},
                                     status=401, headers={"WWW-Authenticate": "Bearer"})
        try:
            if (request.content_length or 0) > JSON_BODY_MAX:     # refused before it is read
                raise web.HTTPRequestEntityTooLarge(JSON_BODY_MAX, request.content_length or 0)
            return await handler(request)
        except ApiError as exc:
            return web.json_response({"error": exc.message}, status=exc.status)
        except (KeyError, ValueError, Refused) as exc:
            message = exc.message if isinstance(exc, Refused) else (exc.args[0] if exc.args else str(exc))
            return web.json_response({"error": str(message)}, status=409 if isinstance(exc, Refused) else 400)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return http_error(request, exc)
