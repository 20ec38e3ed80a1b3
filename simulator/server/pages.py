"""The lab server's dashboard at /ui/: its labs (each with a link to the
lab's own dashboard at /labs/{id}/ui/), a form to create one from a bundled
profile or exercise, delete, and per lab its snapshots and, for an exercise,
the goal and the grade table. Rendered with the lab dashboard's templates
(simulator/control/ui); the pages' scripts call the server's own HTTP API
(`/labs`, and each lab's control API under `/labs/{id}/api/`), so the
dashboard can do nothing the API cannot. The server's auth rule applies (its
middleware): off loopback, `/ui/?token=` once, then the cookie."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from simulator import exercises
from simulator import profile as profiles
from simulator.control import ui
from simulator.control.common import ApiError
from simulator.control.ui import plots, templating

if TYPE_CHECKING:
    from simulator.server.app import LabServer
    from simulator.server.hosting import Hosted

PAGES = {"": "Labs"}


class ServerPages:
    def __init__(self, server: LabServer) -> None:
        self.server = server
        # Each exercise lab's checks passing, by lab id, as of its journal's last event and its traffic
        # lost: a check's outcome moves only with those (every change of the model is journaled), so
        # the list, refreshed every few seconds by every open page, grades a lab again only when it moved.
        self._grades: dict[str, tuple[tuple[int, float], dict[str, Any]]] = {}

    def add_routes(self, app: web.Application) -> None:
        ui.add_static(app)
        app.router.add_get("/ui/", self.labs_page)
        app.router.add_get("/ui/lab", self.lab_page)

    def render(self, request: web.Request, template: str, **values: Any) -> web.Response:
        ui = {"colours": templating.settings()["state_colours"], "refresh_s": templating.settings()["labs_refresh_s"]}
        return templating.page(request, template, pages=PAGES, ui=ui, **values)

    def row(self, request: web.Request, hosted: Hosted) -> dict[str, Any]:
        """A lab as the list shows it: the API's entry, its times in words, and what an instructor
        follows at a glance (each device's version, state and job; traffic lost; the grade)."""
        lab = hosted.lab
        shown = templating.settings()["devices_per_lab"]
        units = [{"name": name, "version": device.version, "state": device.state, "job": None, **device.summary(),
                  "ha": device.ha.unit_entry(device) if device.ha is not None else None}
                 for name, device in list(lab.devices.items())[:shown]]
        lost = sum(monitor.lost_seconds() for monitor in lab.traffic.values())
        return {**self.server.entry(request, hosted), "since": plots.hms(lab.clock.now() - lab.epoch),
                "age": plots.hms(time.time() - hosted.created), "expires": plots.hms(hosted.ttl - hosted.idle),
                "units": units, "more_units": max(0, len(lab.devices) - shown), "lost_s": lost,
                "grade": self.checks_passing(hosted, lost)}

    def checks_passing(self, hosted: Hosted, lost: float) -> dict[str, Any] | None:
        lab = hosted.lab
        if lab.exercise is None:
            return None
        moved = lab.journal.last_seq, lost
        cached = self._grades.get(hosted.id)
        if cached is None or cached[0] != moved:
            grade = lab.exercise.grade(lab)
            cached = moved, {"passed": grade.passed, "checks": len(grade.checks),
                             "passing": sum(check.passed for check in grade.checks)}
            self._grades[hosted.id] = cached
        return cached[1]

    async def labs_page(self, request: web.Request) -> web.StreamResponse:
        limit = templating.settings()["labs_on_page"]
        hosted = list(self.server.labs.labs.values())
        for gone in self._grades.keys() - self.server.labs.labs.keys():
            del self._grades[gone]
        return self.render(request, "server.html", page="", labs=[self.row(request, h) for h in hosted[:limit]],
                           more=max(0, len(hosted) - limit), max_labs=self.server.labs.max_labs,
                           profiles=profiles.bundled(), exercises=exercises.bundled(),
                           default_ttl=self.server.labs.ttl)

    async def lab_page(self, request: web.Request) -> web.StreamResponse:
        lab_id = request.query.get("id", "")
        hosted = self.server.labs.get(lab_id)
        if hosted is None:
            raise ApiError(404, f"no lab {lab_id!r} on this server")
        hosted.touch()          # looking at a lab is using it, as GET /labs/{id} is
        lab = hosted.lab
        exercise = lab.exercise
        return self.render(request, "server_lab.html", page="lab", entry=self.row(request, hosted),
                           devices=lab.endpoints()["devices"], epoch=lab.epoch,
                           snapshots=[s.entry() for s in lab.snapshots()],
                           exercise=exercise.describe() if exercise else None,
                           grade=exercise.grade(lab).to_dict() if exercise else None,
                           evidence_max=templating.settings()["evidence_lines"])
