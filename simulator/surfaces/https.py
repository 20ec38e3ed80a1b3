"""The HTTPS surface: every device's web server, one listening socket per
device, serving the APIs its kind declares (`Https`: FDM on an FTD, the FXOS
API on a chassis; an FMC, SPS or Redfish next). The device a request is for
is found from the local port it arrived on.

What every API shares is done here, once: the device's web server follows
the device (`Https.web_mode`: serve, answer 503 while applications start or
shut down, refuse connections while it boots or is off), the `https.request`
fault point, the translation of errors into the API's own error envelope,
the journal, and the limits that keep one client from taking the lab down:
a body larger than its route allows is refused (413) before it is read,
JSON nested deeper than any API document is refused as malformed
(`webserver.parse_json`), a connection that finishes no request head or JSON body in
time is closed (`Timeouts`, wall time: they protect the host), and a
malformed request is logged as one line. An API brings its routes, its per-device
state (login sessions, reset whenever the web server stops: tokens do not
survive a reboot), its request check (tokens, versions) and its error
envelope."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from aiohttp import web

from simulator import webserver
from simulator.journal import Event, Journal
from simulator.kinds.base import Refused
from simulator.sockets import HeldPort, PortRange
from simulator.surfaces.following import DeviceListener, FollowingSurface, Listener
from simulator.webserver import BODY_TIMEOUT, JSON_BODY_MAX, Timeouts, server_options

Mode = Literal["serve", "unavailable", "closed"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

class ApiState(Protocol):
    def reset(self) -> None: ...


@runtime_checkable
class ExpiringSessions(Protocol):
    """An API state whose login sessions the control API can end at once (tests of expiry)."""

    def expire_sessions(self) -> int:
        """End every session now; how many there were."""


class ApiError(Exception):
    """An error an API answers in its own envelope (each API subclasses it)."""

    status: int

    def response(self) -> web.Response:
        raise NotImplementedError


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    auth: bool = True                 # needs the API's login (token)
    operation: str | None = None      # the API description's operationId
    max_body: int | None = None       # its largest body (an upload's), if not the API's JSON limit


@dataclass(frozen=True)
class Api:
    """One REST API a device serves."""

    name: str
    routes: Sequence[Route]
    new_state: Callable[[Any], ApiState]                       # per device
    error: Callable[[int, str | None], ApiError]               # an error of this API (text None: its usual one)
    refused: Callable[[Refused], ApiError]                     # a model's refusal in this API's terms
    check: Callable[[web.Request, Route], Awaitable[None]]     # raises ApiError unless the request may go on
    max_body: int = JSON_BODY_MAX                              # a route's body unless it says otherwise


@dataclass(frozen=True, eq=False)
class Https:
    """A kind's web server: its APIs (on the device's one HTTPS port) and how it follows the device."""

    apis: tuple[Api, ...]
    web_mode: Callable[[Any], Mode]
    unavailable: str                   # the 503 page while the applications behind it are not up


SITE = web.RequestKey("site", object)
STATE = web.RequestKey("api_state", object)


def site_of(request: web.Request) -> DeviceSite:
    return request[SITE]  # type: ignore[return-value]


def device_of(request: web.Request) -> Any:
    return site_of(request).device


def state_of(request: web.Request) -> Any:
    """The per-device state of the API the request is for."""
    return request[STATE]


class DeviceSite(DeviceListener):
    """One device's HTTPS listener and the state of each of its APIs."""

    SURFACE = "https"

    def __init__(self, surface: HTTPSSurface, device: Any, port: HeldPort, fs_root: Path, https: Https) -> None:
        super().__init__(surface, device, port, fs_root)
        self.surface: HTTPSSurface = surface
        self.https = https
        self.mode: Mode = "closed"
        self.server: asyncio.Server | None = None
        self.states = {api.name: api.new_state(device) for api in https.apis}

    @property
    def url(self) -> str:
        host = self.surface.host
        return f"https://{f'[{host}]' if ':' in host else host}:{self.port}"

    def expire_sessions(self) -> int | None:
        """End the login sessions of every API that has them; None when none keeps sessions."""
        states = [s for s in self.states.values() if isinstance(s, ExpiringSessions)]
        return sum(s.expire_sessions() for s in states) if states else None

    @property
    def in_step(self) -> bool:
        return self.https.web_mode(self.device) == self.mode

    async def _follow(self) -> None:
        mode = self.https.web_mode(self.device)
        if self.mode == "serve":
            for state in self.states.values():
                state.reset()           # tokens do not survive a reboot
        if mode == "closed":
            await self._close()
        elif self.server is None:
            await self._listen()
        self.mode = mode

    async def _listen(self) -> None:
        runner = await self.surface.runner_for(self.https)
        assert runner.server is not None
        self.server = await asyncio.get_running_loop().create_server(
            runner.server, sock=self.held.listen(), ssl=self.surface.ssl_context,
            ssl_handshake_timeout=self.surface.timeouts.handshake)

    async def _close(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.close()
        self.held.refuse()
        await self._abort_connections()

    async def drop_sessions(self) -> None:
        """The device was put back to a snapshot: tokens and connections end as at a reboot (the port stays)."""
        for state in self.states.values():
            state.reset()
        await self._abort_connections()

    async def _abort_connections(self) -> None:
        # Keep-alive connections die with the box.
        web_server = (await self.surface.runner_for(self.https)).server
        for handler in list(web_server.connections) if web_server else []:
            transport = handler.transport
            if transport is not None and (transport.get_extra_info("sockname") or (None, None))[1] == self.port:
                transport.abort()


class HTTPSSurface(FollowingSurface):
    """Every device's HTTPS endpoint, kept in step with device state through the journal."""

    def __init__(self, journal: Journal, host: str, ssl_context: ssl.SSLContext,
                 timeouts: Timeouts | None = None, ports: PortRange | None = None) -> None:
        super().__init__(journal)
        self.host = host
        self.ports = ports
        self.ssl_context = ssl_context
        self.timeouts = timeouts or webserver.TIMEOUTS
        self.sites: dict[str, DeviceSite] = {}
        self.by_port: dict[int, DeviceSite] = {}
        self._runners: dict[int, web.AppRunner] = {}     # id(Https) -> its application's runner

    def add(self, device: Any, port: int, fs_root: Path, https: Https) -> DeviceSite:
        site = DeviceSite(self, device, HeldPort(self.host, port, self.ports), fs_root, https)
        self.sites[device.name] = site
        self.by_port[site.port] = site
        return site

    def site_for(self, request: web.BaseRequest) -> DeviceSite | None:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        return self.by_port.get(sockname[1]) if sockname else None

    async def runner_for(self, https: Https) -> web.AppRunner:
        """One aiohttp application per kind of web server, shared by its devices."""
        runner = self._runners.get(id(https))
        if runner is None:
            runner = web.AppRunner(_application(self, https), **server_options(self.timeouts))
            self._runners[id(https)] = runner
            await runner.setup()
        return runner

    def listeners(self) -> list[Listener]:
        return list(self.sites.values())

    def listener_for(self, event: Event) -> Listener | None:
        return self.sites.get(event["device"] or "")

    async def stop(self) -> None:
        await super().stop()
        for site in self.sites.values():
            if site.server is not None:
                site.server.close()
            site.held.close()
        for runner in self._runners.values():
            await runner.cleanup()


def _application(surface: HTTPSSurface, https: Https) -> web.Application:
    """The routes of every API of `https`, behind the shared middleware. A
    body read whole (JSON, `read_text`) is bounded by the APIs' limit and the
    body timeout; an upload route streams its body and bounds it itself."""
    routes: dict[tuple[str, str], tuple[Api, Route]] = {}
    app = web.Application(middlewares=[_middleware(surface, https, routes)],
                          client_max_size=max(api.max_body for api in https.apis))
    app[BODY_TIMEOUT] = surface.timeouts.body
    for api in https.apis:
        for route in api.routes:
            app.router.add_route(route.method, route.path, route.handler)
            routes[(route.method, route.path)] = (api, route)
    return app


def _middleware(surface: HTTPSSurface, https: Https, routes: dict[tuple[str, str], tuple[Api, Route]]) -> Any:
    @web.middleware
    async def serve(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        api, route = routes.get((request.method, resource.canonical if resource else ""), (https.apis[0], None))
        site = surface.site_for(request)
        if site is None:
            return api.error(404, "No device listens here.").response()
        if site.mode != "serve":
            # The web server is up but the applications behind it are not.
            return web.Response(status=503, content_type="text/html", text=https.unavailable)
        request[SITE], request[STATE] = site, site.states[api.name]
        device = site.device
        response: web.StreamResponse
        if (request.content_length or 0) > (route.max_body if route and route.max_body else api.max_body):
            response = too_large(api)
        else:
            response = await _with_fault(request, handler, api, route)
        if request.method != "GET" or response.status >= 400:
            device.ctx.journal.emit(device.name, "api", method=request.method, path=request.path,
                                    status=response.status)
        return response

    return serve


def too_large(api: Api) -> web.Response:
    """413 in the API's envelope, before the body is read; the connection closes after it."""
    response = api.error(413, None).response()
    response.force_close()
    return response


async def _with_fault(request: web.Request, handler: Handler, api: Api, route: Route | None) -> web.StreamResponse:
    """The answer, unless the `https.request` fault point resets, fails or delays it."""
    device = site_of(request).device
    fault = device.ctx.take_fault(device.name, "https.request")
    if fault is not None:
        if fault.action == "reset":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)      # never reaches the client
        if fault.action == "status":
            return api.error(fault.status or 503, fault.message).response()
        await device.ctx.clock.sleep(fault.seconds or 0)
    return await _answer(request, handler, api, route)


async def _answer(request: web.Request, handler: Handler, api: Api, route: Route | None) -> web.StreamResponse:
    """The handler's answer, or its failure in the API's own error envelope."""
    try:
        if route is not None:
            await api.check(request, route)
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except Refused as exc:
        return api.refused(exc).response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_error(api, exc)
    except Exception as exc:   # a simulator bug: say so in the API's terms, keep serving
        device = site_of(request).device
        device.ctx.journal.emit(device.name, "api.error", path=request.path, error=repr(exc))
        return api.error(500, "Internal error in the simulator; see the lab journal.").response()


def _http_error(api: Api, exc: web.HTTPException) -> web.Response:
    """aiohttp's own refusal (no route, method not allowed, body too large or
    too slow) in the API's envelope, with the headers it needs (Allow on a 405)."""
    if exc.status == 413:
        return too_large(api)
    response = api.error(exc.status, None if exc.status == 404 else exc.reason).response()
    if "Allow" in exc.headers:
        response.headers["Allow"] = exc.headers["Allow"]
    if exc.status == 408:
        response.force_close()
    return response
