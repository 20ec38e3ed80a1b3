"""Packages reach the FMC as on the product (`simulator fmc package add FILE`,
an internal server pointer with `--remote URL`), and a push copies them into
the FTD's /var/sf/updates, where its SFTP sees them: from the internal server
first (the device fetches it itself), then the FMC, with the fallback only on
FMC 7.6.1+ (seed 001, Copying Upgrade Packages to Devices)."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from simulator import cli
from tests.conftest import connect

PLATFORM = "/api/fmc_platform/v1"
PACKAGE = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"


def _profile(version: str = "7.6.0-113", **fmc_options) -> dict:
    return {"lab": "fmc-packages", "devices": [
        {"name": "fmc", "kind": "fmc", "model": "FMCv", "version": version, **fmc_options},
        {"name": "ftd-1", "model": "FTDv", "version": "7.4.1-172", "managed_by": "fmc"}]}


class Api:
    """The FMC's REST API, logged in."""

    def __init__(self, lab) -> None:
        self.client = httpx.Client(base_url=lab.endpoint("fmc")["https"]["url"], verify=False, timeout=30)
        headers = self.client.post(f"{PLATFORM}/auth/generatetoken", auth=("admin", "Admin123")).headers
        self.client.headers["X-auth-access-token"] = headers["X-auth-access-token"]
        self.lab = lab

    def packages(self) -> dict[str, dict]:
        return {p["name"]: p for p in self.client.get(f"{PLATFORM}/updates/upgradepackages").json().get("items", [])}

    def push(self, name: str) -> dict:
        """Push only, to ftd-1; the finished task."""
        ftd = self.lab.run(lambda: self.lab.lab.device("ftd-1").uuid)
        answer = self.client.post(f"{PLATFORM}/updates/upgrades", json={
            "upgradePackage": {"id": self.packages()[name]["id"], "type": "UpgradePackage"},
            "targets": [{"id": ftd, "type": "Device"}], "pushUpgradeFileOnly": True})
        assert answer.status_code == 202, answer.text
        task_id = answer.json()["metadata"]["task"]["id"]
        self.lab.wait_until(lambda running: running.device("fmc").tasks[task_id].done, timeout=60)
        domain = "e276abec-e0f2-11e3-8169-6d9ed49b625f"
        return self.client.get(f"/api/fmc_config/v1/domain/{domain}/job/taskstatuses/{task_id}").json()


def _ftd_updates(lab) -> dict[str, bytes]:
    """/var/sf/updates on ftd-1 as its SFTP shows it."""
    port = lab.endpoint("ftd-1")["ssh"]["port"]

    async def read() -> dict[str, bytes]:
        async with await connect(port) as conn:
            async with conn.start_sftp_client() as sftp:
                found = {}
                for name in await sftp.listdir("/var/sf/updates"):
                    if not name.startswith("."):
                        async with sftp.open(f"/var/sf/updates/{name}", "rb") as f:
                            found[name] = await f.read()
                return found
    return lab.call(read())


def _add(lab, *args: str) -> int:
    return cli.main(["fmc", "package", "add", *args, "--url", lab.lab.control.url])


@pytest.fixture
def server(tmp_path):
    """An internal web server for packages; the paths it was asked for."""
    folder, asked = tmp_path / "www", []
    folder.mkdir()

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            super().do_GET()

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder, asked
    httpd.shutdown()


def test_package_add_puts_the_file_on_the_fmc_and_a_push_copies_it_into_the_ftd(lab_runner, packages):
    lab = lab_runner(_profile())
    package = packages(PACKAGE)
    assert _add(lab, str(package)) == 0
    api = Api(lab)
    assert PACKAGE in api.packages()
    task = api.push(PACKAGE)
    assert task["status"] == "COMPLETED", task
    assert task["subTasks"][0]["message"] == "Upgrade package copied from the management center."
    assert _ftd_updates(lab) == {PACKAGE: package.read_bytes()}        # the FMC's own bytes
    assert lab.run(lambda: lab.lab.device("ftd-1").package.filename) == PACKAGE


def test_a_bad_package_add_gets_the_reason(lab_runner, tmp_path, capsys):
    lab = lab_runner(_profile())
    assert _add(lab, "--remote", "ftp://server/Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar") == 1
    assert "enter the full HTTP or HTTPS path" in capsys.readouterr().err
    stray = tmp_path / "notes.txt"
    stray.write_text("hello")
    assert _add(lab, str(stray)) == 1
    assert "not an upgrade package" in capsys.readouterr().err.replace("\n", " ")
    assert _add(lab, str(stray), "--fmc", "nope") == 1
    assert "no device 'nope'" in capsys.readouterr().err


def test_an_internal_server_pointer_is_fetched_by_the_device_itself(lab_runner, packages, server):
    url, folder, asked = server
    package = packages(PACKAGE)
    (folder / "fw").mkdir()
    (folder / "fw" / PACKAGE).write_bytes(package.read_bytes())
    lab = lab_runner(_profile())
    assert _add(lab, "--remote", f"{url}/fw/{PACKAGE}") == 0
    api = Api(lab)
    assert PACKAGE in api.packages()
    task = api.push(PACKAGE)
    assert task["status"] == "COMPLETED", task
    assert task["subTasks"][0]["message"] == "Upgrade package copied from the internal server."
    assert asked == [f"/fw/{PACKAGE}"]
    assert _ftd_updates(lab) == {PACKAGE: package.read_bytes()}


@pytest.mark.parametrize("version, outcome", [("7.6.0-113", "FAILED"), ("7.6.1-91", "COMPLETED")])
def test_the_fmc_is_a_fallback_for_a_failed_internal_server_only_from_7_6_1(lab_runner, server, version, outcome):
    url, _, asked = server
    lab = lab_runner(_profile(version, upgrade_packages=[PACKAGE, f"{url}/gone/{PACKAGE}"]))
    task = Api(lab).push(PACKAGE)
    assert asked == [f"/gone/{PACKAGE}"]                     # the internal server is always first
    assert task["status"] == outcome, task
    if outcome == "FAILED":
        assert f"From the internal server: {url}/gone/{PACKAGE}: 404 Not Found" in task["message"]
        assert _ftd_updates(lab) == {}
    else:
        assert task["subTasks"][0]["message"] == "Upgrade package copied from the management center."
        assert list(_ftd_updates(lab)) == [PACKAGE]
