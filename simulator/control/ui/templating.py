"""What every dashboard page shares, light enough for a sharded lab's router
(it imports no device runtime): the templates and their filters, the
presentation settings (ui.yaml), the page response and the token cookie."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from simulator.control.ui import TOKEN_COOKIE, plots
from simulator.facts import read_yaml

HERE = Path(__file__).parent


@cache
def settings() -> dict[str, Any]:
    return read_yaml("control/ui/ui.yaml")


@cache
def templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["colour"] = colour
    env.filters["hms"] = plots.hms
    env.filters["wall"] = wall
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": str}
    return env


def wall(seconds: float) -> str:
    """A wall-clock time as 2026-12-01 19:02:03 (UTC)."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def colour(state: str | None) -> str:
    """The colour class of a device, unit or pair state (ui.yaml)."""
    table = settings()["state_colours"]
    if state in table["ok"]:
        return "ok"
    if state in table["bad"]:
        return "bad"
    return "busy" if state and state.startswith(tuple(table["busy_prefixes"])) else "other"


def page(request: web.Request, template: str, **values: Any) -> web.Response:
    """A page of the lab's dashboard or of the lab server's (one base template for both)."""
    keep_token(request)
    html = templates().get_template(template).render(**values)
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})


def keep_token(request: web.Request) -> None:
    """A page opened with ?token= (already checked): the cookie, and the same page without it."""
    if "token" not in request.query:
        return
    rest = {k: v for k, v in request.query.items() if k != "token"}
    name = request.path.rsplit("/", 1)[1]
    location = f"./{name}" + (f"?{urlencode(rest)}" if rest else "")
    redirect = web.HTTPSeeOther(location)
    prefix = request.path[:request.path.rindex("/ui/") + 1]      # this lab's, under a lab server's /labs/{id}/
    redirect.set_cookie(TOKEN_COOKIE, request.query["token"], path=prefix, httponly=True, samesite="Strict")
    raise redirect
