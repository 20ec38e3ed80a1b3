"""The FMC's lifecycle: powered off, booting (the web server refuses
connections), online."""

from simulator.machines import Table

TABLE = Table(
    name="fmc", title="Secure Firewall Management Center", initial="online", announce="_state_changed",
    states=["off", {"name": "booting", "on_enter": "_start_boot"}, "online"],
    transitions=[
        {"trigger": "power_up", "source": "off", "dest": "booting"},
        {"trigger": "booted", "source": "booting", "dest": "online"},
        {"trigger": "cut_power", "source": ["booting", "online"], "dest": "off"},
    ],
    doc="Power on boots the FMC for `timings.boot` (facts.yaml); power off stops it anywhere.",
)
