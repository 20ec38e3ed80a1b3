"""FMC REST API sessions (`auth/generatetoken`, `auth/refreshtoken`) and the
per-client brakes: 120 requests a minute and 10 connections per client
address. A token lives 30 minutes and may be refreshed three times (QSG
6.2.2). Its lifetime counts in wall-clock time by default: clients such as
fmcapi renew by their own clock, so on a lab running 25 times faster
simulated minutes would kill their sessions; `token_clock: lab` counts it on
the lab clock instead, for tests of expiry."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from simulator.kinds.fmc.facts import fmc

CLIENTS_MAX = 4096          # client addresses whose recent requests are remembered (oldest forgotten)


@dataclass
class Grant:
    access: str
    refresh: str
    issued: float
    refreshes: int = 0


class FmcSessions:
    """A device's live tokens, bounded (the oldest go first)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.grants: OrderedDict[str, Grant] = OrderedDict()      # by access token

    def reset(self) -> None:
        self.grants.clear()

    def expire_all(self) -> int:
        """Every token dies now (the control API's hook); the clients log in again."""
        count = len(self.grants)
        self.grants.clear()
        return count

    def login(self) -> Grant:
        grant = Grant(secrets.token_hex(16), secrets.token_hex(16), self.now())
        self._keep(grant)
        return grant

    def valid(self, access: str | None) -> bool:
        grant = self.grants.get(access or "")
        return grant is not None and self.now() - grant.issued < fmc().api.token_lifetime

    def refresh(self, access: str | None, refresh: str | None) -> Grant | None:
        """A new pair for a token pair that may still be refreshed; None otherwise.
        An access token that expired may be refreshed (that is what refresh is for)."""
        grant = self.grants.get(access or "")
        if grant is None or grant.refresh != refresh or grant.refreshes >= fmc().api.max_refreshes:
            return None
        del self.grants[grant.access]
        renewed = Grant(secrets.token_hex(16), secrets.token_hex(16), self.now(), grant.refreshes + 1)
        self._keep(renewed)
        return renewed

    def _keep(self, grant: Grant) -> None:
        self.grants[grant.access] = grant
        while len(self.grants) > fmc().api.sessions_max:
            self.grants.popitem(last=False)


class RateLimit:
    """At most `rate_limit` requests per `rate_window` wall seconds per client address."""

    def __init__(self) -> None:
        self.recent: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """Count a request; seconds until the client may try again if it is over the limit."""
        api, now = fmc().api, time.monotonic()
        times = self.recent.pop(client, None) or deque(maxlen=api.rate_limit)
        self.recent[client] = times
        while len(self.recent) > CLIENTS_MAX:
            self.recent.popitem(last=False)
        while times and now - times[0] >= api.rate_window:
            times.popleft()
        if len(times) >= api.rate_limit:
            return max(1, int(api.rate_window - (now - times[0])) + 1)
        times.append(now)
        return None
