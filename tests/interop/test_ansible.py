"""Ansible against the lab, as a user runs it: `ansible-playbook` in a subprocess
with an inventory and a playbook, read through the JSON stdout callback.

- cisco.asa over `ansible.netcommon.network_cli` (libssh, then paramiko) on the
  `asa-ha` pair: asa_facts on both units (with the acls and ogs resources), asa_command `show failover`, asa_config
  changing one line (changed, then not changed on the second run).
- community.network's FDM modules over `ansible.netcommon.httpapi` on an FTDv:
  ftd_configuration upserts a network object (changed, not changed, changed on
  a new value) and finds it with `filters`.

The `ansible` extra (pyproject.toml) installs Ansible 11, the last release that
bundles both collections; without `ansible-playbook` the tests skip.
Each `ansible-playbook` start costs seconds, so each test runs as few as it can."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.clients


def _executable(name: str) -> str | None:
    """Next to this interpreter first (a venv not on PATH), then on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else shutil.which(name)


PLAYBOOK = _executable("ansible-playbook")
if PLAYBOOK is None:
    pytest.skip("ansible-playbook is not installed (pip install -e '.[ansible]')", allow_module_level=True)


def _ini(groups: dict[str, dict[str, dict[str, Any]]], common: dict[str, Any]) -> str:
    lines = []
    for group, hosts in groups.items():
        lines.append(f"[{group}]")
        lines += [name + "".join(f" {k}={v}" for k, v in hostvars.items()) for name, hostvars in hosts.items()]
    lines.append("[all:vars]")
    lines += [f"{k}={v}" for k, v in common.items()]
    return "\n".join(lines) + "\n"


def _playbook(tmp: Path, inventory: str, plays: list[dict[str, Any]], **extra_vars: str) -> dict[str, dict]:
    """Run the plays; return {task name: {host: result}} from the JSON callback."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "home").mkdir(exist_ok=True)
    (tmp / "hosts.ini").write_text(inventory)
    (tmp / "play.yml").write_text(json.dumps(plays))        # JSON is YAML
    # The persistent connections' sockets go in a short folder: under pytest's (xdist's) tmp_path
    # the path passes AF_UNIX's 108 bytes ("AF_UNIX path too long").
    sockets = Path(tempfile.mkdtemp(prefix="ans-pc-"))
    env = dict(os.environ, HOME=str(tmp / "home"), ANSIBLE_LOCAL_TEMP=str(tmp / "tmp"),
               ANSIBLE_PERSISTENT_CONTROL_PATH_DIR=str(sockets),
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_DEPRECATION_WARNINGS="False", ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="False",
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("ANSIBLE_CONFIG", None)
    command = [str(PLAYBOOK), "-i", "hosts.ini", "play.yml"]
    for key, value in extra_vars.items():
        command += ["-e", f"{key}={value}"]
    try:
        done = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=240)
    finally:
        _close_persistent(sockets)
        shutil.rmtree(sockets, ignore_errors=True)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"ansible-playbook printed no JSON (rc {done.returncode}):\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}") from None
    results = {t["task"]["name"]: t["hosts"] for play in report["plays"] for t in play["tasks"]}
    failed = {(task, host): r.get("msg") for task, hosts in results.items() for host, r in hosts.items()
              if r.get("failed") or r.get("unreachable")}
    assert not failed and done.returncode == 0, f"{failed}\n{done.stderr[-3000:]}"
    return results


def _close_persistent(sockets: Path) -> None:
    """ansible-playbook leaves its persistent connections (one `ansible-connection` process per
    host) to die after 30 idle seconds; close them now, as their own JSON-RPC `close` does."""
    from ansible.module_utils.connection import Connection, ConnectionError
    for socket_path in sockets.glob("*"):
        try:
            Connection(str(socket_path)).close()
        except ConnectionError:             # it went away by itself
            pass


# -- cisco.asa over network_cli -------------------------------------------------------------------------
DOMAIN = "domain-name lab.example.net"


def _asa_inventory(lab) -> str:
    hosts = {}
    for name in ("asa-a", "asa-b"):
        ssh = lab.endpoint(name)["ssh"]
        hosts[name] = {"ansible_host": ssh["host"], "ansible_port": ssh["port"]}
    ssh = lab.endpoint("asa-a")["ssh"]
    return _ini({"asa": hosts}, {
        "ansible_connection": "ansible.netcommon.network_cli", "ansible_network_os": "cisco.asa.asa",
        "ansible_user": ssh["username"], "ansible_password": ssh["password"],
        "ansible_become": "true", "ansible_become_method": "ansible.netcommon.enable",
        "ansible_become_password": ssh["enable_password"], "ansible_python_interpreter": sys.executable})


def _config_task(name: str) -> dict[str, Any]:
    return {"name": name, "cisco.asa.asa_config": {"lines": [DOMAIN], "save_when": "modified"}}


def test_cisco_asa_facts_command_and_config_over_libssh_then_paramiko(lab_runner, tmp_path):
    if importlib.util.find_spec("pylibsshext") is None:
        pytest.skip("ansible-pylibssh is not installed (the `ansible` extra)")
    lab = lab_runner("asa-ha")
    inventory = _asa_inventory(lab)
    serial = {name: lab.run(lambda n=name: lab.lab.device(n).serial) for name in ("asa-a", "asa-b")}

    first = _playbook(tmp_path / "libssh", inventory, [
        {"hosts": "asa", "gather_facts": False, "tasks": [
            {"name": "facts", "cisco.asa.asa_facts": {"gather_subset": ["all"],
                                                      "gather_network_resources": ["acls", "ogs"]}},
            {"name": "failover", "cisco.asa.asa_command": {"commands": ["show failover"]}}]},
        {"hosts": "asa-a", "gather_facts": False, "tasks": [_config_task("config")]},
    ], ansible_network_cli_ssh_type="libssh")

    for name in ("asa-a", "asa-b"):
        facts = first["facts"][name]["ansible_facts"]
        assert facts["ansible_net_system"] == "asa" and facts["ansible_net_api"] == "cliconf"
        assert facts["ansible_net_hostname"] == "fw"                 # a pair shares its hostname
        assert facts["ansible_net_version"] == "9.19(1)" and facts["ansible_net_model"] == "ASAv"
        assert facts["ansible_net_image"] == "disk0:/asa9-19-1-smp-k8.bin"
        assert facts["ansible_net_serialnum"] == serial[name]         # each unit its own
        assert facts["ansible_net_filesystems"] == ["disk0:"]
        assert facts["ansible_net_memtotal_mb"] == 8 * 1024 * 1024   # `show memory` bytes // 1024, as the module does
        assert 0 < facts["ansible_net_memfree_mb"] < facts["ansible_net_memtotal_mb"]
        assert "hostname fw" in facts["ansible_net_config"].splitlines()
        assert f": Serial Number: {serial[name]}" in facts["ansible_net_config"]
        acls = {acl["name"]: acl for acl in facts["ansible_network_resources"]["acls"]["acls"]}
        assert acls["outside_access_in"]["aces"][-1]["grant"] == "deny"            # the explicit deny ip any any
        groups = [g["object_type"] for g in facts["ansible_network_resources"]["ogs"]]
        assert "network" in groups
    assert serial["asa-a"] != serial["asa-b"]
    assert "This host: Primary - Active" in first["failover"]["asa-a"]["stdout"][0]
    assert "This host: Secondary - Standby Ready" in first["failover"]["asa-b"]["stdout"][0]
    assert first["config"]["asa-a"]["changed"] is True
    assert first["config"]["asa-a"]["updates"] == [DOMAIN]

    second = _playbook(tmp_path / "paramiko", inventory, [
        {"hosts": "asa-a", "gather_facts": False, "tasks": [_config_task("config again")]},
        {"hosts": "asa", "gather_facts": False, "tasks": [
            {"name": "running", "cisco.asa.asa_command": {"commands": ["show running-config",
                                                                      "show startup-config"]}}]},
    ], ansible_network_cli_ssh_type="paramiko")

    assert second["config again"]["asa-a"]["changed"] is False
    assert "updates" not in second["config again"]["asa-a"]
    for name in ("asa-a", "asa-b"):                  # replicated to the standby, saved on both
        running, startup = second["running"][name]["stdout"]
        assert DOMAIN in running.splitlines() and DOMAIN in startup.splitlines()


# -- community.network FDM modules over httpapi ---------------------------------------------------------
def test_community_network_ftd_configuration_upserts_a_network_object(lab_runner, tmp_path):
    lab = lab_runner("ftd-standalone")
    https = lab.endpoint("ftd-1")["https"]
    url = httpx.URL(https["url"])
    inventory = _ini({"ftd": {"ftd-1": {"ansible_host": url.host, "ansible_httpapi_port": url.port}}}, {
        "ansible_connection": "ansible.netcommon.httpapi", "ansible_network_os": "community.network.ftd",
        "ansible_user": https["username"], "ansible_password": https["password"],
        "ansible_httpapi_use_ssl": "true", "ansible_httpapi_validate_certs": "false",
        "ansible_python_interpreter": sys.executable})
    obj = {"name": "ansible-net", "subType": "NETWORK", "value": "198.51.100.0/24", "type": "networkobject"}

    def upsert(name: str, value: str) -> dict[str, Any]:
        return {"name": name, "community.network.ftd_configuration": {
            "operation": "upsertNetworkObject", "data": dict(obj, value=value), "register_as": "net"}}

    results = _playbook(tmp_path / "ftd", inventory, [{"hosts": "ftd", "gather_facts": False, "tasks": [
        upsert("create", "198.51.100.0/24"),
        upsert("again", "198.51.100.0/24"),
        upsert("change", "198.51.101.0/24"),
        {"name": "find", "community.network.ftd_configuration": {
            "operation": "getNetworkObjectList", "filters": {"name": "ansible-net"}}},
    ]}])

    created, again, changed = (results[t]["ftd-1"] for t in ("create", "again", "change"))
    assert created["changed"] is True and again["changed"] is False and changed["changed"] is True
    assert created["response"]["id"] == again["response"]["id"] == changed["response"]["id"]
    assert created["ansible_facts"]["net"]["value"] == "198.51.100.0/24"
    assert changed["response"]["value"] == "198.51.101.0/24"
    assert [o["id"] for o in results["find"]["ftd-1"]["response"]] == [created["response"]["id"]]

    with httpx.Client(base_url=https["url"] + "/api/fdm/latest", verify=False) as api:
        token = api.post("/fdm/token", json={"grant_type": "password", "username": https["username"],
                                             "password": https["password"]}).json()["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        seen = api.get("/object/networks", params={"filter": "name:ansible-net"}).json()["items"]
        assert [(o["id"], o["value"]) for o in seen] == [(created["response"]["id"], "198.51.101.0/24")]
        pending = api.get("/operational/pendingchanges").json()["items"]
        assert [(p["entityName"], p["actionType"]) for p in pending] == [("ansible-net", "ADD")]
