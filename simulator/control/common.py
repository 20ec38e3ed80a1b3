"""What the control API of one lab (server.py) and the router in front of a sharded lab's
shards (router.py) share: errors, number fields, the loopback test. Light on purpose: the
router's process (a sharded lab's supervisor) imports no device runtime."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from simulator.webserver import JSON_BODY_MAX, parse_json, read_text

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def body_of(request: web.Request) -> dict[str, Any]:
    try:
        text = await read_text(request)
    except (UnicodeDecodeError, LookupError) as exc:       # not UTF-8, an unknown charset
        raise ApiError(400, f"request body is not UTF-8 text: {exc}") from None
    if not text:
        return {}
    try:
        body = parse_json(text)
    except ValueError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    return body


def text(body: dict[str, Any], name: str) -> str | None:
    """A string field (absent: None; null is not a string)."""
    value = body.get(name)
    if name in body and not isinstance(value, str):
        raise ApiError(400, f"`{name}` must be a string, not {value!r}")
    return value


MAX_NUMBER = 10 * 365 * 86400.0    # ten simulated years: more is a typo, not a test


def number(body: dict[str, Any], name: str, *, required: bool = True, positive: bool = False) -> float | None:
    """A number field (absent: None, unless required; null is not a number)."""
    if name not in body:
        if required:
            raise ApiError(400, f"`{name}` is required")
        return None
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(400, f"`{name}` must be a number, not {value!r}")
    if not 0 <= value <= MAX_NUMBER or positive and value == 0:
        raise ApiError(400, f"`{name}` must be {'above' if positive else 'at least'} 0 and at most {MAX_NUMBER:.0f}")
    return float(value)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    """aiohttp's refusal (no route, method not allowed, a body too large or too
    slow) as this API's error, with Allow on a 405; after a body it did not
    read whole, the connection closes."""
    text = f"request body larger than {JSON_BODY_MAX} bytes" if exc.status == 413 else \
        f"{exc.reason}: {request.method} {request.path}"
    response = web.json_response({"error": text}, status=exc.status,
                                 headers={name: value for name, value in exc.headers.items() if name == "Allow"})
    if exc.status in (408, 413):
        response.force_close()
    return response


async def stream_queue(request: web.Request, queue: asyncio.Queue[Any]) -> web.StreamResponse:
    """Server-sent events of what arrives on `queue` (each an event with `seq` and `kind`) until
    None (the lab stops) or the client goes; the caller unsubscribes after."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    try:
        await response.write(b": subscribed\n\n")
        while (item := await queue.get()) is not None:
            await response.write(f"id: {item['seq']}\nevent: {item['kind']}\ndata: "
                                 f"{json.dumps(item, default=str)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response
