"""The FMC REST API over real HTTPS (httpx), on the fmc-managed profile:
tokens and their refreshes, the 401 texts clients recognise, the brakes (429
with Retry-After, 422 payload), paging, device records, HA pairs, tasks."""

from __future__ import annotations

import json

import httpx
import pytest

PLATFORM = "/api/fmc_platform/v1"
GLOBAL = "e276abec-e0f2-11e3-8169-6d9ed49b625f"


def _profile(**fmc_options) -> dict:
    devices = [{"name": "fmc", "kind": "fmc", "model": "FMCv", "version": "7.6.0-113", **fmc_options},
               {"name": "ftd-a", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
               {"name": "ftd-b", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"},
               {"name": "ftd-{n}", "model": "FTDv", "version": "7.2.5-208", "managed_by": "fmc", "count": 3},
               {"name": "local-1", "model": "FTDv", "version": "7.4.1-172"}]
    return {"lab": "fmc-test", "devices": devices,
            "ha_pairs": [{"name": "ha", "primary": "ftd-a", "secondary": "ftd-b"}]}


@pytest.fixture
def fmc_lab(lab_runner):
    return lab_runner(_profile(domains=["Sales"]))


def _client(lab) -> httpx.Client:
    return httpx.Client(base_url=lab.endpoint("fmc")["https"]["url"], verify=False)


def _login(client: httpx.Client) -> httpx.Response:
    return client.post(f"{PLATFORM}/auth/generatetoken", auth=("admin", "Admin123"))


def _description(response: httpx.Response) -> str:
    return response.json()["error"]["messages"][0]["description"]


def test_generatetoken_answers_204_with_tokens_and_domains_in_headers(fmc_lab):
    with _client(fmc_lab) as client:
        response = _login(client)
        assert response.status_code == 204 and response.content == b""
        assert response.headers["DOMAIN_UUID"] == GLOBAL == response.headers["global"]
        domains = json.loads(response.headers["DOMAINS"])
        assert [d["name"] for d in domains] == ["Global", "Global/Sales"]
        assert response.headers["X-auth-access-token"] and response.headers["X-auth-refresh-token"]
        bad = client.post(f"{PLATFORM}/auth/generatetoken", auth=("admin", "wrong"))
        assert bad.status_code == 401 and "User authentication failed" in bad.text


def test_a_token_refreshes_three_times_then_the_client_logs_in_again(fmc_lab):
    with _client(fmc_lab) as client:
        headers = _login(client).headers
        for _ in range(3):
            response = client.post(f"{PLATFORM}/auth/refreshtoken", headers={
                "X-auth-access-token": headers["X-auth-access-token"],
                "X-auth-refresh-token": headers["X-auth-refresh-token"]})
            assert response.status_code == 204
            old, headers = headers, response.headers
            stale = client.get(f"{PLATFORM}/info/serverversion",
                               headers={"X-auth-access-token": old["X-auth-access-token"]})
            assert stale.status_code == 401 and "Access token invalid" in stale.text
        fourth = client.post(f"{PLATFORM}/auth/refreshtoken", headers={
            "X-auth-access-token": headers["X-auth-access-token"],
            "X-auth-refresh-token": headers["X-auth-refresh-token"]})
        assert fourth.status_code == 401 and "Invalid refresh token" in fourth.text
        ok = client.get(f"{PLATFORM}/info/serverversion",
                        headers={"X-auth-access-token": headers["X-auth-access-token"]})
        assert ok.status_code == 200


def test_on_the_lab_clock_a_token_expires_after_30_simulated_minutes(lab_runner):
    lab = lab_runner(_profile(token_clock="lab"))
    with _client(lab) as client:
        token = {"X-auth-access-token": _login(client).headers["X-auth-access-token"]}
        assert client.get(f"{PLATFORM}/info/serverversion", headers=token).status_code == 200
        lab.call(lab.lab.clock.advance(1801))
        expired = client.get(f"{PLATFORM}/info/serverversion", headers=token)
        assert expired.status_code == 401 and _description(expired) == "Access token invalid."


def test_serverversion_parses_as_the_clients_do(fmc_lab):
    with _client(fmc_lab) as client:
        token = {"X-auth-access-token": _login(client).headers["X-auth-access-token"]}
        item = client.get(f"{PLATFORM}/info/serverversion", headers=token).json()["items"][0]
        assert item["serverVersion"] == "7.6.0 (build 113)"
        assert {"vdbVersion", "sruVersion", "geoVersion", "lspVersion"} <= set(item)
        domains = client.get(f"{PLATFORM}/info/domain", headers=token).json()["items"]
        assert domains[0]["uuid"] == GLOBAL and domains[1]["name"] == "Global/Sales"


def test_device_records_page_with_full_next_urls_and_no_items_when_empty(fmc_lab):
    with _client(fmc_lab) as client:
        token = {"X-auth-access-token": _login(client).headers["X-auth-access-token"]}
        url = f"/api/fmc_config/v1/domain/{GLOBAL}/devices/devicerecords?limit=2&expanded=true"
        names, pages = [], 0
        while url:
            body = client.get(url, headers=token).json()
            names += [item["name"] for item in body["items"]]
            assert all("sw_version" in item for item in body["items"])
            url = body["paging"].get("next", [None])[0]
            assert url is None or url.startswith("https://")
            pages += 1
        assert names == ["ftd-a", "ftd-b", "ftd-1", "ftd-2", "ftd-3"] and pages == 3   # not the FDM-managed one
        capped = client.get(f"/api/fmc_config/v1/domain/{GLOBAL}/devices/devicerecords?limit=5000",
                            headers=token).json()
        assert capped["paging"]["limit"] == 1000 and "limit=1000" in capped["links"]["self"]
        assert set(capped["items"][0]) == {"id", "type", "name", "links"}
        sales = json.loads(_login(client).headers["DOMAINS"])[1]["uuid"]
        empty = client.get(f"/api/fmc_config/v1/domain/{sales}/devices/devicerecords", headers=token).json()
        assert "items" not in empty and empty["paging"]["count"] == 0
        missing = client.get(f"/api/fmc_config/v1/domain/{GLOBAL}/devices/devicerecords/nope", headers=token)
        assert missing.status_code == 404 and missing.json()["error"]["severity"] == "ERROR"


def test_ha_pair_switch_runs_as_a_task_and_moves_the_active_unit(fmc_lab):
    with _client(fmc_lab) as client:
        token = {"X-auth-access-token": _login(client).headers["X-auth-access-token"]}
        base = f"/api/fmc_config/v1/domain/{GLOBAL}"
        pair = client.get(f"{base}/devicehapairs/ftddevicehapairs?expanded=true", headers=token).json()["items"][0]
        assert pair["primary"]["name"] == "ftd-a" and pair["metadata"]["primaryStatus"]["currentStatus"] == "Active"
        response = client.put(f"{base}/devicehapairs/ftddevicehapairs/{pair['id']}", headers=token,
                              json={"id": pair["id"], "action": "SWITCH"})
        assert response.status_code == 200
        task_id = response.json()["metadata"]["task"]["id"]
        fmc_lab.wait_until(lambda lab: lab.device("fmc").tasks[task_id].done)
        task = client.get(f"{base}/job/taskstatuses/{task_id}", headers=token).json()
        assert task["status"] == "COMPLETED" and task["type"] == "TaskStatus"
        assert fmc_lab.run(lambda: fmc_lab.lab.pairs["ha"].active) == "ftd-b"
        bad = client.put(f"{base}/devicehapairs/ftddevicehapairs/{pair['id']}", headers=token,
                         json={"action": "FLIP"})
        assert bad.status_code == 400 and "SWITCH, HABREAK" in _description(bad)


def test_the_rate_limit_answers_429_with_retry_after(fmc_lab):
    with _client(fmc_lab) as client:
        token = {"X-auth-access-token": _login(client).headers["X-auth-access-token"]}
        statuses = [client.get(f"{PLATFORM}/info/serverversion", headers=token).status_code for _ in range(120)]
        assert statuses.count(200) == 119 and statuses[-1] == 429      # the login counted too
        limited = client.get(f"{PLATFORM}/info/serverversion", headers=token)
        assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 61


def test_a_payload_over_2048000_bytes_is_422(fmc_lab):
    with _client(fmc_lab) as client:
        token = {"X-auth-access-token": _login(client).headers["X-auth-access-token"]}
        response = client.put(f"/api/fmc_config/v1/domain/{GLOBAL}/devicehapairs/ftddevicehapairs/x",
                              headers={**token, "Content-Type": "application/json"}, content=b" " * 2048001)
        assert response.status_code == 422 and "2048000" in _description(response)


def test_a_managed_ftd_refuses_fdm_connections(fmc_lab):
    url = fmc_lab.endpoint("ftd-a")["https"]["url"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/api/fdm/latest/fdm/token", verify=False)
    assert httpx.get(fmc_lab.endpoint("local-1")["https"]["url"] + "/api/versions",
                     verify=False).status_code in (200, 401, 404)


def test_more_than_ten_connections_from_one_client_get_429(fmc_lab):
    import asyncio
    import ssl

    url = httpx.URL(fmc_lab.endpoint("fmc")["https"]["url"])
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE

    async def scenario() -> tuple[int, str, int]:
        held = [await asyncio.open_connection(url.host, url.port, ssl=context) for _ in range(10)]
        await asyncio.sleep(0.2)
        async with httpx.AsyncClient(verify=False) as client:
            over = await client.post(f"{url}{PLATFORM}/auth/generatetoken", auth=("admin", "Admin123"))
            for _, writer in held:
                writer.close()
            await asyncio.sleep(0.2)
            again = await client.post(f"{url}{PLATFORM}/auth/generatetoken", auth=("admin", "Admin123"))
        return over.status_code, over.text, again.status_code

    status, body, after = asyncio.run(scenario())
    assert status == 429 and "10 simultaneous connections" in body and after == 204


def test_the_brakes_are_switched_off_in_the_profile(lab_runner):
    lab = lab_runner(_profile(rate_limit=False, connection_limit=False))
    with _client(lab) as client:
        token = {"X-auth-access-token": _login(client).headers["X-auth-access-token"]}
        assert {client.get(f"{PLATFORM}/info/serverversion", headers=token).status_code for _ in range(130)} == {200}
