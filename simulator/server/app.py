"""The lab server's HTTP service.

`POST /labs` creates a lab, `GET /labs` pages through them, `GET|DELETE
/labs/{id}` reads or deletes one. Everything under `/labs/{id}/` is that lab's
own control API (simulator/control/server.py, and whatever else its control
application serves): the request is handed, in this process, to the lab's
control application with the prefix taken off, so its routes, middleware,
event stream and WebSockets answer exactly as on the lab's own port (aiohttp
freezes a router once it serves: labs made later cannot be mounted as
sub-applications). Every such request renews the lab's TTL. Bound to a
non-loopback address, every call needs the server's token, and each lab's
control API asks for the same one. The server's own dashboard is at /ui/
(pages.py)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import web
from yarl import URL

from simulator import profile as profiles
from simulator.control import ui
from simulator.control.common import ApiError, Handler, body_of, http_error, is_loopback, number, text
from simulator.control.server import clock_entry, paged
from simulator.facts import read_yaml
from simulator.server.hosting import (
    MAX_TTL,
    NAME,
    Hosted,
    LabHost,
    LabRequest,
    Refusal,
    bundled_exercise,
    bundled_or_inline,
)
from simulator.server.pages import ServerPages
from simulator.sockets import HeldPort
from simulator.webserver import BODY_TIMEOUT, JSON_BODY_MAX, TIMEOUTS, server_options

CHECK_INTERVAL = 30.0       # wall seconds between two looks for idle labs
FIELDS = {"profile", "exercise", "seed", "virtual_time", "time_scale", "name", "ttl"}


def server_token(state_dir: Path, bind: str) -> str | None:
    """The token a server bound off loopback asks for: `STATE/control.token`, made once."""
    if is_loopback(bind):
        return None
    path = state_dir / "control.token"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


class LabServer:
    def __init__(self, host: LabHost, bind: str, port: int = 0, *, check_interval: float = CHECK_INTERVAL) -> None:
        self.labs, self.bind, self.port = host, bind, port
        self.check_interval = check_interval
        app = web.Application(middlewares=[self._middleware], client_max_size=JSON_BODY_MAX)
        app[BODY_TIMEOUT] = TIMEOUTS.body
        app.router.add_get("/api/openapi.json", get_openapi)
        app.router.add_get("/labs", self.list_labs)
        app.router.add_post("/labs", self.create_lab)
        app.router.add_get("/labs/{id}", self.get_lab)
        app.router.add_delete("/labs/{id}", self.delete_lab)
        # the lab's snapshots (/api/snapshots...) also where the lab server's users look for them
        app.router.add_get("/labs/{id}/snapshots", self.alias)
        app.router.add_post("/labs/{id}/snapshots", self.alias)
        app.router.add_post("/labs/{id}/snapshots/{sid}/restore", self.alias)
        app.router.add_get("/labs/{id}/grade", self.alias)         # an exercise's grade: its /api/grade
        app.router.add_route("*", "/labs/{id}/{tail:.*}", self.dispatch)
        ServerPages(self).add_routes(app)               # the dashboard at /ui/ (HTML, not in openapi.yaml)
        self.runner = web.AppRunner(app, **server_options(TIMEOUTS))
        self.held: HeldPort | None = None
        self._expiry: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{f'[{self.bind}]' if ':' in self.bind else self.bind}:{self.port}"

    async def start(self) -> None:
        await self.runner.setup()
        self.held = HeldPort(self.bind, self.port, self.labs.ports)
        self.port = self.held.number
        await web.SockSite(self.runner, self.held.listen()).start()
        self._expiry = asyncio.get_running_loop().create_task(self._expire_idle())

    async def stop(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry
        await self.labs.close()
        await self.runner.cleanup()
        if self.held is not None:
            self.held.close()

    async def _expire_idle(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval)
            await self.labs.expire()

    # -- /labs ---------------------------------------------------------------------------
    def _hosted(self, request: web.Request) -> Hosted:
        hosted = self.labs.get(request.match_info["id"])
        if hosted is None:
            raise ApiError(404, f"no lab {request.match_info['id']!r} on this server")
        return hosted

    def entry(self, request: web.Request, hosted: Hosted) -> dict[str, Any]:
        lab = hosted.lab
        return {"id": hosted.id, "name": lab.name, "profile": hosted.source,
                "exercise": lab.exercise.name if lab.exercise else None,
                "control_url": f"{request.url.origin()}/labs/{hosted.id}", "devices": len(lab.devices),
                "clock": clock_entry(lab), "created": _iso(hosted.created), "ttl": hosted.ttl,
                "idle": round(hosted.idle, 1), "state_dir": str(lab.state_dir)}

    def detail(self, request: web.Request, hosted: Hosted) -> dict[str, Any]:
        """The entry with the lab's endpoints, its control URL the server's."""
        entry = self.entry(request, hosted)
        endpoints = hosted.lab.endpoints()
        endpoints["control"] = {"url": entry["control_url"]}
        return {**entry, "endpoints": endpoints}

    async def list_labs(self, request: web.Request) -> web.StreamResponse:
        labs = list(self.labs.labs.values())
        return await paged(request, labs, lambda hosted: self.entry(request, hosted))

    async def create_lab(self, request: web.Request) -> web.Response:
        body = await body_of(request)
        unknown = sorted(set(body) - FIELDS)
        if unknown:
            raise ApiError(400, f"unknown field(s) {', '.join(unknown)}; a lab takes {', '.join(sorted(FIELDS))}")
        ref, drill = text(body, "profile"), text(body, "exercise")
        if bool(ref) == bool(drill):
            raise ApiError(400, "give `profile` (a bundled profile's name or the profile's YAML text) or `exercise` "
                                "(a bundled exercise's name)")
        exercise = None
        try:
            if drill:
                exercise, yaml_text = bundled_exercise(drill)
                profile, source = exercise.profile, f"exercise {exercise.name}"
            else:
                profile, source, yaml_text = bundled_or_inline(ref or "")
        except profiles.ProfileError as exc:      # an ExerciseError is one
            raise ApiError(400, str(exc)) from None
        name = text(body, "name")
        if name is not None and not NAME.fullmatch(name):
            raise ApiError(400, f"`name` must be 1 to 64 letters, digits, '.', '_' or '-' (got {name!r})")
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
            raise ApiError(400, f"`seed` must be a whole number from 0 (got {seed!r})")
        virtual = body.get("virtual_time", False)
        if not isinstance(virtual, bool):
            raise ApiError(400, f"`virtual_time` must be true or false (got {virtual!r})")
        scale = number(body, "time_scale", required=False, positive=True)
        if virtual and scale is not None:
            raise ApiError(400, "give `virtual_time` or `time_scale`, not both")
        ttl = number(body, "ttl", required=False, positive=True)
        if ttl is not None and ttl > MAX_TTL:
            raise ApiError(400, f"`ttl` must be at most {MAX_TTL:.0f} seconds")
        hosted = await self.labs.create(LabRequest(profile, source, yaml_text, exercise, name, seed, virtual, scale,
                                                   ttl))
        return web.json_response(self.detail(request, hosted), status=201)

    async def get_lab(self, request: web.Request) -> web.Response:
        hosted = self._hosted(request)
        hosted.touch()
        return web.json_response(self.detail(request, hosted))

    async def delete_lab(self, request: web.Request) -> web.Response:
        hosted = self._hosted(request)
        keep = request.query.get("keep_state", "false")
        if keep not in ("true", "false"):
            raise ApiError(400, f"`keep_state` must be true or false (got {keep!r})")
        entry = self.entry(request, hosted)
        await self.labs.delete(hosted.id, keep_state=keep == "true")
        return web.json_response({**entry, "deleted": True, "state_dir": entry["state_dir"] if keep == "true" else None})

    # -- /labs/{id}/...: the lab's own control application ----------------------------------
    async def alias(self, request: web.Request) -> web.StreamResponse:
        """`/labs/{id}/snapshots...` and `/labs/{id}/grade`: the lab's `/api/snapshots...` and `/api/grade`."""
        return await self.dispatch(request, api=True)

    async def dispatch(self, request: web.Request, api: bool = False) -> web.StreamResponse:
        hosted = self._hosted(request)
        prefix = f"/labs/{hosted.id}"
        path = ("/api" if api else "") + (request.rel_url.raw_path[len(prefix):] or "/")
        query = request.rel_url.raw_query_string
        inner = request.clone(rel_url=URL(path + (f"?{query}" if query else ""), encoded=True))
        hosted.busy += 1
        hosted.touch()
        try:
            # Application._handle: what aiohttp's server calls for each request (routing, then the
            # application's middleware); the lab's application is frozen and served on its own port too.
            return await hosted.lab.control.app._handle(inner)
        finally:
            hosted.busy -= 1
            hosted.touch()

    # -- auth and errors ---------------------------------------------------------------------
    def _authorized(self, request: web.Request) -> bool:
        """The control API's rule: a Bearer token, or what a browser offers for the dashboard pages."""
        token = self.labs.token
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        offered = credentials.strip() if scheme.lower() == "bearer" else ui.offered_token(request)
        given = offered.encode("utf-8", "surrogateescape")
        return token is None or (bool(given) and secrets.compare_digest(given, token.encode()))

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self._authorized(request):
            return web.json_response({"error": "missing or wrong token: send Authorization: Bearer <token>, the "
                                               "token in control.token in the server's state directory"},
                                     status=401, headers={"WWW-Authenticate": "Bearer"})
        try:
            if (request.content_length or 0) > JSON_BODY_MAX:
                raise web.HTTPRequestEntityTooLarge(JSON_BODY_MAX, request.content_length or 0)
            return await handler(request)
        except (ApiError, Refusal) as exc:
            return web.json_response({"error": exc.message}, status=exc.status)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return http_error(request, exc)


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@cache
def _openapi() -> dict[str, Any]:
    return read_yaml("server/openapi.yaml")


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(_openapi())

