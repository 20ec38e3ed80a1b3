"""Ports a device keeps for life. Each is bound once, when the device joins
a surface, so nothing else on the machine can take it while the device
reboots, and its number is known (for the endpoints file) before the device
first serves. It listens only while the device serves: a bound socket that
does not listen refuses connections, as a box that is down does.

One descriptor per port: the held socket itself is handed to the server, and
when the server closes it (asyncio's servers close what they listen on) the
port is bound again at once, in the same step of the event loop."""

from __future__ import annotations

import errno
import socket

BACKLOG = 100
ATTEMPTS = 20       # tries at a free port when another program takes the one just found


class HeldPort:
    """One TCP port: bound from creation to `close()`, listening between `listen()` and `refuse()`."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.host = host
        self._sock: socket.socket | None = _bind(host, port)
        self.number: int = self._sock.getsockname()[1]
        self.listening = False

    def listen(self) -> socket.socket:
        """Accept connections on the held socket, for one server to own."""
        if self._sock is None:
            self._sock = _bind(self.host, self.number)
        if not self.listening:
            # SO_REUSEADDR while listening: connections accepted before, still open or in
            # TIME_WAIT on this port, do not block the listen, nor the next bind (they inherit it).
            _reuse(self._sock, True)
            self._sock.listen(BACKLOG)
            self.listening = True
        return self._sock

    def refuse(self) -> None:
        """Stop accepting (after the server closed its socket; connections not yet
        accepted are reset) and hold the port again, bound and exclusive."""
        if not self.listening:
            return
        self.listening = False
        if self._sock is not None:
            self._sock.close()
        self._sock = _bind(self.host, self.number)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.listening = False


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), exclusively: with SO_REUSEADDR off once
    bound, nobody else binds the port while it does not listen. Port 0 takes a
    free port by its number (the kernel would give an automatically chosen one
    back when the socket closes)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(ATTEMPTS):
        number = port or _free_port(host, family)
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            _reuse(sock, True)
            sock.bind((host, number))
            _reuse(sock, False)
        except OSError as exc:
            sock.close()
            if port or exc.errno != errno.EADDRINUSE:
                raise OSError(exc.errno, f"cannot listen on {host} port {number}: {exc.strerror}") from None
            continue
        sock.setblocking(False)
        return sock
    raise OSError(errno.EADDRINUSE, f"no free port on {host} after {ATTEMPTS} tries")


def _free_port(host: str, family: socket.AddressFamily) -> int:
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        number: int = probe.getsockname()[1]
        return number


def _reuse(sock: socket.socket, on: bool) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, int(on))
