"""An SPS appliance's lifecycle (seed 004, sps.md 2): off, booting the
firmware of its after-reboot slot, running; the first boot of a new firmware
runs the upgrade, which either finishes on the new slot or fails and reverts
to the old one; a revert that cannot finish leaves the core down for good
(`rescue`: no web UI, SSH open unless sealed) until a reimage; a reboot or
shutdown goes down first."""

from simulator.machines import Table

TABLE = Table(
    name="sps", title="One Identity Safeguard for Privileged Sessions", initial="online",
    announce="_state_changed",
    states=["off", {"name": "booting", "on_enter": "_start_boot"}, "online",
            {"name": "upgrading", "on_enter": "_start_upgrade"},
            {"name": "reverting", "on_enter": "_start_revert"},
            {"name": "shutting_down", "on_enter": "_start_shutdown"},
            {"name": "rescue", "on_enter": "_start_rescue"}],
    transitions=[
        {"trigger": "power_up", "source": "off", "dest": "booting"},
        {"trigger": "booted", "source": "booting", "dest": "online"},
        {"trigger": "boot_new_firmware", "source": "booting", "dest": "upgrading"},
        {"trigger": "upgraded", "source": "upgrading", "dest": "online"},
        {"trigger": "upgrade_failed", "source": "upgrading", "dest": "reverting"},
        {"trigger": "reverted", "source": "reverting", "dest": "online"},
        {"trigger": "revert_failed", "source": "reverting", "dest": "rescue"},
        {"trigger": "core_failed", "source": "booting", "dest": "rescue"},
        {"trigger": "go_down", "source": ["online", "rescue"], "dest": "shutting_down"},
        {"trigger": "restart", "source": "shutting_down", "dest": "booting"},
        {"trigger": "halted", "source": "shutting_down", "dest": "off"},
        {"trigger": "cut_power", "source": ["booting", "online", "upgrading", "reverting", "shutting_down",
                                                "rescue"],
         "dest": "off"},
    ],
    doc="A boot takes `timings.boot` (facts.yaml) and starts the after-reboot slot's firmware; a new "
        "firmware's first boot upgrades for `timings.upgrade`, and a failure (fault `upgrade.stage:firmware`) "
        "reverts to the old slot for `timings.revert`; a `revert` fault (hang, power_loss) leaves the core "
        "down (`rescue`) at every boot until a reimage. Reboot and shutdown go down for `timings.shutdown`.",
)
