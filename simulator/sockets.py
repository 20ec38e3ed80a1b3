"""Ports a device keeps for life, handed out by the lab from a range.

Each port is bound once, when the device joins a surface, so nothing else on
the machine can take it while the device reboots, and its number is known
(for the endpoints file) before the device first serves. It listens only
while the device serves: a bound socket that does not listen refuses
connections, as a box that is down does.

One descriptor per port, never unbound: the held socket itself is handed to
the server, and when the server closes it (asyncio's servers close what they
listen on) it only stops listening (shutdown of a listening socket: the
kernel resets the connections not yet accepted and keeps the port bound).

Numbers come from a `PortRange` the lab walks itself, skipping ports that are
taken: asking the kernel for port 0 thousands of times is quadratic (it
searches its ephemeral range for a free port each time; 19,500 listeners took
54 s that way, 0.24 s on explicit numbers). The default range leaves the
kernel's ephemeral range to outgoing connections."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

BACKLOG = 100
EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
S = TypeVar("S", bound=socket.socket)
LOWEST = 10000          # the default range starts here, above most services' well-known ports


class PortRange:
    """Port numbers handed out in order from one or more spans (`20000-59999`,
    `10000-32767,61000-65535`), each tried once per round, taken ones skipped."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        if not spans or any(not 1 <= first <= last <= 65535 for first, last in spans):
            raise ValueError(f"not a port range: {_text(spans)} (ports are 1 to 65535, first-last)")
        self.spans = spans
        self.size = sum(last - first + 1 for first, last in spans)
        self._next = 0          # index into the range of the next number to try

    @classmethod
    def parse(cls, text: str) -> PortRange:
        spans = []
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            try:
                spans.append((int(first), int(last or first)))
            except ValueError:
                raise ValueError(f"not a port range: {text!r} (e.g. 20000-59999 or 10000-32767,61000-65535)") \
                    from None
        return cls(spans)

    def __str__(self) -> str:
        return _text(self.spans)

    def holds(self, number: int) -> bool:
        return any(first <= number <= last for first, last in self.spans)

    def _number(self, index: int) -> int:
        for first, last in self.spans:
            if index <= last - first:
                return first + index
            index -= last - first + 1
        raise IndexError(index)

    def bind(self, host: str) -> _Held:
        """A TCP socket bound to the next free port of the range."""
        return self._walk(host, _bind)

    def bind_udp(self, host: str) -> socket.socket:
        """A UDP socket bound to the next free port of the range."""
        return self._walk(host, bind_udp)

    def _walk(self, host: str, bind: Callable[[str, int], S]) -> S:
        for _ in range(self.size):
            number = self._number(self._next)
            self._next = (self._next + 1) % self.size
            try:
                return bind(host, number)
            except OSError as exc:
                if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                    raise
        raise OSError(errno.EADDRINUSE, f"no free port left in the range {self} on {host}: give a wider one "
                                        f"(`ports:` in the profile, `simulator up --ports`)")


class Remembered(PortRange):
    """One lab's draw from a shared range (a lab server's): notes each port it takes, in order, and
    first asks for `previous` ones again (a restarted server's lab: the same calls in the same order
    get the same ports back). One taken meanwhile by another program is replaced from the range,
    past the ports in `avoid` (those other labs still to resume want back)."""

    def __init__(self, shared: PortRange, previous: dict[str, list[int]] | None = None,
                 avoid: set[int] | None = None) -> None:
        super().__init__(shared.spans)
        self.shared = shared
        self.taken: dict[str, list[int]] = {"tcp": [], "udp": []}
        self._previous = {proto: list(reversed(ports)) for proto, ports in (previous or {}).items()}
        self._avoid = avoid or set()

    def bind(self, host: str) -> _Held:
        return self._again("tcp", host, _bind, self.shared.bind)

    def bind_udp(self, host: str) -> socket.socket:
        return self._again("udp", host, bind_udp, self.shared.bind_udp)

    def _again(self, proto: str, host: str, bind: Callable[[str, int], S], walk: Callable[[str], S]) -> S:
        wanted = self._previous.get(proto)
        sock = None
        if wanted:
            number = wanted.pop()
            if self.shared.holds(number):       # a server restarted with another --ports walks its new range
                try:
                    sock = bind(host, number)
                except OSError:
                    pass
        if sock is None:
            aside: list[S] = []     # held while walking past them, so the walk moves on
            try:
                sock = walk(host)
                while sock.getsockname()[1] in self._avoid and len(aside) < len(self._avoid):
                    aside.append(sock)
                    sock = walk(host)
            finally:
                for held in aside:
                    if isinstance(held, _Held):
                        held.release()
                    else:
                        held.close()
        self.taken[proto].append(sock.getsockname()[1])
        return sock


@cache
def default_range() -> PortRange:
    """From LOWEST to 65535 less the kernel's ephemeral range (Linux: 32768-60999 unless tuned)."""
    try:
        low, high = (int(n) for n in EPHEMERAL.read_text().split())
    except (OSError, ValueError):
        low, high = 49152, 65535        # IANA's dynamic ports, elsewhere
    spans = [(first, last) for first, last in ((LOWEST, min(low - 1, 65535)), (max(high + 1, LOWEST), 65535))
             if first <= last]
    return PortRange(spans or [(LOWEST, 65535)])


class HeldPort:
    """One TCP port: bound from creation to `close()`, listening between `listen()` and `refuse()`.
    A fixed port (`port`) another program holds is not fatal: `error` says why, and `listen()`
    tries to bind it again (and raises while it cannot)."""

    def __init__(self, host: str, port: int = 0, ports: PortRange | None = None) -> None:
        self.host = host
        self.listening = False
        self.error: str | None = None
        self._sock: _Held | None = None
        if port:
            self.number = port
            try:
                self._sock = _bind(host, port)
            except OSError as exc:
                self.error = exc.strerror
        else:
            sock = (ports or default_range()).bind(host)
            self._sock = sock
            self.number = sock.getsockname()[1]

    def listen(self) -> socket.socket:
        """Accept connections on the held socket, for one server to own."""
        if self._sock is None:
            try:
                self._sock = _bind(self.host, self.number)
            except OSError as exc:
                self.error = exc.strerror
                raise
            self.error = None
        if not self.listening:
            # SO_REUSEADDR while listening: connections accepted before, still open or in
            # TIME_WAIT on this port, do not block the listen.
            _reuse(self._sock, True)
            self._sock.listen(BACKLOG)
            self._sock.stopped = False
            self.listening = True
        return self._sock

    def refuse(self) -> None:
        """Stop accepting (after the server "closed" its socket; connections not yet accepted
        are reset) and hold the port, bound and exclusive."""
        if not self.listening or self._sock is None:
            return
        self.listening = False
        self._sock.stop()
        if self._sock.fileno() < 0:        # a system whose listeners do not shut down: bind again
            self._sock = None
            try:
                self._sock = _bind(self.host, self.number)
            except OSError as exc:
                self.error = exc.strerror
        else:
            _reuse(self._sock, False)     # bound but not listening: with it on, another SO_REUSEADDR bind succeeds

    def close(self) -> None:
        if self._sock is not None:
            self._sock.release()
            self._sock = None
        self.listening = False


class _Held(socket.socket):
    """A held port's socket: a server's close() only stops it listening; `release()` closes it."""

    __slots__ = ("stopped",)    # no dict for each socket: a fleet holds five for each device

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopped = True     # not listening

    def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        try:
            self.shutdown(socket.SHUT_RDWR)
        except OSError:
            self.release()

    def release(self) -> None:
        super().close()


def _bind(host: str, port: int) -> _Held:
    """A socket bound to (host, port), exclusively: with SO_REUSEADDR off once
    bound, nobody else binds the port while it does not listen."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = _Held(family, socket.SOCK_STREAM)
    try:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            # Only now SO_REUSEADDR, for a port an earlier listener left in TIME_WAIT: tried first,
            # it would let another lab walking the same range bind the port in the instant before
            # we turn it off again (Linux shares a port between sockets that both set it).
            _reuse(sock, True)
            sock.bind((host, port))
            _reuse(sock, False)
    except OSError as exc:
        sock.release()
        raise OSError(exc.errno, _taken(host, port, exc.strerror)) from None
    sock.setblocking(False)
    return sock


def bind_udp(host: str, port: int) -> socket.socket:
    """A UDP socket bound to (host, port) (a BMC's IPMI port: bound for the lab's life, never shared)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, _taken(host, port, exc.strerror)) from None
    sock.setblocking(False)
    return sock


def _taken(host: str, port: int, why: str | None = None) -> str:
    return f"cannot listen on {host} port {port}: {why or 'Address already in use'}"


def _reuse(sock: socket.socket, on: bool) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, int(on))


def _text(spans: list[tuple[int, int]]) -> str:
    return ",".join(f"{first}-{last}" if first != last else f"{first}" for first, last in spans)
