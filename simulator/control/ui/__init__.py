"""The lab's web dashboard at /ui/ on the control API: server-rendered pages
(lab, device, traffic, controls) with a little JavaScript that follows the
event stream, and each device's console in the browser (xterm.js, vendored
under static/xterm) over a WebSocket bridged to its console line.

Every link, fetch and WebSocket URL in the pages is relative, so a lab's
dashboard works as well under a lab server's /labs/{id}/ prefix. Off loopback
the control token is needed as for the API: once as `?token=` (a page answers
with a cookie holding it, SameSite=Strict, and the URL without it), then from
that cookie."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

TOKEN_COOKIE = "simulator_token"
STATIC = Path(__file__).parent / "static"


def offered_token(request: web.Request) -> str:
    """The token a browser offers in place of an Authorization header: the
    cookie, or `?token=` on a GET of a dashboard page."""
    if request.method == "GET" and "/ui/" in request.path and "token" in request.query:
        return request.query["token"]
    return request.cookies.get(TOKEN_COOKIE, "")


async def to_index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPMovedPermanently("ui/" + (f"?{request.query_string}" if request.query_string else ""))


def add_static(app: web.Application) -> None:
    """`/ui` to `/ui/`, and the pages' scripts, stylesheet and xterm.js."""
    app.router.add_get("/ui", to_index)
    app.router.add_static("/ui/static", STATIC, follow_symlinks=False)


def add_routes(app: web.Application) -> None:
    from simulator.control.ui import console, views  # they use the API's helpers (server.py imports us)

    add_static(app)
    app.router.add_get("/ui/", views.lab_page)
    app.router.add_get("/ui/device", views.device_page)
    app.router.add_get("/ui/traffic", views.traffic_page)
    app.router.add_get("/ui/controls", views.controls_page)
    app.router.add_get("/ui/exercise", views.exercise_page)
    app.router.add_get("/ui/console", console.bridge)
