"""The SPS web UI pages seed 004's steps name, server-rendered (Jinja2, every
value escaped) beside the REST API on the same HTTPS port and the same model:
*Basic Settings > System > Firmwares* (Upload, Upgrade Notes, Test, After
reboot), *System control* (This node / Other node: Reboot, Shutdown, with a
confirmation), *Version details* (boot and core firmware), *Sealed mode*
(Activate sealed mode), *Basic Settings > High Availability* (status,
nodes, Activate Slave, Join HA), and the upgrade log the web server shows while
a new firmware's first boot upgrades (not when upgrading from 5.0.x).

The login form opens the same `session_id` session as the REST API. Paths,
layout and the wording seed 004 does not give are RECONSTRUCTED (see
docs/fidelity/sps.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from simulator.kinds.base import Refused
from simulator.kinds.sps import api
from simulator.kinds.sps.api_ha import ha_view, pair_of
from simulator.kinds.sps.facts import SpsVersion, sps, text
from simulator.kinds.sps.model import SpsDevice
from simulator.surfaces.https import Api, ApiError, Https, Mode, Route, site_of
from simulator.webserver import read_text

UPGRADE_STATES = ("upgrading", "reverting")      # the web server shows the upgrade log meanwhile
PAGES = {"firmwares": "/basic/system/firmwares", "control": "/basic/system/control",
         "version": "/basic/system/version", "sealed": "/basic/system/sealed", "ha": "/basic/ha"}
ACTIONS = {"reboot", "shutdown"}
NODES = {"this_node", "other_node"}
FORM_MAX = 4096                                  # a page's form body (login, buttons) at most

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)


class Page(ApiError):
    """An HTML answer that ends the request early (an error page, the login redirect)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.text or "")
        self.status, self._response = response.status, response

    def response(self) -> web.Response:
        return self._response


def render(template: str, status: int = 200, **values: Any) -> web.Response:
    return web.Response(status=status, content_type="text/html", text=_ENV.get_template(template).render(**values))


def _sessions(request: web.Request) -> Any:
    return site_of(request).states[api.SPS_API.name]      # one session for the pages and REST


def _label(version: str | None) -> str | None:
    return SpsVersion.parse(version).label if version else None


def _frame(device: SpsDevice, page: str) -> dict[str, Any]:
    """What every page shows around its content: the box, its version, where the user is."""
    return {"hostname": device.hostname, "version": device.label, "model": device.model, "page": page,
            "pages": PAGES, "in_ha": device.ha is not None}


def error_page(status: int, message: str | None) -> Page:
    return Page(render("error.html", status=status, status_code=status, message=message or text("no_route")))


def refused_page(exc: Refused) -> Page:
    return error_page(400, exc.message)


async def check(request: web.Request, route: Route) -> None:
    """While the new firmware's first boot upgrades, every page is the upgrade log; otherwise
    a page needs a live session (the login form, else)."""
    device = api.the_sps(request)
    if device.state in UPGRADE_STATES:
        raise Page(render("upgrade_log.html", status=200 if request.method == "GET" else 503,
                          hostname=device.hostname, lines=list(device.log), state=device.state))
    if route.auth and not _sessions(request).use(request.cookies.get(api.SESSION_COOKIE)):
        raise Page(_redirect(f"/login?next={quote(request.path_qs, safe='')}"))


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _next(value: str | None) -> str:
    """Where the login goes on: a page of this box only (no `//host` or scheme)."""
    return value if value and value.startswith("/") and not value.startswith("//") and "\\" not in value \
        else PAGES["firmwares"]


async def _form(request: web.Request) -> dict[str, str]:
    if not request.body_exists:
        return {}
    if request.content_type != "application/x-www-form-urlencoded":
        raise error_page(400, text("form_expected"))
    return dict(parse_qsl(await read_text(request), keep_blank_values=True, max_num_fields=20))


# -- login --------------------------------------------------------------------------------
async def login_page(request: web.Request) -> web.Response:
    return render("login.html", hostname=api.the_sps(request).hostname, next=_next(request.query.get("next")))


async def login(request: web.Request) -> web.Response:
    device, form = api.the_sps(request), await _form(request)
    target = _next(form.get("next"))
    if (form.get("username"), form.get("password")) != (device.web_username, device.web_password):
        return render("login.html", status=401, hostname=device.hostname, next=target, error=text("login_failed"))
    response = _redirect(target)
    response.set_cookie(api.SESSION_COOKIE, _sessions(request).login(), secure=True, httponly=True, path="/",
                        samesite="Strict")
    return response


async def logout(request: web.Request) -> web.Response:
    _sessions(request).end(request.cookies.get(api.SESSION_COOKIE))
    response = _redirect("/login")
    response.del_cookie(api.SESSION_COOKIE, path="/")
    return response


async def home(request: web.Request) -> web.Response:
    return _redirect(PAGES["firmwares"])


# -- Basic Settings > System > Firmwares ------------------------------------------------------
def _slots(device: SpsDevice) -> list[dict[str, Any]]:
    return [{"id": i, "empty": i not in device.slots, **({"version": _label(device.slots[i].version)}
                                                          if i in device.slots else {}),
             "current": i == device.current, "after_reboot": i == device.after_reboot}
            for i in range(1, sps().slots + 1)]


def _firmwares(device: SpsDevice, status: int = 200, **values: Any) -> web.Response:
    return render("firmwares.html", status=status, slots=_slots(device), **_frame(device, "firmwares"), **values)


async def firmwares(request: web.Request) -> web.Response:
    return _firmwares(api.the_sps(request))


async def upload(request: web.Request) -> web.Response:
    device = api.the_sps(request)
    try:
        slot_id = await api.receive_firmware(request)
    except api.SpsError as exc:
        return _firmwares(device, exc.status, error=exc.details.get("message") or exc.error_type)
    except Refused as exc:
        return _firmwares(device, 400, error=exc.message)
    return _firmwares(device, notice=text("web_uploaded", version=_label(device.slots[slot_id].version), slot=slot_id))


async def test(request: web.Request) -> web.Response:
    device, form = api.the_sps(request), await _form(request)
    slot_id = api._slot_id(form.get("slot_id"))
    try:
        summary = device.test_firmware(slot_id)
    except Refused as exc:
        if exc.reason != "test_failed":
            return _firmwares(device, 400, error=exc.message)
        return _firmwares(device, test={"slot": slot_id, "ok": False, "lines": exc.message.splitlines()})
    return _firmwares(device, test={"slot": slot_id, "ok": True, "lines": [summary]})


async def set_after_reboot(request: web.Request) -> web.Response:
    device, form = api.the_sps(request), await _form(request)
    slot_id = api._slot_id(form.get("after_reboot"))
    try:
        device.set_after_reboot(slot_id)
    except Refused as exc:
        return _firmwares(device, 400, error=exc.message)
    return _firmwares(device, notice=text("web_after_reboot", version=_label(device.slots[slot_id].version)))


async def notes(request: web.Request) -> web.Response:
    """The Upgrade Notes pop-up of one slot's firmware."""
    device = api.the_sps(request)
    slot = device.slot(api._slot_id(request.match_info["slot_id"]))
    return render("notes.html", version=_label(slot.version), notes=slot.upgrade_notes, news=slot.upgrade_news)


# -- System control, Version details ----------------------------------------------------------
def _control(device: SpsDevice, page: str, status: int = 200, **values: Any) -> web.Response:
    view = ha_view(device)
    template = "ha.html" if page == "ha" else "control.html"
    return render(template, status=status, ha=_ha_labels(view), **_frame(device, page), **values)


async def control(request: web.Request) -> web.Response:
    return _control(api.the_sps(request), "control")


async def node_action(request: web.Request) -> web.Response:
    """This node / Other node > Reboot or Shutdown: a confirmation first, then the action."""
    device, form = api.the_sps(request), await _form(request)
    node, action = request.match_info["node"], request.match_info["action"]
    if node not in NODES or action not in ACTIONS:
        raise error_page(404, text("no_route"))
    back = "ha" if form.get("back") == "ha" else "control"
    if form.get("confirm") != "yes":
        return render("confirm.html", node=node, action=action, back=back,
                      question=text(f"web_confirm_{action}", node=text(f"web_{node}")), **_frame(device, back))
    try:
        if node == "this_node":
            device.reboot() if action == "reboot" else device.shutdown()
        else:
            pair_of(device).other_node(device, action)
    except Refused as exc:
        return _control(device, back, 400, error=exc.message)
    return render("going_down.html", message=text(f"web_{action}_started", node=text(f"web_{node}")),
                  **_frame(device, back))


async def version(request: web.Request) -> web.Response:
    device = api.the_sps(request)
    return render("version.html", serial=device.serial, **_frame(device, "version"))


async def sealed(request: web.Request) -> web.Response:
    device = api.the_sps(request)
    return render("sealed.html", sealed=device.sealed, note=text("web_sealed"), **_frame(device, "sealed"))


async def activate_sealed(request: web.Request) -> web.Response:
    """Activate sealed mode; the web UI has no way back (only the local console, sps.md 1)."""
    device = api.the_sps(request)
    try:
        device.set_sealed(True, local=False)
    except Refused as exc:
        return render("sealed.html", status=400, sealed=device.sealed, note=text("web_sealed"), error=exc.message,
                      **_frame(device, "sealed"))
    return render("sealed.html", sealed=True, note=text("web_sealed"), notice=text("web_sealed_on"),
                  **_frame(device, "sealed"))


# -- Basic Settings > High Availability ----------------------------------------------------------
def _ha_labels(view: dict[str, Any]) -> dict[str, Any]:
    """The HA view with versions as the vendor writes them."""
    nodes = {}
    for key in ("this_node", "other_node"):
        node = view.get(key)
        if node:
            nodes[key] = {**node, "firmware_version": _label(node.get("firmware_version")),
                          "firmware_after_reboot": _label(node.get("firmware_after_reboot"))}
    return {**view, **nodes}


async def ha(request: web.Request) -> web.Response:
    return _control(api.the_sps(request), "ha")


async def activate_slave(request: web.Request) -> web.Response:
    device = api.the_sps(request)
    try:
        pair_of(device).activate_slave(device)
    except Refused as exc:
        return _control(device, "ha", 400, error=exc.message)
    return render("going_down.html", message=text("web_activated"), **_frame(device, "ha"))


async def join_ha(request: web.Request) -> web.Response:
    device = api.the_sps(request)
    try:
        pair_of(device).join(device)
    except Refused as exc:
        return _control(device, "ha", 400, error=exc.message)
    return _control(device, "ha", notice=text("web_joined"))


ROUTES = [
    Route("GET", "/", home),
    Route("GET", "/login", login_page, auth=False),
    Route("POST", "/login", login, auth=False),
    Route("POST", "/logout", logout),
    Route("GET", PAGES["firmwares"], firmwares),
    Route("POST", f"{PAGES['firmwares']}/upload", upload, max_body=sps().api.upload_max),
    Route("POST", f"{PAGES['firmwares']}/test", test),
    Route("POST", f"{PAGES['firmwares']}/after_reboot", set_after_reboot),
    Route("GET", f"{PAGES['firmwares']}/{{slot_id}}/notes", notes),
    Route("GET", PAGES["control"], control),
    Route("POST", f"{PAGES['control']}/{{node}}/{{action}}", node_action),
    Route("GET", PAGES["version"], version),
    Route("GET", PAGES["sealed"], sealed),
    Route("POST", f"{PAGES['sealed']}/activate", activate_sealed),
    Route("GET", PAGES["ha"], ha),
    Route("POST", f"{PAGES['ha']}/activate_slave", activate_slave),
    Route("POST", f"{PAGES['ha']}/join", join_ha),
]


class _NoState:
    """The pages keep no state of their own: they share the REST API's sessions."""

    def reset(self) -> None:
        pass


def web_mode(device: SpsDevice) -> Mode:
    """The web UI and REST API answer while the core firmware runs (sps.md 2.4): not on an HA
    slave, whose boot firmware only keeps the data in sync. While a new firmware's first boot
    upgrades, the web server shows its log (seed 004), unless the upgrade comes from 5.0.x."""
    if device.core_runs or device.state in UPGRADE_STATES and device.web_upgrade_log:
        return "serve"
    return "closed"


WEB = Api("sps-web", ROUTES, lambda device: _NoState(), error_page, refused_page, check, max_body=FORM_MAX)
HTTPS = Https((api.SPS_API, WEB), web_mode,
              unavailable="<html><body><h1>503 Service Unavailable</h1></body></html>")
