"""A client for the control API, for `simulator status|fault|clock|power|events`
run from another terminal. Standard library only (urllib)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class ControlError(Exception):
    """A control call that failed; str() is the message for the user."""


def find_lab(url: str | None, state_dir: Path | None) -> tuple[str, str | None]:
    """The control URL (and token) of the lab to talk to: `--url`, `--lab DIR`,
    $SIMULATOR_URL, or the one running lab under ./state/."""
    if url:
        return url.rstrip("/"), os.environ.get("SIMULATOR_TOKEN")
    if state_dir is None and os.environ.get("SIMULATOR_URL"):
        return os.environ["SIMULATOR_URL"].rstrip("/"), os.environ.get("SIMULATOR_TOKEN")
    candidates = [state_dir / "control.json"] if state_dir else sorted(Path("state").glob("*/control.json"))
    found = [p for p in candidates if p.exists()]
    if not found:
        where = state_dir or Path("state")
        raise ControlError(f"no running lab found in {where} (start one with `simulator up`, "
                           f"or pass --url / --lab STATE_DIR)")
    if len(found) > 1:
        raise ControlError("several running labs: pass --lab with one of "
                           + ", ".join(str(p.parent) for p in found))
    info = json.loads(found[0].read_text())
    token = Path(info["token_file"]).read_text().strip() if info.get("token_file") else None
    return info["url"], token


class ControlClient:
    def __init__(self, url: str, token: str | None = None, timeout: float = 600) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> urllib.request.Request:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        return request

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            with urllib.request.urlopen(self._request(method, path, body), timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", exc.reason)
            except ValueError:
                message = exc.reason
            raise ControlError(f"{message} (HTTP {exc.code})") from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ControlError(f"cannot reach the lab at {self.url}: {reason}") from None

    # -- snapshots (simulator/snapshots.py) ----------------------------------------------------
    def snapshots(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/api/snapshots")["items"])

    def save_snapshot(self, name: str | None = None) -> dict[str, Any]:
        return dict(self.call("POST", "/api/snapshots", {"name": name} if name is not None else {}))

    def restore_snapshot(self, snapshot_id: str) -> dict[str, Any]:
        return dict(self.call("POST", f"/api/snapshots/{urllib.parse.quote(snapshot_id, safe='')}/restore"))

    def delete_snapshot(self, snapshot_id: str) -> dict[str, Any]:
        return dict(self.call("DELETE", f"/api/snapshots/{urllib.parse.quote(snapshot_id, safe='')}"))

    def stream(self, path: str) -> Iterator[dict[str, Any]]:
        """Server-sent events, one decoded event at a time."""
        try:
            with urllib.request.urlopen(self._request("GET", path), timeout=None) as response:
                for raw in response:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("data: "):
                        yield json.loads(line[6:])
        except urllib.error.HTTPError as exc:
            raise ControlError(f"{exc.reason} (HTTP {exc.code})") from None
        except (urllib.error.URLError, ConnectionError) as exc:
            raise ControlError(f"lost the lab at {self.url}: {getattr(exc, 'reason', exc)}") from None
