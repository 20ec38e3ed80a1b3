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

ACCESS_SECONDS = 1800
REFRESH_SECONDS = 2400
CUSTOM_ACCESS_MAX = 31536000
CUSTOM_REFRESH_MAX = 34128000
MAX_SESSIONS = 5
GRANTS = ("password", "refresh_token", "revoke_token", "custom_token")


class TokenError(Exception):
    """A grant that fails: HTTP 400 with `{status_code, message}`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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
            raise TokenError("The request body must be a JSON object with a grant_type.")
        grant = body.get("grant_type")
        if grant not in GRANTS:
            raise TokenError(f"Unsupported grant_type {grant!r}; expected one of {', '.join(GRANTS)}.")
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
            raise TokenError("The password grant needs username and password.")
        if (username, password) != self.credentials():
            raise TokenError("Invalid username or password.")
        return self._new_session(username, ACCESS_SECONDS, REFRESH_SECONDS, -1, custom=False)

    def _grant_refresh_token(self, body: dict[str, Any]) -> dict[str, Any]:
        session = self._session_of(body.get("refresh_token"), "JWT_Refresh")
        if session is None:
            raise TokenError("Invalid or expired refresh token.")
        if session.refresh_count == 0:
            raise TokenError("The refresh token may not be refreshed any more.")
        if session.refresh_count > 0:
            session.refresh_count -= 1
        now = self.now()
        session.access_exp, session.refresh_exp = now + session.access_s, now + session.refresh_s
        return self._issue(session)

    def _grant_revoke_token(self, body: dict[str, Any]) -> dict[str, Any]:
        if self._session_of(body.get("access_token"), "JWT_Access") is None:
            raise TokenError("Invalid or expired access token.")
        target = body.get("token_to_revoke")
        session = self._session_of(target, "JWT_Access") or self._session_of(target, "JWT_Refresh")
        if session is None:
            raise TokenError("Invalid or expired token_to_revoke.")
        del self.sessions[session.id]
        return {"status_code": 200, "message": "Token has been revoked."}

    def _grant_custom_token(self, body: dict[str, Any]) -> dict[str, Any]:
        caller = self._session_of(body.get("access_token"), "JWT_Access")
        if caller is None or caller.custom:
            raise TokenError("A custom token needs a live access token from a password grant.")
        try:
            access_s = _whole(body["desired_expires_in"])
            refresh_s = _whole(body["desired_refresh_expires_in"])
            subject = body["desired_subject"]
            count = _whole(body.get("desired_refresh_count", 0))
            if not isinstance(subject, str) or not subject:
                raise TypeError(subject)
        except (KeyError, TypeError, ValueError, OverflowError):
            raise TokenError("A custom token needs desired_expires_in, desired_refresh_expires_in "
                             "and desired_subject.") from None
        if not (0 < access_s <= CUSTOM_ACCESS_MAX and 0 < refresh_s <= CUSTOM_REFRESH_MAX and access_s <= refresh_s):
            raise TokenError(f"desired_expires_in must be 1..{CUSTOM_ACCESS_MAX} and desired_refresh_expires_in "
                             f"{access_s}..{CUSTOM_REFRESH_MAX} seconds.")
        return self._new_session(subject, access_s, refresh_s, count, custom=True)
