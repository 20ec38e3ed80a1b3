"""What every aiohttp server of the lab shares, the devices' HTTPS surface
and the control API alike: the limits that keep one client from taking the
lab down (JSON bodies bounded in size and depth, a body whole within its
time, idle and trickling connections closed) and one-line logging of
malformed requests."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

JSON_BODY_MAX = 1 << 20      # a JSON body (an API document is a few KB): nginx's default client_max_body_size
JSON_DEPTH_MAX = 32          # nesting of a JSON body (the APIs' documents nest 5 levels at most)


@dataclass(frozen=True)
class Timeouts:
    """How long a web server waits for a client, in wall seconds (nginx's
    defaults). A connection that sends no complete request head within
    `idle` of opening or of its last answer is closed: it covers the idle
    keep-alive connection and the client that trickles header bytes alike."""

    handshake: float = 60.0      # TLS handshake (nginx client_header_timeout)
    idle: float = 75.0           # nginx keepalive_timeout
    body: float = 60.0           # a JSON body, whole (nginx client_body_timeout)


TIMEOUTS = Timeouts()            # the lab's; tests make them short
BODY_TIMEOUT = web.AppKey("body_timeout", float)


def _one_line(record: logging.LogRecord) -> bool:
    """A malformed request (bad request line, header, chunk) is the client's
    error, not the server's: one warning line instead of a traceback."""
    exc = record.exc_info[1] if record.exc_info else None
    if isinstance(exc, HttpProcessingError):
        detail = " ".join(str(exc).split())[:200]
        record.msg, record.args = f"{record.getMessage()}: {type(exc).__name__}: {detail}", None
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
    return True


HTTP_LOG = logging.getLogger("simulator.http")     # aiohttp's server log for every web server of the lab
HTTP_LOG.addFilter(_one_line)


def server_options(timeouts: Timeouts) -> dict[str, Any]:
    """aiohttp server settings every web server of the lab uses (the control API's too)."""
    return {"keepalive_timeout": timeouts.idle, "logger": HTTP_LOG, "access_log": None, "handle_signals": False}


async def read_text(request: web.Request) -> str:
    """The body as text, whole within the web server's body timeout (a client
    that trickles its body is answered 408 and closed)."""
    try:
        async with asyncio.timeout(request.app[BODY_TIMEOUT]):
            return await request.text()
    except TimeoutError:
        raise web.HTTPRequestTimeout() from None


def parse_json(text: str) -> Any:
    """A JSON document; ValueError when it is malformed or nested deeper than
    JSON_DEPTH_MAX (never a RecursionError)."""
    too_deep = ValueError(f"JSON nested deeper than {JSON_DEPTH_MAX} levels")
    try:
        value = json.loads(text)
    except RecursionError:
        raise too_deep from None
    if _deeper_than(value, JSON_DEPTH_MAX):
        raise too_deep
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
