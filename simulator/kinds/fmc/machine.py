"""The FMC's lifecycle: powered off, booting (the web server refuses
connections), online, and its own upgrade (the API answers 503 while it
installs; seed 001), which ends in a reboot."""

from simulator.machines import Table

TABLE = Table(
    name="fmc", title="Secure Firewall Management Center", initial="online", announce="_state_changed",
    states=["off", {"name": "booting", "on_enter": "_start_boot"}, "online",
            {"name": "upgrading", "on_enter": "_start_install"}],
    transitions=[
        {"trigger": "power_up", "source": "off", "dest": "booting"},
        {"trigger": "booted", "source": "booting", "dest": "online"},
        {"trigger": "begin_upgrade", "source": "online", "dest": "upgrading"},
        {"trigger": "installed", "source": "upgrading", "dest": "booting"},
        {"trigger": "cut_power", "source": ["booting", "online", "upgrading"], "dest": "off"},
    ],
    doc="Power on boots the FMC for `timings.boot` (facts.yaml); its own upgrade installs for "
        "`timings.self_upgrade`, then reboots; power off stops it anywhere.",
)
