"""Random operation sequences against the FTD model, checking its invariants."""

import asyncio
import atexit
import random
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from simulator.clock import Clock
from simulator.journal import Journal
from simulator.kinds.base import DeviceContext, Refused
from simulator.kinds.ftd.model import FtdDevice
from simulator.kinds.ftd.packages import inspect_package, make_package

PKG_DIR = Path(tempfile.mkdtemp(prefix="ftd-stateful-"))
atexit.register(shutil.rmtree, PKG_DIR, True)      # made at import: gone when pytest exits
PACKAGES = [
    inspect_package(make_package(name, PKG_DIR, **opts))
    for name, opts in [
        ("Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar", {}),
        ("Cisco_FTD_Upgrade-7.4.2-172.sh.REL.tar", {}),
        ("Cisco_FTD_Patch-7.4.1.1-12.sh.REL.tar", {}),
        ("Cisco_FTD_SSP-FP3K_Upgrade-7.6.0-113.sh.REL.tar", {}),
        ("Cisco_FTD_Upgrade-7.6.1-5.sh.REL.tar", {"unsigned": True}),
    ]
]
STAGES = ["000_start", "200_pre", "300_os", "500_rpms", "800_post", "999_finish"]


class FtdMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        clock = Clock(virtual=True, start=1_700_000_000.0)
        self.ctx = DeviceContext(clock, Journal(clock.now), rng=random.Random(0))
        self.ftd = FtdDevice(self.ctx, "ftd", "FTDv", "7.4.1-172")
        self.version_changes_allowed = 0
        self.ctx.journal.subscribe(self._on_event)
        self.seen_version = self.ftd.version

    def _on_event(self, event) -> None:
        if event["kind"] == "reboot" and event["cause"] == "upgrade":
            # the job's reboot boots the newly installed (or restored) software
            self.version_changes_allowed += 1
        if event["kind"] == "upgrade.finished" and self.ftd.state != "unusable":
            job = self.ftd.job
            if event["result"] != "COMPLETED" and job is not None and job.auto_cancel and job.operation == "upgrade":
                # a failed upgrade with auto-cancel always ends on the pre-upgrade version
                assert self.ftd.version == event["from"], (self.ftd.version, event)

    def teardown(self) -> None:
        self.loop.close()

    def _try(self, call, *args) -> None:
        try:
            call(*args)
        except Refused:
            pass

    @rule(index=st.integers(0, len(PACKAGES) - 1))
    def upload(self, index):
        self._try(self.ftd.accept_package, PACKAGES[index])

    @rule()
    def delete_package(self):
        self._try(self.ftd.delete_package)

    @rule(auto_cancel=st.booleans())
    def upgrade(self, auto_cancel):
        pending, job = bool(self.ftd.pending()), self.ftd.job
        self._try(self.ftd.start_upgrade, auto_cancel)
        if pending:
            assert self.ftd.job is job, "an upgrade started while changes were pending"

    @rule()
    def readiness(self):
        self._try(self.ftd.run_readiness_check)

    @rule()
    def cancel(self):
        self._try(self.ftd.cancel_upgrade)

    @rule()
    def retry(self):
        self._try(self.ftd.retry_upgrade)

    @rule()
    def revert(self):
        self._try(self.ftd.start_revert)

    @rule(name=st.sampled_from(["a", "b"]), value=st.sampled_from(["10.0.0.1", "10.0.0.0/8", "bad"]))
    def stage_network(self, name, value):
        self._try(self.ftd.save_network, None, name, "NETWORK" if "/" in value else "HOST", value)

    @rule()
    def deploy(self):
        self._try(self.ftd.deploy)

    @rule()
    def cleanup_revert(self):
        self._try(self.ftd.cleanup_revert)

    @rule()
    def reboot(self):
        self._try(self.ftd.reboot)

    @rule()
    def power_cycle(self):
        self.ftd.power_off()
        self.ftd.power_on()

    @rule(stage=st.sampled_from(STAGES), action=st.sampled_from(["fail", "hang", "power_loss", "slow"]))
    def fault(self, stage, action):
        self.ctx.faults.add(f"upgrade.stage:{stage}", action, factor=3.0)

    @precondition(lambda self: self.ftd.state == "unusable")
    @rule()
    def reimage(self):
        self.ftd.reimage("7.4.1-172")
        self.version_changes_allowed += 1

    @rule(seconds=st.sampled_from([5, 60, 600, 3600]))
    def wait(self, seconds):
        self.loop.run_until_complete(self.ctx.clock.advance(seconds))

    @invariant()
    def version_changes_only_through_completed_jobs(self):
        if self.ftd.version != self.seen_version:
            assert self.version_changes_allowed > 0, "version changed outside an upgrade, revert or reimage"
            self.seen_version = self.ftd.version
        self.version_changes_allowed = 1 if self.ftd.state in ("shutdown", "boot_os", "boot_apps") else 0

    @invariant()
    def at_most_one_package_and_it_is_consistent(self):
        assert self.ftd.package is None or self.ftd.package in PACKAGES

    @invariant()
    def unusable_accepts_nothing_but_reimage(self):
        if self.ftd.state != "unusable":
            return
        for call in (self.ftd.start_upgrade, self.ftd.run_readiness_check, self.ftd.start_revert,
                     self.ftd.reboot, self.ftd.retry_upgrade, self.ftd.cancel_upgrade, self.ftd.cleanup_revert):
            try:
                call()
            except Refused:
                continue
            raise AssertionError(f"unusable device accepted {call.__name__}")
        try:
            self.ftd.accept_package(PACKAGES[0])
        except Refused:
            pass
        else:
            raise AssertionError("unusable device accepted a package")

    @invariant()
    def deployments_run_only_while_the_device_is_up(self):
        running = [d for d in self.ftd.deployments if d.state in ("QUEUED", "DEPLOYING")]
        assert len(running) <= 1
        if running:
            assert self.ftd.services_up, self.ftd.state

    @invariant()
    def disk_never_negative(self):
        assert 0 <= self.ftd.disk_free_mb <= self.ftd.disk_total_mb


FtdMachine.TestCase.settings = settings(max_examples=int(__import__('os').environ.get('FTD_STATEFUL_EXAMPLES', 60)), derandomize=True, stateful_step_count=40, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
TestFtdStateful = FtdMachine.TestCase
