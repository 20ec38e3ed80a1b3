"""The FXOS chassis' lifecycle as the FTD upgrade guide tells it (seed 000
ch. 3, "Upgrade FXOS for Standalone FTD Logical Devices Using the FXOS CLI"):
`install platform platform-vers` starts the auto-install; FPRM upgrades
first, then "the system will reboot and then continue upgrading the other
components": the fabric interconnect, then the security modules' servers;
an upgrade to 2.14.1+ also installs the firmware and reboots a second time
("once for FXOS and once for the firmware", table 4).

Every boot has the same steps: `shutdown` (sessions end), `os` (ROMMON, the
kickstart and the system image: nothing answers), `dme` (the FXOS CLI answers,
its data management engine starts: "Timed out communicating with DME", the
web server answers 503). The install's reboots are those steps inside its
phases, so where a chassis is in its install is its state."""

from __future__ import annotations

from typing import Any

from simulator.machines import Table

UPGRADE = "upgrade"
# The steps of a boot; nothing answers in the first two (nor when off).
SHUTDOWN, OS, DME = "shutdown", "os", "dme"
_DOWN = frozenset({"off", SHUTDOWN, OS})


def _boot(*steps: str) -> list[dict[str, str]]:
    return [{"name": step, "on_enter": f"_enter_{step}"} for step in steps]


def _phase(name: str) -> dict[str, str]:
    return {"name": name, "on_enter": "_run_phase"}


STATES = [
    "off",
    {"name": SHUTDOWN, "on_enter": "_enter_shutdown"},
    {"name": "boot", "children": _boot(OS, DME), "initial": OS},
    {"name": "online", "on_enter": "_boot_modules"},
    {"name": UPGRADE, "initial": "fprm", "children": [
        _phase("fprm"),
        {"name": "reboot", "children": _boot(SHUTDOWN, OS, DME), "initial": SHUTDOWN},
        _phase("fabric"),
        _phase("servers"),
        {"name": "firmware", "initial": "install", "children": [
            _phase("install"),
            {"name": "reboot", "children": _boot(SHUTDOWN, OS, DME), "initial": SHUTDOWN},
        ]},
    ]},
]


def _boot_steps(shutdown: str, boot: str, then: str, *finish: str) -> list[dict[str, Any]]:
    """The steps of a boot (`shutdown` state, `boot` the state holding `os` and
    `dme`), then where the chassis goes and what it does on the way (`finish`)."""
    return [{"trigger": "shutdown_done", "source": shutdown, "dest": f"{boot}_{OS}", "before": "_load_fxos"},
            {"trigger": "os_up", "source": f"{boot}_{OS}", "dest": f"{boot}_{DME}"},
            {"trigger": "dme_up", "source": f"{boot}_{DME}", "dest": then, "before": ["_booted", *finish]}]


TRANSITIONS: list[dict[str, Any]] = [
    # power and the operator's reboot (local-mgmt `reboot`, `scope chassis 1` `reboot`)
    {"trigger": "power_up", "source": "off", "dest": "boot", "before": "_load_fxos"},
    {"trigger": "cut_power", "source": [SHUTDOWN, "boot", "online", UPGRADE], "dest": "off"},
    {"trigger": "restart", "source": ["online", "boot_dme"], "dest": SHUTDOWN},
    {"trigger": "restart", "source": UPGRADE, "dest": SHUTDOWN, "conditions": "cli_answers",
     "before": "_break_install"},
    *_boot_steps(SHUTDOWN, "boot", "online"),
    # the platform bundle install (seed ch. 3 steps 5-8)
    {"trigger": "auto_install", "source": "online", "dest": UPGRADE},
    {"trigger": "cancel", "source": "upgrade_fprm", "dest": "online", "before": "_cancelled"},
    {"trigger": "upgraded", "source": "upgrade_fprm", "dest": "upgrade_reboot", "before": "_phase_done"},
    *_boot_steps("upgrade_reboot_shutdown", "upgrade_reboot", "upgrade_fabric"),
    {"trigger": "upgraded", "source": "upgrade_fabric", "dest": "upgrade_servers", "before": "_phase_done"},
    {"trigger": "upgraded", "source": "upgrade_servers", "dest": "upgrade_firmware", "conditions": "carries_firmware",
     "before": "_phase_done"},
    {"trigger": "upgraded", "source": "upgrade_servers", "dest": "online", "unless": "carries_firmware",
     "before": ["_phase_done", "_installed"]},
    {"trigger": "upgraded", "source": "upgrade_firmware_install", "dest": "upgrade_firmware_reboot",
     "before": "_phase_done"},
    *_boot_steps("upgrade_firmware_reboot_shutdown", "upgrade_firmware_reboot", "online", "_installed"),
    {"trigger": "stage_failed", "source": UPGRADE, "dest": "online"},
]

TABLE = Table(
    name="fxos", title="FXOS chassis (Firepower 4100/9300)", states=STATES, transitions=TRANSITIONS,
    initial="online", announce="_state_changed",
    doc="""Read it beside seed 000 ch. 3, "Upgrade FXOS for Standalone FTD Logical Devices Using the FXOS CLI":

| the guide | the chassis |
|---|---|
| steps 5-7: `install platform platform-vers`, verification, `yes`, `yes` | `online` --`auto_install`--> `upgrade_fprm` |
| step 8, `show firmware monitor`: FPRM Upgrading | `upgrade_fprm` (`cancel` possible until the reboot) |
| "After the FPRM component is upgraded, the system will reboot" | `upgrade_reboot`: `shutdown` (sessions end), `os` (nothing answers), `dme` (the CLI answers, the DME starts) |
| "... and then continue upgrading the other components": Fabric Interconnect A | `upgrade_fabric` |
| Chassis 1, Server N Upgrading | `upgrade_servers` |
| 2.14.1+: "reboots twice, once for FXOS and once for the firmware" (table 4) | `upgrade_firmware`: `install`, then its `reboot` (only when `carries_firmware`) |
| all components Ready; step 9: `show slot`, `show app-instance` Online | `online`: the security modules boot, then their FTDs |

A component that fails (`stage_failed`), an operator's `restart` (`_break_install`) or a power loss
(`cut_power`) ends the install FAILED. Outside an install a reboot is `shutdown`, `boot_os`,
`boot_dme`, `online`; `power_up` starts at `boot_os`.""",
)


def step(state: str) -> str:
    """Where in its boot a chassis is (`os`, `dme`...), or its top state."""
    return state.rsplit("_", 1)[-1]


def cli_answers(state: str) -> bool:
    """The FXOS CLI (SSH, the console's login) answers."""
    return step(state) not in _DOWN


def dme_answers(state: str) -> bool:
    """The management engine answers: configuration, shows, Chassis Manager and the REST API."""
    return cli_answers(state) and step(state) != DME


def install_phase(state: str) -> str | None:
    """The install phase (install_phases: in facts.yaml) a chassis is in, None outside an install."""
    top, _, below = state.partition("_")
    if top != UPGRADE:
        return None
    phase, _, last = below.rpartition("_")
    return phase if last in (SHUTDOWN, OS, DME) else below


def boot_start(state: str) -> str | None:
    """The shutdown step of the boot a chassis is in (a lab stopped mid-boot
    starts that boot over from there), None outside a boot."""
    if state in (SHUTDOWN, f"boot_{OS}", f"boot_{DME}"):
        return SHUTDOWN
    head, _, last = state.rpartition("_")
    return f"{head}_{SHUTDOWN}" if last in (SHUTDOWN, OS, DME) else None
