"""Geometry of the traffic page's plots: a monitor's outages across the lab's
history as boxes on a time axis, each named by the journal events that
caused it (what its units did just before traffic stopped)."""

from __future__ import annotations

from typing import Any

CAUSE_WINDOW = 900.0    # simulated seconds before an outage in which an event of its units may have caused it
CAUSE_KINDS = ("reboot", "power", "reimage", "fault", "snort.restart", "upgrade.started", "upgrade.stage",
               "upgrade.finished", "revert", "ha.", "failover", "boot")
DETAIL = ("action", "state", "stage", "point", "target", "cause", "phase", "to", "reason")


def hms(seconds: float) -> str:
    """Simulated seconds as 1h02m03s (4m05s, 7s)."""
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def describe(event: dict[str, Any]) -> str:
    """One line for an event: its device, kind and the field that says most."""
    detail = next((str(event[key]) for key in DETAIL if event.get(key) not in (None, "")), "")
    return " ".join(part for part in (event["device"] or event.get("pair") or "lab", event["kind"], detail) if part)


def causes(events: list[dict[str, Any]], names: set[str], start: float, count: int) -> list[str]:
    """The last `count` telling events of `names` (the units, the pair) up to `start` (within CAUSE_WINDOW)."""
    found: list[str] = []
    for event in reversed(events):
        if event["sim_time"] > start + 1e-6:
            continue
        if event["sim_time"] < start - CAUSE_WINDOW or len(found) >= count:
            break
        if (event["device"] or event.get("pair")) in names and event["kind"].startswith(CAUSE_KINDS):
            line = describe(event)
            if line not in found:
                found.append(line)
    return found[::-1]


def traffic_plot(lab: Any, name: str, size: dict[str, Any]) -> dict[str, Any]:
    """A monitor's plot: outages as x/width on [0, width] over the lab's time so far."""
    monitor = lab.traffic[name]
    report = monitor.report()
    now, epoch = lab.clock.now(), lab.epoch
    span = max(now - epoch, 1.0)
    width = size["width"]
    events = list(lab.journal.events)
    def x(t: float) -> float:
        return round((min(max(t, epoch), now) - epoch) / span * width, 1)
    outages = []
    for start, end in report["outages"]:
        stop = end if end is not None else now
        outages.append({"x": x(start), "w": max(x(stop) - x(start), 1.5), "start": hms(start - epoch),
                        "lost": hms(stop - start), "open": end is None,
                        "causes": causes(events, monitor.units | {name}, start, size["causes"])})
    ticks = [{"x": round(width * i / 4, 1), "label": hms(span * i / 4), "anchor": ("start", "middle", "end")[
        (i > 0) + (i == 4)]} for i in range(5)]
    return {"name": name, "units": sorted(monitor.units), "up": report["up"],
            "lost_seconds": report["lost_seconds"], "lost_probes": report["lost_probes"],
            "width": width, "height": size["height"], "outages": outages, "ticks": ticks}
