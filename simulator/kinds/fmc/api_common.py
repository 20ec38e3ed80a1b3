"""What every FMC API handler shares: the error envelope, the device and
domain of a request, paged lists and JSON bodies."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulator.kinds.base import Refused
from simulator.kinds.fmc import api_views as views
from simulator.kinds.fmc.facts import fmc, text
from simulator.kinds.fmc.model import FmcDevice
from simulator.surfaces.https import ApiError, device_of
from simulator.webserver import parse_json, read_text


class FmcError(ApiError):
    """An error in FMC's envelope: {"error": {"category", "messages": [{"description"}], "severity"}}."""

    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.headers = status, description, headers or {}

    def response(self) -> web.Response:
        body = {"error": {"category": "FRAMEWORK", "messages": [{"description": self.description}],
                          "severity": "ERROR"}}
        return web.json_response(body, status=self.status, headers=self.headers)


def fmc_error(status: int, description: str | None) -> FmcError:
    """An error for a status the shared middleware meets (no route, too large, a fault, a bug)."""
    if status == 413:       # FMC answers an oversized payload with 422 (fmcapi, fireREST)
        return FmcError(422, text("payload", limit=fmc().api.payload_max))
    if description is None:
        description = text("no_route") if status == 404 else text("internal")
    return FmcError(status, description)


def refused(exc: Refused) -> FmcError:
    return FmcError(404 if exc.reason == "not_found" else 400, exc.message)


def the_fmc(request: web.Request) -> FmcDevice:
    return device_of(request)


def domain_of(request: web.Request) -> str:
    return request.match_info["domainUUID"]


def _query_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise FmcError(400, text("bad_limit", name=name, value=raw)) from None
    if value < 0:
        raise FmcError(400, text("bad_limit", name=name, value=raw))
    return value


def listing(request: web.Request, items: list[dict[str, Any]], whole: bool = False) -> web.Response:
    """`offset`, `limit` (default 25, at most 1000: more is cut to 1000) and `expanded`
    (`whole`: items that have no short form, as serverversion's and domain's)."""
    default, cap = views.limits()
    limit = min(_query_int(request, "limit", default), cap) or default
    flag = request.query.get("expanded", "false").lower()
    if flag not in ("true", "false"):
        raise FmcError(400, text("bad_limit", name="expanded", value=request.query["expanded"]))
    expanded = whole or flag == "true"
    return web.json_response(views.page(request, items, _query_int(request, "offset", 0), limit, expanded))


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = parse_json(await read_text(request))
    except ValueError:
        raise FmcError(400, text("bad_request")) from None
    if not isinstance(body, dict):
        raise FmcError(400, text("bad_request"))
    return body
