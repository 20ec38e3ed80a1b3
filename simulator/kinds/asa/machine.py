"""The ASA's state machines as tables (docs/machines/asa*.md are drawn from them).

- `DEVICE`: a unit's life: power, boot (ROMMON loads the image that the
  `boot system` lines name), `reload`, and ROMMON when no image boots.
- `UNIT`: one unit's failover state for one failover group (the whole unit in
  Active/Standby), with the names `show failover` prints; one model per unit
  and group, so a reader follows seeds 002/003 on it: `failover
  reload-standby` (the standby is lost, negotiates, detects the active mate,
  syncs its configuration, file system and state, and is Standby Ready), then
  `no failover active` (the active unit switches to standby, its mate to
  active), `reload` of the former active unit, and `failover active`.
- `PAIR`: what the pair as a whole is, for the lab's views (endpoints file,
  control API): re-assessed after every change of a unit's failover state.

Guards are the transitions' `conditions`/`unless`; a refusal comes from a
`may_<trigger>()` that says no, worded in facts.yaml `texts.refuse`."""

from __future__ import annotations

from typing import Any

from simulator.machines import Table

# -- the unit ------------------------------------------------------------------------------------------
DEVICE = Table(
    name="asa", title="ASA unit: power, boot, reload and ROMMON",
    states=["off", "booting", "online", "reloading", "rommon"],
    transitions=[
        {"trigger": "power_up", "source": "off", "dest": "booting", "after": "_boot"},
        {"trigger": "cut_power", "source": ["booting", "online", "reloading", "rommon"], "dest": "off"},
        # `reload` (or the mate's `failover reload-standby`): the graceful shutdown, then ROMMON boots again
        {"trigger": "restart", "source": "online", "dest": "reloading"},
        {"trigger": "shutdown_done", "source": "reloading", "dest": "booting", "after": "_boot"},
        # ROMMON loaded an image: the unit runs it, unless the file went bad meanwhile
        {"trigger": "image_up", "source": "booting", "dest": "online", "conditions": "image_intact",
         "before": "_run_image"},
        {"trigger": "no_image", "source": ["booting", "reloading"], "dest": "rommon"},
        # `boot` at the `rommon #N>` prompt, and the lab's reimage (an image installed from ROMMON)
        {"trigger": "rommon_boot", "source": "rommon", "dest": "booting", "after": "_boot"},
        {"trigger": "reinstall", "source": "*", "dest": "booting", "after": "_boot"},
    ],
    initial="online", options={"after_state_change": "_state_changed"},
    doc="""Every boot passes through ROMMON, which loads the first bootable image named by the `boot system`
lines of the startup configuration (else the first image found in disk0:); with none, or when a
`boot`/`reboot` fault fails it, the unit stops at the `rommon #0>` prompt (`no_image`) until `boot`
there finds an image or the lab reimages it. `image_up` takes the image only if it is still
intact (`image_intact`: a file deleted or spoiled while the unit booted sends it to ROMMON).
SSH and the console CLI answer in `online` only; `reload` is refused elsewhere.""",
)

# -- one unit's failover state, per failover group ---------------------------------------------------------
# The vendor's names, with `_` for a space (a diagram's state ids have none): `shown` gives them back.
JOINING = ["Negotiation", "Cold_Standby", "Sync_Config", "Sync_File_System", "Bulk_Sync"]
UNIT_STATES = ["Not_Detected", "Failed", *JOINING, "Standby_Ready", "Active", "Disabled"]


def shown(state: str) -> str:
    """A failover state as `show failover` prints it (`Standby Ready`)."""
    return state.replace("_", " ")


def state_id(text: str) -> str:
    """The state of a name as `show failover` prints it."""
    return text.replace(" ", "_")


def _but(*states: str) -> list[str]:
    return [s for s in UNIT_STATES if s not in states]


UNIT = Table(
    name="asa-failover-unit", title="ASA failover: one unit's state in a failover group",
    states=UNIT_STATES,
    transitions=[
        # the unit stops answering (reload, power off), or stops in ROMMON
        {"trigger": "lose", "source": _but("Not_Detected"), "dest": "Not_Detected"},
        {"trigger": "fail", "source": _but("Failed"), "dest": "Failed"},
        # it comes up, or is back from a split: it listens for an active mate
        {"trigger": "negotiate", "source": _but("Negotiation"), "dest": "Negotiation"},
        # "Detected an Active mate": it joins (after `write standby` the standby syncs again, `resync`)
        {"trigger": "detect_active_mate", "source": "Negotiation", "dest": "Cold_Standby"},
        {"trigger": "sync_config", "source": "Cold_Standby", "dest": "Sync_Config"},
        {"trigger": "sync_file_system", "source": "Sync_Config", "dest": "Sync_File_System"},
        {"trigger": "bulk_sync", "source": "Sync_File_System", "dest": "Bulk_Sync"},
        {"trigger": "standby_ready", "source": "Bulk_Sync", "dest": "Standby_Ready"},
        {"trigger": "resync", "source": "Standby_Ready", "dest": "Cold_Standby"},
        # stateful switchovers: `failover active` on it, `no failover active` on its mate
        {"trigger": "switch_active", "source": "Standby_Ready", "dest": "Active", "conditions": "runs_beside_mate"},
        {"trigger": "switch_standby", "source": "Active", "dest": "Standby_Ready"},
        # on its own: the active mate reloads (graceful) or is not heard for the hold time, or preempt
        {"trigger": "take_over", "source": "Standby_Ready", "dest": "Active", "conditions": "takeover_allowed"},
        # "No Active unit found", a cut failover link (both go active), `failover active` without a mate
        {"trigger": "go_active", "source": _but("Active"), "dest": "Active"},
        # the mate runs a version it cannot run beside (no zero-downtime step): failover is off
        {"trigger": "disable", "source": _but("Active", "Disabled"), "dest": "Disabled"},
    ],
    initial="Not_Detected", options={"after_state_change": "_changed"},
    doc="""One model per unit and failover group (Active/Standby has one group, the whole unit). The names are
the states `show failover` prints; the join path is the one `show failover history` shows
(Negotiation, Cold Standby "Detected an Active mate", Sync Config, Sync File System, Bulk Sync,
Standby Ready). Seed 003, Active/Standby: step 2 `failover reload-standby` makes the standby `lose`,
boot and join again on the new version; step 3 `no failover active` is `switch_standby` here and
`switch_active` on the mate (`runs_beside_mate`: the versions are a zero-downtime step of seed 002,
table 81-1, and failover is not disabled); step 4 `reload` of the new standby; step 5 `failover
active`. A unit whose version the active unit cannot run beside stays `Disabled`. Automatic
takeovers (`take_over`) are allowed by `failover.auto_failover_mixed` (`takeover_allowed`).""",
)

# -- the pair as a whole ------------------------------------------------------------------------------------------
PAIR_STATES = ["forming", "healthy", "mixed", "degraded", "incompatible", "split_brain", "down"]


def _assess(dest: str, conditions: tuple[str, ...] = (), unless: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"trigger": "assess", "source": [s for s in PAIR_STATES if s != dest], "dest": dest,
            "conditions": list(conditions), "unless": list(unless)}


_WORSE = ("both_active", "traffic_lost", "versions_apart")
PAIR = Table(
    name="asa-failover-pair", title="ASA failover pair: what the pair as a whole is",
    states=PAIR_STATES,
    transitions=[
        # the first row that holds wins (`unless` names the rows above it)
        _assess("split_brain", ("both_active",)),
        _assess("down", ("traffic_lost",), _WORSE[:1]),
        _assess("incompatible", ("versions_apart",), _WORSE[:2]),
        _assess("mixed", ("standby_ready", "mixed_versions"), _WORSE),
        _assess("healthy", ("standby_ready",), (*_WORSE, "mixed_versions")),
        _assess("forming", ("joining",), (*_WORSE, "standby_ready")),
        _assess("degraded", (), (*_WORSE, "standby_ready", "joining")),
    ],
    initial="forming", options={"after_state_change": "_state_changed"},
    doc="""`assess` runs after every change of a unit's failover state. `healthy`: every failover group has an
active unit and a Standby Ready mate; `mixed`: the same with two versions that are a zero-downtime
step (the middle of seed 003's procedure); `forming`: a mate is joining; `degraded`: no standby;
`incompatible`: the versions cannot run side by side, failover is off (seed 002, table 81-1);
`down`: a failover group has no active unit (traffic stops); `split_brain`: both units active for a
group (the failover link is cut).""",
)
