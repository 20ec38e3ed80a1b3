"""Listening sockets made by hand, so a surface knows its port before it
serves and can bind the same port again after a device reboot."""

from __future__ import annotations

import socket


def bind(host: str, port: int) -> socket.socket:
    """A non-blocking TCP socket bound to (host, port); port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock
