"""The FTD's lifecycle as the Device Manager guide tells it (seed 000, "Upgrade
Threat Defense"): run the readiness check, install (maintenance mode when a
script fails; cancel or retry from there; roll back on cancel or when set to
cancel on failure), reboot into the new version, finish the post-upgrade
tasks. Revert has its own install and reboot. Each boot brings up the
operating system (SSH and the CLI answer at its end), then the applications
(the web server answers 503 until they are up).

Guards are the transitions' `conditions`/`unless`; a refused operation tells
why through `GUARDS` (guard -> the refusal text's key in facts.yaml)."""

from __future__ import annotations

from typing import Any

from simulator.machines import Table

_BOOT = [{"name": "os", "on_enter": "_start_os"}, {"name": "apps", "on_enter": "_start_apps"}]
_REBOOT = [{"name": "shutdown", "on_enter": "_start_shutdown"}, *_BOOT]
_INSTALLING = ["upgrade_install", "upgrade_failed", "upgrade_rollback", "revert_install"]

STATES = [
    "off",
    {"name": "boot", "children": _BOOT, "initial": "os"},
    "online",
    {"name": "readiness", "on_enter": "_start_readiness"},
    {"name": "upgrade", "children": [
        {"name": "readiness", "on_enter": "_start_readiness"},
        {"name": "install", "on_enter": "_run_stage"},
        "failed",
        {"name": "rollback", "on_enter": "_run_stage"},
        {"name": "reboot", "children": _REBOOT, "initial": "shutdown"},
        {"name": "post", "on_enter": "_start_post"},
    ], "initial": "readiness"},
    {"name": "revert", "children": [
        {"name": "install", "on_enter": "_run_stage"},
        {"name": "reboot", "children": _REBOOT, "initial": "shutdown"},
    ], "initial": "install"},
    {"name": "shutdown", "on_enter": "_start_shutdown"},
    "unusable",
]

TRANSITIONS: list[dict[str, Any]] = [
    # power, reimage, operator reboot
    {"trigger": "power_up", "source": "off", "dest": "boot_os"},
    {"trigger": "cut_power", "source": ["boot", "online", "readiness", "upgrade", "revert", "shutdown", "unusable"],
     "dest": "off"},
    {"trigger": "reinstall", "source": "*", "dest": "boot_os"},
    {"trigger": "restart", "source": ["online", "readiness", "upgrade_readiness"], "dest": "shutdown"},
    {"trigger": "restart", "source": "upgrade_post", "dest": "upgrade_reboot_shutdown"},
    {"trigger": "restart", "source": _INSTALLING, "dest": "shutdown", "before": "_break_install"},
    # booting: the OS, then the applications (a broken install never gets that far)
    {"trigger": "shutdown_done", "source": "shutdown", "dest": "boot_os"},
    {"trigger": "shutdown_done", "source": "upgrade_reboot_shutdown", "dest": "upgrade_reboot_os"},
    {"trigger": "shutdown_done", "source": "revert_reboot_shutdown", "dest": "revert_reboot_os"},
    {"trigger": "os_up", "source": ["boot_os", "upgrade_reboot_os", "revert_reboot_os"], "dest": "unusable",
     "conditions": "broken", "after": "_unusable"},
    {"trigger": "os_up", "source": "boot_os", "dest": "boot_apps"},
    {"trigger": "os_up", "source": "upgrade_reboot_os", "dest": "upgrade_reboot_apps"},
    {"trigger": "os_up", "source": "revert_reboot_os", "dest": "revert_reboot_apps"},
    {"trigger": "apps_started", "source": "boot_apps", "dest": "online"},
    {"trigger": "apps_started", "source": "upgrade_reboot_apps", "dest": "online", "conditions": "rolled_back",
     "after": "_rollback_booted"},
    {"trigger": "apps_started", "source": "upgrade_reboot_apps", "dest": "upgrade_post", "before": "_upgrade_booted"},
    {"trigger": "apps_started", "source": "revert_reboot_apps", "dest": "online", "after": "_revert_booted"},
    # the standalone readiness check
    {"trigger": "check_readiness", "source": "online", "dest": "readiness", "conditions": "has_package"},
    {"trigger": "readiness_done", "source": "readiness", "dest": "online"},
    # the upgrade: readiness (skipped when it passed for this package or the install is forced), install,
    # reboot, post-upgrade tasks
    {"trigger": "begin_upgrade", "source": "online", "dest": "upgrade_install",
     "conditions": ["has_package", "no_pending_changes", "ha_allows_upgrade", "ready_to_install"]},
    {"trigger": "begin_upgrade", "source": "online", "dest": "upgrade_readiness",
     "conditions": ["has_package", "no_pending_changes", "ha_allows_upgrade"]},
    {"trigger": "readiness_done", "source": "upgrade_readiness", "dest": "online", "unless": "readiness_passed",
     "after": "_readiness_failed"},
    {"trigger": "readiness_done", "source": "upgrade_readiness", "dest": "upgrade_install"},
    {"trigger": "stage_failed", "source": "upgrade_install", "dest": "online", "conditions": "nothing_changed",
     "after": "_failed_early"},
    {"trigger": "stage_failed", "source": "upgrade_install", "dest": "upgrade_rollback",
     "conditions": "auto_cancel", "unless": "is_patch", "before": ["_rewind", "_auto_rollback"]},
    {"trigger": "stage_failed", "source": "upgrade_install", "dest": "upgrade_failed", "after": "_maintenance"},
    {"trigger": "cancel", "source": "upgrade_readiness", "dest": "online", "unless": "is_patch"},
    {"trigger": "cancel", "source": ["upgrade_install", "upgrade_failed"], "dest": "upgrade_rollback",
     "unless": "is_patch", "before": "_rewind"},
    {"trigger": "retry", "source": "upgrade_failed", "dest": "upgrade_install", "unless": "is_patch"},
    {"trigger": "installed", "source": ["upgrade_install", "upgrade_rollback"], "dest": "upgrade_reboot_shutdown"},
    {"trigger": "post_done", "source": "upgrade_post", "dest": "online"},
    # revert to the version before the last major or maintenance upgrade
    {"trigger": "begin_revert", "source": "online", "dest": "revert_install", "conditions": "has_revert"},
    {"trigger": "installed", "source": "revert_install", "dest": "revert_reboot_shutdown"},
]

# A guard that does not hold -> the refusal (its key under `refuse:` in facts.yaml)
# ("trigger:guard" where one guard means different things to two triggers).
GUARDS = {
    "has_package": "no_package", "no_pending_changes": "pending_changes", "has_revert": "no_revert",
    "cancel:is_patch": "patch_cancel", "retry:is_patch": "patch_retry",
}
# Without a guard to blame, a trigger the current state does not take is refused with these (else `busy`).
NOT_NOW = {"cancel": "no_job", "retry": "no_failed_job"}

SERVICES_UP = frozenset({"online", "readiness", "upgrade_readiness", "upgrade_install", "upgrade_failed",
                         "upgrade_rollback", "upgrade_post", "revert_install"})
APPS_UP = frozenset({"online", "readiness", "upgrade_readiness"})
# A reboot or power loss here leaves the software half-installed.
INSTALLING = frozenset({*_INSTALLING, "upgrade_reboot_shutdown", "upgrade_reboot_os", "upgrade_reboot_apps",
                        "revert_reboot_shutdown", "revert_reboot_os", "revert_reboot_apps"})
# The software is changing, up to the end of the post-upgrade tasks (seed 000 table 6: no deploys meanwhile).
UPGRADING = frozenset({*INSTALLING, "upgrade_post", "upgrade_rollback"})

TABLE = Table(
    name="ftd", title="Firepower Threat Defense", states=STATES, transitions=TRANSITIONS, initial="online",
    announce="_state_changed",
    doc="""Read it beside the Device Manager guide's upgrade chapter (seed 000): `begin_upgrade` runs the
readiness check (skipped when one passed for the same package, or when the operator forces an
install after it failed: `ready_to_install`), then the install scripts. A failed
script before anything changed ends the job (`nothing_changed`); otherwise the device waits in
maintenance mode (`upgrade_failed`) for cancel or retry, or rolls back at once when the upgrade was
started with cancel-on-failure (`auto_cancel`, never for patches). The install and the rollback end
in a reboot; after it the upgraded device finishes its post-upgrade tasks (`upgrade_post`: the CLI
answers, the web server returns 503, HA stays suspended) before it is `online`. A reboot or power
loss while installing (`_break_install`, or `broken` at the next boot) leaves the device
`unusable` until it is reimaged. Every state except `off` and `unusable` loses power to `off`
(`cut_power`) and can be reimaged (`reinstall`).""",
)
