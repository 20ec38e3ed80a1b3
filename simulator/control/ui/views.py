"""The dashboard's pages: each gathers what the control API would answer and
renders it with a Jinja2 template (autoescaped: device names are the user's)."""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from simulator.control import server as api
from simulator.control.ui import plots
from simulator.control.ui.templating import page, settings, templates
from simulator.faults import POINTS

PAGES = {"": "Lab", "traffic": "Traffic", "controls": "Controls"}


def render(request: web.Request, template: str, **values: Any) -> web.Response:
    lab = api.lab_of(request)
    pages = {**PAGES, **({"exercise": "Exercise"} if lab.exercise else {})}
    return page(request, template, lab=lab.name, pages=pages, clock=api.clock_entry(lab),
                since=plots.hms(lab.clock.now() - lab.epoch),
                ui={"colours": settings()["state_colours"], "sparkline": settings()["sparkline"], "epoch": lab.epoch},
                **values)


def monitor_of(lab: Any, name: str) -> str | None:
    """The traffic monitor a device's probe counts in: its own, or its pair's."""
    if name in lab.traffic:
        return name
    ha = lab.devices[name].ha
    pair = ha.unit_entry(lab.devices[name]).get("pair") if ha is not None else None
    return pair if pair in lab.traffic else None


def groups(lab: Any, names: list[str]) -> list[dict[str, Any]]:
    """Cards in profile order, a pair's units together (at the first unit's place)."""
    out: list[dict[str, Any]] = []
    placed: set[str] = set()
    for name in names:
        if name in placed:
            continue
        entry = api.device_entry(lab, name)
        pair = (entry.get("ha") or {}).get("pair")
        if pair in lab.pairs:
            status = lab.pairs[pair].status()
            units = [u for u in status["units"] if u in lab.devices]
            placed.update(units)
            out.append({"pair": status, "devices": [api.device_entry(lab, u) for u in units], "monitor": pair})
        else:
            placed.add(name)
            out.append({"pair": None, "devices": [entry], "monitor": monitor_of(lab, name)})
    return out


async def lab_page(request: web.Request) -> web.StreamResponse:
    lab = api.lab_of(request)
    limit = settings()["devices_on_page"]
    names = list(lab.devices)
    traffic = {name: monitor.report() for name, monitor in lab.traffic.items()}
    return render(request, "lab.html", page="", groups=groups(lab, names[:limit]), more=max(0, len(names) - limit),
                  traffic=traffic, last_seq=lab.journal.last_seq,
                  exercise=lab.exercise.describe() if lab.exercise else None)


def _device_name(request: web.Request) -> str:
    name = request.query.get("name", "")
    if name not in api.lab_of(request).devices:
        raise api.ApiError(404, f"no device {name!r} in this lab")
    return name


def device_events(lab: Any, name: str) -> list[dict[str, Any]]:
    """The device's newest events (oldest first), from the journal's recent end."""
    wanted, scan = settings()["journal"]["device_events"], settings()["journal"]["scan"]
    recent = itertools.islice(reversed(lab.journal.events), scan)
    mine = list(itertools.islice((e for e in recent if e["device"] == name), wanted))
    return mine[::-1]


def stages(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last job's stages: from its start, each stage with when it began and how long it ran."""
    starts = [i for i, e in enumerate(events) if e["kind"] in ("upgrade.started", "revert.started")]
    job = events[starts[-1]:] if starts else []
    rows: list[dict[str, Any]] = []
    for event in job:
        if event["kind"] == "upgrade.stage":
            if rows:
                rows[-1]["took"] = event["sim_time"] - rows[-1]["at"]
            rows.append({"stage": event["stage"], "script": event.get("script", ""), "at": event["sim_time"],
                         "percent": event.get("percent"), "took": None})
        elif event["kind"] in ("upgrade.finished", "upgrade.failed", "reboot") and rows and rows[-1]["took"] is None:
            rows[-1]["took"] = event["sim_time"] - rows[-1]["at"]
    return rows


async def device_page(request: web.Request) -> web.StreamResponse:
    lab = api.lab_of(request)
    name = _device_name(request)
    events = device_events(lab, name)
    return render(request, "device.html", page="device", device=api.device_entry(lab, name), events=events,
                  stages=stages(events), monitor=monitor_of(lab, name), epoch=lab.epoch,
                  has_console=lab.console is not None and name in lab.console.endpoints,
                  last_seq=lab.journal.last_seq, query=urlencode({"device": name}))


async def traffic_page(request: web.Request) -> web.StreamResponse:
    lab = api.lab_of(request)
    drawn = [plots.traffic_plot(lab, name, settings()["plot"]) for name in lab.traffic]
    if request.query.get("part") == "plots":        # what the page's script swaps in on a traffic event
        html = templates().get_template("plots.html").render(plots=drawn)
        return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})
    return render(request, "traffic.html", page="traffic", plots=drawn)


async def controls_page(request: web.Request) -> web.StreamResponse:
    lab = api.lab_of(request)
    points = [{"point": point, "description": text, "actions": list(actions)} for point, (text, actions)
              in POINTS.items()]
    return render(request, "controls.html", page="controls", faults=lab.faults.dump(), points=points,
                  devices=list(lab.devices), pairs=list(lab.pairs), points_json=json.dumps(points),
                  snapshots=[s.entry() for s in lab.snapshots()], epoch=lab.epoch)


async def exercise_page(request: web.Request) -> web.StreamResponse:
    """An exercise lab's goal and its grade now (each check with its evidence)."""
    lab = api.lab_of(request)
    if lab.exercise is None:
        raise api.ApiError(404, "this lab is not an exercise (start one with `simulator up --exercise NAME`)")
    return render(request, "exercise.html", page="exercise", exercise=lab.exercise.describe(),
                  grade=lab.exercise.grade(lab).to_dict(), evidence_max=settings()["evidence_lines"])
