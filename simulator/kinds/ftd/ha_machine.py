"""An FTD HA unit's failover state, named as the devices print it (`show
failover`, the FDM HA status), and how it may change (seed 000, "Upgrade High
Availability Threat Defense" and its troubleshooting section).

A unit that joins negotiates, takes the active unit's configuration (Sync
Config) and its state (Bulk Sync) and is then Standby Ready; a failed
configuration sync leaves it in Cold Standby until HA is resumed. A Standby
Ready unit becomes Active on a switch or when the active unit is lost; with
the failover link cut both units go Active (split brain), and one yields when
the link is back. A unit that goes down is Failed when a software install was
running on it, else Not Detected; a unit on which HA is suspended (by hand,
or while its post-upgrade tasks run) is Disabled. Breaking HA leaves both
units Single."""

from __future__ import annotations

from typing import Any

from simulator.machines import Table

JOINING = ("Negotiation", "Sync Config", "Bulk Sync")
_UP_AND_PAIRED = ["Negotiation", "Sync Config", "Bulk Sync", "Standby Ready", "Active", "Cold Standby", "Disabled",
                  "Failed", "Not Detected"]

STATES = ["Not Detected", *JOINING, "Standby Ready", "Active", "Cold Standby", "Disabled", "Failed", "Single"]

TRANSITIONS: list[dict[str, Any]] = [
    # joining: negotiate, sync the configuration, bulk-sync the state
    {"trigger": "negotiate", "source": ["Not Detected", "Failed", "Disabled", "Cold Standby", "Active"],
     "dest": "Negotiation"},
    {"trigger": "sync_config", "source": "Negotiation", "dest": "Sync Config"},
    {"trigger": "config_sync_failed", "source": "Negotiation", "dest": "Cold Standby"},
    {"trigger": "bulk_sync", "source": "Sync Config", "dest": "Bulk Sync"},
    {"trigger": "joined", "source": "Bulk Sync", "dest": "Standby Ready"},
    # roles: negotiated with no active peer, a switch, a takeover, the active unit back
    {"trigger": "go_active", "source": ["Negotiation", "Standby Ready", "Not Detected", "Failed", "Disabled"],
     "dest": "Active"},
    {"trigger": "go_standby", "source": "Active", "dest": "Standby Ready"},
    {"trigger": "split_brain", "source": [s for s in _UP_AND_PAIRED if s != "Active"], "dest": "Active"},
    # the unit goes down, or HA is suspended on it; breaking HA
    {"trigger": "lost", "source": [s for s in _UP_AND_PAIRED if s != "Not Detected"], "dest": "Not Detected"},
    {"trigger": "failed", "source": [s for s in _UP_AND_PAIRED if s != "Failed"], "dest": "Failed"},
    {"trigger": "disable", "source": [s for s in _UP_AND_PAIRED if s != "Disabled"], "dest": "Disabled"},
    {"trigger": "break_up", "source": _UP_AND_PAIRED, "dest": "Single"},
]

TABLE = Table(
    name="ftd-ha-unit", title="FTD high availability unit", states=STATES, transitions=TRANSITIONS,
    initial="Not Detected", options={"after_state_change": "_state_changed"},
    doc="""One machine per unit of an FTD HA pair (kinds/ftd/ha.py holds the pair's rules: hold time,
versions, suspension). The states are the ones `show failover` prints; the FDM API reports them as
HA_ACTIVE_NODE, HA_STANDBY_NODE ... (ha.yaml). Seed 000's upgrade order reads on it as: the standby
goes `failed` while it installs, `lost` while it reboots, `disable` during its post-upgrade tasks,
then `negotiate` → `sync_config` → `bulk_sync` → `joined`; Switch Mode is `go_standby` on the active
unit and `go_active` on the standby.""",
)
