"""Device Manager API sessions: the OAuth-style grants of `POST /fdm/token`.

Tokens are HS256 JWTs (as on the device) signed with a secret made at each
boot, so tokens from before a reboot are rejected. Lifetimes run on the
simulated clock. At most `MAX_SESSIONS` sessions are live; a new login
beyond that expires the oldest (seed/reference: "exceeding it expires the
oldest session")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator.kinds.ftd import facts as ftd_facts

_TOKENS = ftd_facts.ftd().fdm_tokens
ACCESS_SECONDS, REFRESH_SECONDS = _TOKENS["access_seconds"], _TOKENS["refresh_seconds"]
CUSTOM_ACCESS_MAX, CUSTOM_REFRESH_MAX = _TOKENS["custom_access_max"], _TOKENS["custom_refresh_max"]
MAX_SESSIONS = _TOKENS["max_sessions"]
GRANTS = ("password", "refresh_token", "revoke_token", "custom_token")


class TokenError(Exception):
    """A grant that fails: HTTP 400 with `{status_code, message}`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _text(key: str, **values: Any) -> str:
    return ftd_facts.ftd().texts["token"][key].format(**values)


def _error(key: str, **values: Any) -> TokenError:
    return TokenError(_text(key, **values))


@dataclass
class _Session:
    id: str
    subject: str
    created: float
    access_jti: str
    access_exp: float
    refresh_jti: str
    refresh_exp: float
    access_s: float      # lifetimes, renewed at each refresh
    refresh_s: float
    refresh_count: int   # refreshes left (-1: unlimited)
    custom: bool = False


def _whole(value: Any) -> int:
    """A JSON integer (not a boolean, not a fraction)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FdmSessions:
    """One device's live API sessions."""

    def __init__(self, now: Callable[[], float], new_id: Callable[[], str],
                 credentials: Callable[[], tuple[str, str]]) -> None:
        self.now = now
        self.new_id = new_id
        self.credentials = credentials
        self.sessions: dict[str, _Session] = {}
        self._secret = b""
        self.reset()

    def reset(self) -> None:
        """The device rebooted: every token it issued is void."""
        self.sessions.clear()
        self._secret = self.new_id().encode()

    # -- tokens -------------------------------------------------------------------
    def _sign(self, claims: dict[str, Any]) -> str:
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        mac = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(mac)}"

    def _claims(self, token: str) -> dict[str, Any] | None:
        try:
            head, body, mac = token.split(".")
            good = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(good, _unb64(mac)):
                return None
            claims = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            return None
        return claims if isinstance(claims, dict) else None

    def _session_of(self, token: Any, kind: str) -> _Session | None:
        claims = self._claims(token) if isinstance(token, str) else None
        if claims is None or claims.get("tokenType") != kind:
            return None
        session = self.sessions.get(claims.get("sessionId", ""))
        if session is None:
            return None
        jti, exp = ((session.access_jti, session.access_exp) if kind == "JWT_Access"
                    else (session.refresh_jti, session.refresh_exp))
        if claims.get("jti") != jti or self.now() >= exp:
            return None
        return session

    def _issue(self, session: _Session) -> dict[str, Any]:
        now = self.now()
        session.access_jti, session.refresh_jti = self.new_id(), self.new_id()
        base = {"iat": int(now), "sub": session.subject, "sessionId": session.id,
                "refreshTokenExpiresAt": int((session.refresh_exp) * 1000)}
        access = self._sign({**base, "exp": int(session.access_exp), "jti": session.access_jti,
                             "tokenType": "JWT_Access"})
        refresh = self._sign({**base, "exp": int(session.refresh_exp), "jti": session.refresh_jti,
                              "tokenType": "JWT_Refresh"})
        return {"access_token": access, "expires_in": int(session.access_exp - now), "token_type": "Bearer",
                "refresh_token": refresh, "refresh_expires_in": int(session.refresh_exp - now)}

    def authenticate(self, token: str) -> str | None:
        """The subject of a live access token, or None."""
        session = self._session_of(token, "JWT_Access")
        return session.subject if session else None

    # -- grants ---------------------------------------------------------------------
    def grant(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _error("no_grant")
        grant = body.get("grant_type")
        if grant not in GRANTS:
            raise _error("grant_type", grant=repr(grant), grants=", ".join(GRANTS))
        self._expire()
        return getattr(self, f"_grant_{grant}")(body)

    def _expire(self) -> None:
        now = self.now()
        for sid in [s.id for s in self.sessions.values() if s.refresh_exp <= now and s.access_exp <= now]:
            del self.sessions[sid]

    def _new_session(self, subject: str, access_s: float, refresh_s: float, count: int, custom: bool) -> dict:
        live = sorted(self.sessions.values(), key=lambda s: s.created)
        for oldest in live[: max(0, len(live) - MAX_SESSIONS + 1)]:
            del self.sessions[oldest.id]
        now = self.now()
        session = _Session(self.new_id(), subject, now, "", now + access_s, "", now + refresh_s,
                           access_s, refresh_s, count, custom)
        self.sessions[session.id] = session
        return self._issue(session)

    def _grant_password(self, body: dict[str, Any]) -> dict[str, Any]:
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise _error("password_fields")
        if (username, password) != self.credentials():
            raise _error("credentials")
        return self._new_session(username, ACCESS_SECONDS, REFRESH_SECONDS, -1, custom=False)

    def _grant_refresh_token(self, body: dict[str, Any]) -> dict[str, Any]:
        session = self._session_of(body.get("refresh_token"), "JWT_Refresh")
        if session is None:
            raise _error("refresh_token")
        if session.refresh_count == 0:
            raise _error("refresh_spent")
        if session.refresh_count > 0:
            session.refresh_count -= 1
        now = self.now()
        session.access_exp, session.refresh_exp = now + session.access_s, now + session.refresh_s
        return self._issue(session)

    def _grant_revoke_token(self, body: dict[str, Any]) -> dict[str, Any]:
        if self._session_of(body.get("access_token"), "JWT_Access") is None:
            raise _error("access_token")
        target = body.get("token_to_revoke")
        session = self._session_of(target, "JWT_Access") or self._session_of(target, "JWT_Refresh")
        if session is None:
            raise _error("revoke_target")
        del self.sessions[session.id]
        return {"status_code": 200, "message": _text("revoked")}

    def _grant_custom_token(self, body: dict[str, Any]) -> dict[str, Any]:
        caller = self._session_of(body.get("access_token"), "JWT_Access")
        if caller is None or caller.custom:
            raise _error("custom_needs_access")
        try:
            access_s = _whole(body["desired_expires_in"])
            refresh_s = _whole(body["desired_refresh_expires_in"])
            subject = body["desired_subject"]
            count = _whole(body.get("desired_refresh_count", 0))
            if not isinstance(subject, str) or not subject:
                raise TypeError(subject)
        except (KeyError, TypeError, ValueError, OverflowError):
            raise _error("custom_fields") from None
        if not (0 < access_s <= CUSTOM_ACCESS_MAX and 0 < refresh_s <= CUSTOM_REFRESH_MAX and access_s <= refresh_s):
            raise _error("custom_range", access_max=CUSTOM_ACCESS_MAX, access=access_s, refresh_max=CUSTOM_REFRESH_MAX)
        return self._new_session(subject, access_s, refresh_s, count, custom=True)
