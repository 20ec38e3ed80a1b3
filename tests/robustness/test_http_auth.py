"""Logins over HTTP (issue 12 item 14, HTTP side): the control API's 401
says where the token lives without the host's path and takes `Bearer` in any
case; the FXOS REST API caps a user's sessions as the chassis does (facts.yaml
`rest_sessions_per_user`; FDM's cap of five is tests/kinds/ftd/test_api.py's)."""

from __future__ import annotations

import httpx

from simulator.kinds.fxos.facts import fxos_data
from simulator.lab import Lab


async def test_control_401_names_the_token_file_but_not_the_state_directory(tmp_path):
    async with Lab("ftd-standalone", state_dir=tmp_path / "s", virtual_time=True, host="0.0.0.0") as lab:
        token = (tmp_path / "s" / "control.token").read_text().strip()
        url = f"http://127.0.0.1:{lab.control.port}/api/lab"
        async with httpx.AsyncClient() as client:
            for header in (None, "Bearer wrong", f"Basic {token}", f"Bearer {token}x", "Bearer \u00e9t\u00e9".encode()):
                r = await client.get(url, headers={"Authorization": header} if header else {})
                assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer", (header, r.text)
                assert "control.token" in r.json()["error"] and str(tmp_path) not in r.text
            for scheme in ("Bearer", "bearer", "BEARER"):
                r = await client.get(url, headers={"Authorization": f"{scheme} {token}"})
                assert r.status_code == 200, (scheme, r.text)


async def test_fxos_rest_caps_a_users_sessions(tmp_path):
    cap = fxos_data().rest_sessions_per_user
    async with Lab("fxos-4100-standalone", state_dir=tmp_path / "s", virtual_time=True) as lab:
        url = next(d for d in lab.endpoints()["devices"] if d["kind"] == "fxos")["https"]["url"]
        credentials = {"USERNAME": "admin", "PASSWORD": "Admin123"}
        async with httpx.AsyncClient(base_url=url, verify=False) as client:
            tokens = [(await client.post("/api/login", headers=credentials)).json()["token"] for _ in range(cap)]
            r = await client.post("/api/login", headers=credentials)
            assert r.status_code == 400 and r.json() == {"error-code": "572", "error-nr": "unidentified-fail",
                                                          "error-description": "User reached maximum session limit"}
            assert (await client.get("/api/slot", headers={"TOKEN": tokens[0]})).status_code == 200
            assert (await client.post("/api/logout", headers={"TOKEN": tokens[0]})).status_code == 200
            assert (await client.post("/api/login", headers=credentials)).status_code == 200
        refused = [e for e in lab.journal.events if e["kind"] == "api.login" and not e["ok"]]
        assert [e["error"] for e in refused] == ["572"]
