"""The FTD device model through its Python API, on virtual time."""

import random

import pytest

from simulator.clock import Clock
from simulator.journal import Journal
from simulator.kinds.base import DeviceContext, Refused
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.packages import inspect_package, make_package


@pytest.fixture
def make(tmp_path):
    clock = Clock(virtual=True, start=1_700_000_000.0)
    ctx = DeviceContext(clock, Journal(clock.now), rng=random.Random(1))

    def build(model="FTDv", version="7.4.1-172", **kw) -> FtdDevice:
        return FtdDevice(ctx, f"ftd-{len(ctx.journal.events)}", model, version, **kw)

    def package(device: FtdDevice, name: str, **options) -> None:
        device.accept_package(inspect_package(make_package(name, tmp_path, **options)))

    build.package = package
    build.ctx = ctx
    return build


async def settle(device: FtdDevice) -> None:
    """Run the clock until the device is idle (no job in flight)."""
    await device.ctx.clock.run_until(
        lambda: device.state in ("online", "upgrade_failed", "unusable", "off")
        and (device.job is None or device.job.state != "IN_PROGRESS"))


UPGRADE_76 = "Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar"


def failing_upgrade(make, point: str, action: str = "fail", auto_cancel: bool = True,
                    package: str = UPGRADE_76, **fault):
    """An FTDv 7.4.1 starting an upgrade with a fault set at `point`: (device, job)."""
    ftd = make()
    make.package(ftd, package)
    make.ctx.faults.add(point, action, **fault)
    return ftd, ftd.start_upgrade(auto_cancel=auto_cancel)


async def test_major_upgrade_reboots_onto_new_version_with_revert_snapshot(make):
    ftd = make()
    make.package(ftd, UPGRADE_76)
    job = ftd.start_upgrade()
    assert ftd.state == "upgrade_readiness" and job.update_type == "major"
    states = []
    ftd.ctx.journal.subscribe(lambda e: e["kind"] == "state" and states.append(e["state"]), device=ftd.name)
    await settle(ftd)
    assert states == ["upgrade_install", "upgrade_reboot_shutdown", "upgrade_reboot_os", "upgrade_reboot_apps",
                      "upgrade_post", "online"]
    assert ftd.version == "7.6.0-113" and job.state == "COMPLETED" and job.percent == 100
    assert ftd.revert.version == "7.4.1-172" and ftd.package is None
    elapsed = job.finished - job.started
    assert 15 * 60 < elapsed < 40 * 60, "a major upgrade takes tens of simulated minutes"


async def test_lower_end_models_upgrade_slower(make):
    fast, slow = make("SF-3120", "7.4.1-172"), make("FPR-1120", "7.4.1-172")
    make.package(fast, "Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar")
    make.package(slow, "Cisco_FTD_SSP-FP1K_Upgrade-7.6.0-113.sh.REL.tar")
    jobs = [fast.start_upgrade(), slow.start_upgrade()]
    await settle(fast)
    await settle(slow)
    assert jobs[1].finished - jobs[1].started > jobs[0].finished - jobs[0].started


@pytest.mark.parametrize("model, version, package, options, expected", [
    ("FTDv", "7.4.1-172", "Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar", {}, "Unsupported device model"),
    ("FPR-2110", "7.4.1-172", "Cisco_FTD_SSP-FP2K_Upgrade-7.6.0-113.sh.REL.tar", {}, "Unsupported device model"),
    ("FTDv", "7.4.1-172", UPGRADE_76, {"size_mb": 40000}, "Insufficient disk space"),
    ("FTDv", "7.0.6-236", UPGRADE_76, {}, "Upgrade path not supported"),
    ("FTDv", "6.7.0-65", "Cisco_FTD_Upgrade-7.3.1-19.sh.REL.tar", {}, "from 6.7.0 to 7.3.1 is not supported"),
    ("FTDv", "7.2.5-208", "Cisco_FTD_Upgrade-7.4.0-118.sh.REL.tar", {}, "cannot upgrade to Version 7.4.0"),
    ("FTDv", "7.4.1-172", "Cisco_FTD_Upgrade-7.2.5-208.sh.REL.tar", {}, "Upgrade path not supported"),
    ("FTDv", "7.4.1-172", "Cisco_FTD_Patch-7.4.2.1-30.sh.REL.tar", {}, "Upgrade path not supported"),
    ("FTDv", "7.4.1-172", UPGRADE_76, {"unsigned": True}, "is not a signed upgrade package"),
    ("FTDv", "7.4.1-172", UPGRADE_76, {"corrupt": True}, "corrupt"),
])
async def test_readiness_check_failures_use_the_devices_words(make, model, version, package, options, expected):
    ftd = make(model, version)
    make.package(ftd, package, **options)
    check = ftd.run_readiness_check()
    assert ftd.state == "readiness"
    await settle(ftd)
    assert check.state == "FAILED" and ftd.state == "online"
    assert any(expected in m for m in check.messages), check.messages
    assert ftd.version == version


async def test_fxos_companion_version_blocks_logical_device_upgrade(make):
    ftd = make("FPR-4145", "7.4.1-172", fxos_version="2.14(1.131)")
    make.package(ftd, "Cisco_FTD_SSP_Upgrade-7.6.0-113.sh.REL.tar")
    check = ftd.run_readiness_check()
    await settle(ftd)
    assert check.state == "FAILED" and "FXOS version incompatibility" in check.messages[0]
    assert "2.16" in check.messages[0]
    ftd.fxos_version = "2.16(0.128)"
    assert ftd.run_readiness_check() and (await settle(ftd)) is None and ftd.readiness.state == "SUCCESS"


async def test_failed_readiness_cancels_the_upgrade(make):
    ftd = make()
    make.package(ftd, UPGRADE_76, unsigned=True)
    job = ftd.start_upgrade()
    await settle(ftd)
    assert job.state == "FAILED" and ftd.state == "online" and ftd.version == "7.4.1-172"
    assert "not a signed" in job.detail


async def test_auto_cancel_returns_to_the_old_version(make):
    ftd, job = failing_upgrade(make, "upgrade.stage:500_rpms", "fail", auto_cancel=True)
    await settle(ftd)
    assert job.state == "FAILED" and ftd.state == "online" and ftd.version == "7.4.1-172"
    assert job.failed_script == "500_rpms/100_install_rpms.sh"
    assert ftd.revert is None


async def test_without_auto_cancel_a_failure_waits_in_maintenance_mode_for_retry(make):
    ftd, job = failing_upgrade(make, "upgrade.stage:300_os", "fail", message="disk I/O error", auto_cancel=False)
    await settle(ftd)
    assert ftd.state == "upgrade_failed" and job.state == "FAILED" and ftd.may_retry() and ftd.may_cancel()
    await make.ctx.clock.advance(3600)
    assert ftd.state == "upgrade_failed", "maintenance mode waits for the operator"
    ftd.retry_upgrade()
    await settle(ftd)
    assert job.state == "COMPLETED" and ftd.version == "7.6.0-113"


async def test_without_auto_cancel_cancel_restores_the_old_version(make):
    ftd, job = failing_upgrade(make, "upgrade.stage:300_os", "fail", auto_cancel=False)
    await settle(ftd)
    ftd.cancel_upgrade()
    assert ftd.state == "upgrade_rollback"
    await settle(ftd)
    assert job.state == "CANCELLED" and ftd.version == "7.4.1-172" and ftd.state == "online"


async def test_cancel_in_progress_and_hang(make):
    ftd, job = failing_upgrade(make, "upgrade.stage:500_rpms", "hang")
    await make.ctx.clock.advance(6 * 3600)
    assert ftd.state == "upgrade_install" and job.state == "IN_PROGRESS" and job.script.startswith("500_rpms")
    ftd.cancel_upgrade()
    await settle(ftd)
    assert job.state == "CANCELLED" and ftd.version == "7.4.1-172"


async def test_patches_cannot_be_cancelled_retried_or_reverted(make):
    ftd = make()
    make.package(ftd, "Cisco_FTD_Patch-7.4.1.1-12.sh.REL.tar")
    job = ftd.start_upgrade()
    await make.ctx.clock.advance(60)
    with pytest.raises(Refused, match="not supported for patches"):
        ftd.cancel_upgrade()
    await settle(ftd)
    assert ftd.version == "7.4.1.1-12" and job.update_type == "patch"
    assert ftd.revert is None
    with pytest.raises(Refused, match="no version to revert to"):
        ftd.start_revert()


async def test_patch_failing_in_maintenance_mode_cannot_be_retried(make):
    ftd, _ = failing_upgrade(make, "upgrade.stage:500_rpms", "fail", package="Cisco_FTD_Patch-7.4.1.1-12.sh.REL.tar")
    await settle(ftd)
    assert ftd.state == "upgrade_failed"
    with pytest.raises(Refused, match="Retry is not supported"):
        ftd.retry_upgrade()


async def test_revert_discards_post_upgrade_configuration(make):
    ftd = make(hostname="before")
    make.package(ftd, UPGRADE_76)
    ftd.start_upgrade()
    await settle(ftd)
    ftd.set_hostname("after-upgrade")
    ftd.start_revert()
    assert ftd.state == "revert_install"
    await settle(ftd)
    assert ftd.version == "7.4.1-172" and ftd.hostname == "before" and ftd.revert is None
    assert ftd.history[-1]["operation"] == "revert" and ftd.history[-1]["result"] == "COMPLETED"


async def test_cleanup_revert_removes_the_snapshot(make):
    ftd = make()
    make.package(ftd, UPGRADE_76)
    ftd.start_upgrade()
    await settle(ftd)
    free = ftd.disk_free_mb
    ftd.cleanup_revert()
    assert ftd.revert is None and ftd.disk_free_mb > free
    with pytest.raises(Refused):
        ftd.cleanup_revert()


@pytest.mark.parametrize("how", ["reboot", "power"])
async def test_reboot_or_power_loss_mid_upgrade_leaves_the_device_unusable(make, how):
    ftd = make()
    make.package(ftd, UPGRADE_76)
    ftd.start_upgrade()
    await make.ctx.clock.advance(400)
    assert ftd.state == "upgrade_install"
    if how == "reboot":
        ftd.reboot()
    else:
        ftd.power_off()
        ftd.power_on()
    await settle(ftd)
    assert ftd.state == "unusable"
    for call in (ftd.start_upgrade, ftd.run_readiness_check, ftd.reboot, ftd.start_revert):
        with pytest.raises(Refused, match="unusable"):
            call()
    ftd.reimage("7.4.1-172")
    await settle(ftd)
    assert ftd.state == "online" and ftd.package is None


async def test_power_loss_fault_at_a_stage(make):
    ftd, _ = failing_upgrade(make, "upgrade.stage:300_os", "power_loss")
    await settle(ftd)
    assert ftd.state == "off"
    ftd.power_on()
    await settle(ftd)
    assert ftd.state == "unusable"


async def test_one_package_at_a_time(make, tmp_path):
    ftd = make()
    make.package(ftd, UPGRADE_76)
    newer = inspect_package(make_package("Cisco_FTD_Upgrade-7.6.1-5.sh.REL.tar", tmp_path))
    assert ftd.accept_package(newer) == UPGRADE_76
    assert ftd.package.version == "7.6.1-5"


async def test_snapshot_restore_resumes_a_job_in_flight(make):
    ftd = make()
    make.package(ftd, UPGRADE_76)
    ftd.start_upgrade()
    await make.ctx.clock.advance(300)
    saved = ftd.snapshot()
    twin = make()
    twin.restore(saved)
    assert twin.state == "upgrade_install" and twin.job.stage == ftd.job.stage
    await settle(twin)
    assert twin.version == "7.6.0-113" and twin.job.state == "COMPLETED"


async def test_candidate_configuration_deploys_and_survives_a_snapshot(make):
    ftd = make()
    net = ftd.save_network(None, "servers", "NETWORK", "10.2.0.0/24")
    ftd.stage_hostname("edge-1")
    assert {(c.name, c.action) for c in ftd.pending()} == {("servers", "ADD"), ("edge-1", "EDIT")}
    assert ftd.hostname == ftd.config["hostname"] != "edge-1"    # running config unchanged until deployed
    with pytest.raises(Refused) as err:
        ftd.save_network(None, "servers", "HOST", "10.2.0.1")
    assert err.value.message == "Validation failed due to a duplicate name"
    with pytest.raises(Refused):
        ftd.save_network(None, "bad", "RANGE", "10.0.0.9-10.0.0.1")
    deployment = ftd.deploy()
    with pytest.raises(Refused):
        ftd.deploy()                                   # one deployment at a time
    await ftd.ctx.clock.run_until(lambda: deployment.state == "DEPLOYED")
    assert ftd.pending() == [] and ftd.config["hostname"] == "edge-1"
    ftd.delete_network(net)
    assert [c.action for c in ftd.pending()] == ["DELETE"]

    copy = make()
    copy.restore(ftd.snapshot())
    assert copy.pending() == ftd.pending() and copy.deployments[0].state == "DEPLOYED"
    copy.discard_changes()
    assert copy.pending() == [] and net in copy.config["networks"]


async def test_reboot_fails_a_running_deployment_and_boot_has_two_phases(make):
    ftd = make()
    ftd.stage_hostname("edge-2")
    deployment = ftd.deploy()
    await ftd.ctx.clock.advance(5)
    assert deployment.state == "DEPLOYING"
    ftd.reboot()
    assert deployment.state == "DEPLOY_FAILED" and ftd.pending()
    phases = []
    ftd.ctx.journal.subscribe(lambda e: phases.append((e["kind"], e.get("state") or e.get("phase"))), device=ftd.name)
    await ftd.ctx.clock.run_until(lambda: ftd.state == "online")
    assert phases == [("state", "boot_os"), ("state", "boot_apps"), ("boot", "apps"), ("state", "online")]


async def test_upgrade_waits_for_pending_changes_and_first_deploy_restarts_snort(make):
    ftd = make()
    make.package(ftd, UPGRADE_76)
    ftd.save_network(None, "dmz", "HOST", "192.0.2.10")
    with pytest.raises(Refused) as err:
        ftd.start_upgrade()
    assert err.value.message == "You must deploy all uncommited changes before starting a system upgrade."
    ftd.deploy()
    with pytest.raises(Refused):
        ftd.start_upgrade()                            # the deployment still runs: pending until it ends
    await ftd.ctx.clock.run_until(lambda: not ftd.pending())
    ftd.start_upgrade()
    with pytest.raises(Refused):
        ftd.deploy()                                   # no deployment during an upgrade
    await settle(ftd)
    restarts = ftd.ctx.journal.select(device=ftd.name, kind="snort.restart")
    assert restarts == []
    ftd.stage_hostname("after")
    deployment = ftd.deploy()
    await ftd.ctx.clock.run_until(lambda: deployment.state == "DEPLOYED")
    assert len(ftd.ctx.journal.select(device=ftd.name, kind="snort.restart")) == 1
    ftd.stage_hostname("again")
    deployment = ftd.deploy()
    await ftd.ctx.clock.run_until(lambda: deployment.state == "DEPLOYED")
    assert len(ftd.ctx.journal.select(device=ftd.name, kind="snort.restart")) == 1


async def test_an_fxos_bundle_uploaded_to_an_ftd_is_for_another_platform_not_corrupt(lab, tmp_path):
    """Whole and signed by Cisco, but an FXOS bundle: the readiness check says so (issue 13)."""
    from simulator.kinds.fxos.bundles import make_fxos_bundle
    from tests.conftest import ssh_port, upload
    await upload(ssh_port(lab), make_fxos_bundle("fxos-k9.2.14.1.131.SPA", tmp_path))
    ftd = lab.devices["ftd-1"]
    assert ftd.package.filename == "fxos-k9.2.14.1.131.SPA"
    check = ftd.run_readiness_check()
    while ftd.state == "readiness":
        await lab.clock.advance(30)
    assert check.state == "FAILED" and "Unsupported device model" in check.messages[0], check.messages
    assert not any("corrupt" in m for m in check.messages)
