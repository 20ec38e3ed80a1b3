"""What the SPS REST tests share: a standalone lab, and a client logged in as
safeguard-ps logs in (Basic once, then the session_id cookie)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest


@pytest.fixture
def sps_lab(lab_runner):
    return lab_runner("sps-standalone")


@contextmanager
def logged_in(lab, node: str = "sps-1", headers: dict[str, str] | None = None) -> Iterator[httpx.Client]:
    https = lab.endpoint(node)["https"]
    with httpx.Client(base_url=https["url"], verify=False, headers=headers) as client:
        assert client.get("/api/authentication", auth=(https["username"], https["password"])).status_code == 200
        yield client


def error_type(response: httpx.Response) -> str:
    return response.json()["error"]["type"]
