"""pytest fixtures for simulated labs (registered through the `pytest11`
entry point: installing the package is enough).

Async tests (pytest-asyncio) get a `Lab` on virtual time, in the test's loop:

    async def test_upgrade(ftd_lab, sim):
        ftd = ftd_lab.devices["ftd-1"]
        ...
        await sim.wait_for_state(ftd_lab, "ftd-1", "online")
        sim.assert_event(ftd_lab, "upgrade.finished", result="COMPLETED")

Synchronous tests (netmiko, requests) get a lab running in a background
thread (virtual time that jumps when the lab is idle, or scaled time), with
the same helpers as blocking calls:

    def test_with_netmiko(ftd_lab_sync):
        ssh = ftd_lab_sync.endpoint("ftd-1")["ssh"]
        ...
        ftd_lab_sync.wait_for_state("ftd-1", "online", timeout=30)

Ports are ephemeral, so parallel runs (pytest-xdist) never collide. When a
test that used a lab fails, its devices and last events are added to the
report.

With `--simulator-url URL` (a `simulator serve`), every fixture takes a lab
from that server instead, one per test, deleted after it: the labs are
`RemoteLab` handles (simulator/server/remote.py) that reach the lab through
its control API, and virtual time jumps by itself on the server. With
`--simulator-scope module` too (or `@pytest.mark.simulator_scope("module")`
on a module's tests), a module's tests share each lab: made by the first test
that asks for it, snapshotted right after it starts, restored to that
snapshot before each later test, deleted after the module."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from simulator.lab import Lab
from simulator.server.remote import LabServerClient, RemoteLab, profile_text

T = TypeVar("T")
REPORT_EVENTS = 30
REMOTE_WAIT = 120.0       # wall seconds a wait on a served lab lasts at most
POLL = 0.05               # wall seconds between two looks at a served lab
_LABS_KEY = pytest.StashKey[list]()
SCOPES = ("test", "module")
START = "simulator-module-start"        # the snapshot a shared lab is restored to before each test


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--simulator-url", metavar="URL", default=None,
                     help="take the labs from this lab server (`simulator serve`; token from $SIMULATOR_TOKEN) "
                          "instead of starting them in-process")
    parser.addoption("--simulator-scope", choices=SCOPES, default="test",
                     help="with --simulator-url: a lab per test (test), or per module, restored to its start "
                          "before each test (module)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "simulator_scope(scope): 'module' or 'test', as --simulator-scope, for "
                                       "these tests (with --simulator-url)")


def _server(config: pytest.Config) -> LabServerClient | None:
    url = config.getoption("--simulator-url", None)
    return LabServerClient(url, os.environ.get("SIMULATOR_TOKEN")) if url else None


class ModuleLabs:
    """The served labs a test module shares (--simulator-scope module): each made by the first test that
    asks for it and snapshotted at once, restored to that snapshot whenever a later test asks for it."""

    def __init__(self, server: LabServerClient) -> None:
        self.server = server
        self.labs: dict[tuple[Any, ...], tuple[RemoteLab, str]] = {}

    def take(self, profile: str | Path | dict[str, Any], options: dict[str, Any],
             taken: Counter[tuple[Any, ...]]) -> RemoteLab:
        """The lab for this profile and these options (the test's n-th such lab: a test asking twice gets two)."""
        wanted = (profile_text(profile), tuple(sorted((k, v) for k, v in options.items() if v is not None)))
        key = (*wanted, taken[wanted])
        taken[wanted] += 1
        if key in self.labs:
            lab, start = self.labs[key]
            lab.restore(start)
            return lab
        lab = self.server.create(profile, **options)
        self.labs[key] = (lab, lab.snapshot(START)["id"])
        return lab

    def close(self) -> None:
        for lab, _ in reversed(self.labs.values()):
            self.server.delete(lab.id)


@pytest.fixture(scope="module")
def simulator_module_labs(request: pytest.FixtureRequest) -> Iterator[ModuleLabs | None]:
    """The module's shared served labs (None without --simulator-url); deleted after the module."""
    server = _server(request.config)
    if server is None:
        yield None
        return
    shared = ModuleLabs(server)
    try:
        yield shared
    finally:
        shared.close()


def _shared(request: pytest.FixtureRequest, labs: ModuleLabs | None) -> ModuleLabs | None:
    """The module's labs when this test shares them: --simulator-scope, or the nearest simulator_scope mark."""
    mark = request.node.get_closest_marker("simulator_scope")
    scope = mark.args[0] if mark is not None and mark.args else request.config.getoption("--simulator-scope")
    if scope not in SCOPES:
        raise pytest.UsageError(f"simulator_scope({scope!r}): give one of {', '.join(SCOPES)}")
    return labs if scope == "module" else None


async def _poll(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL)
    return True


def _wait(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)
    return True

_async_fixture: Any
try:
    import pytest_asyncio
    _async_fixture = pytest_asyncio.fixture
except ImportError:                      # plain pytest: only the synchronous fixtures
    _async_fixture = None


# -- helpers --------------------------------------------------------------------------------
class Sim:
    """Helpers for async tests (the `sim` fixture)."""

    @staticmethod
    async def wait_for_state(lab: Lab | RemoteLab, device: str, state: str, limit: float = 30 * 24 * 3600.0) -> None:
        """Run the lab's clock until `device` is in `state` (virtual time; a served lab's jumps by itself)."""
        target = lab.device(device)
        if isinstance(lab, RemoteLab):
            reached = await _poll(lambda: target.state == state, REMOTE_WAIT)
        else:
            reached = await lab.clock.run_until(lambda: target.state == state, limit)
            await lab.settle()
        if not reached:
            raise AssertionError(f"{device} did not reach {state!r} (it is {target.state!r})")

    @staticmethod
    async def wait_until(lab: Lab | RemoteLab, predicate: Callable[[], bool],
                         limit: float = 30 * 24 * 3600.0) -> None:
        if isinstance(lab, RemoteLab):
            if not await _poll(predicate, REMOTE_WAIT):
                raise AssertionError(f"condition not reached in {REMOTE_WAIT:.0f} s")
            return
        if not await lab.clock.run_until(predicate, limit):
            raise AssertionError("condition not reached before the clock ran out of events")
        await lab.settle()

    @staticmethod
    async def run_until_idle(lab: Lab | RemoteLab) -> float:
        if isinstance(lab, RemoteLab):
            before = lab.control.call("GET", "/api/clock")["now"]
            return lab.control.call("POST", "/api/clock/run", {})["now"] - before
        elapsed = await lab.clock.run_until_idle()
        await lab.settle()
        return elapsed

    @staticmethod
    def events(lab: Lab | RemoteLab, kind: str | None = None, device: str | None = None, **fields: Any) -> list[dict]:
        return [e for e in lab.journal.select(device, kind) if all(e.get(k) == v for k, v in fields.items())]

    @classmethod
    def assert_event(cls, lab: Lab | RemoteLab, kind: str, device: str | None = None, **fields: Any) -> dict:
        """The last event of `kind` (a prefix) with these fields; fails with what was seen."""
        found = cls.events(lab, kind, device, **fields)
        if not found:
            seen = [f"{e['kind']} {e.get('device')}" for e in lab.journal.select(device, kind)][-10:]
            raise AssertionError(f"no {kind} event with {fields}; saw: {seen or 'none'}")
        return found[-1]


@pytest.fixture
def sim() -> Sim:
    return Sim()


def _track(request: pytest.FixtureRequest, lab: Any) -> None:
    request.node.stash.setdefault(_LABS_KEY, []).append(lab)


# -- async labs -----------------------------------------------------------------------------
if _async_fixture is not None:
    @_async_fixture
    async def lab_factory(request, tmp_path, simulator_module_labs
                          ) -> AsyncIterator[Callable[..., Awaitable[Lab | RemoteLab]]]:
        """Start labs from a profile name, path or dict: `await lab_factory("ftd-ha")`.
        Virtual time, ephemeral ports, a state dir under tmp_path; stopped after the test.
        With --simulator-url: labs of that server (options: seed, time_scale, name, ttl), deleted after
        (with --simulator-scope module: the module's, restored to their start)."""
        server = _server(request.config)
        if server is not None:
            remote: list[RemoteLab] = []
            shared = _shared(request, simulator_module_labs)
            taken: Counter[tuple[Any, ...]] = Counter()

            async def create(profile: str | Path | dict[str, Any], **options: Any) -> RemoteLab:
                options.setdefault("virtual_time", options.get("time_scale") is None)
                if shared is not None:
                    lab = shared.take(profile, options, taken)
                else:
                    lab = server.create(profile, **options)
                    remote.append(lab)
                _track(request, lab)
                return lab

            yield create
            for served in reversed(remote):
                server.delete(served.id)
            return
        labs: list[Lab] = []

        async def start(profile: str | Path | dict[str, Any], **options: Any) -> Lab:
            options.setdefault("virtual_time", True)
            options.setdefault("state_dir", tmp_path / f"lab-{len(labs)}")
            lab = await Lab(profile, **options).start()
            labs.append(lab)
            _track(request, lab)
            return lab

        yield start
        for lab in reversed(labs):
            await lab.stop()

    @_async_fixture
    async def ftd_lab(lab_factory) -> Lab:
        """One FTDv 7.4.1 managed by Device Manager (profile ftd-standalone)."""
        return await lab_factory("ftd-standalone")

    @_async_fixture
    async def ftd_ha_lab(lab_factory) -> Lab:
        """An FTDv HA pair, ftd-a active, ftd-b standby (profile ftd-ha)."""
        return await lab_factory("ftd-ha")

    @_async_fixture
    async def fxos_lab(lab_factory) -> Lab:
        """A Firepower 4145 chassis (FXOS 2.12) hosting FTD ftd-1 (profile fxos-4100-standalone)."""
        return await lab_factory("fxos-4100-standalone")

    @_async_fixture
    async def asa_ha_lab(lab_factory) -> Lab:
        """An ASAv Active/Standby pair, asa-a active (profile asa-ha)."""
        return await lab_factory("asa-ha")


# -- synchronous labs (a lab in a background thread) ----------------------------------------------
class RunningLab:
    """A lab served from its own thread and event loop, for synchronous tests."""

    def __init__(self, profile: str | Path | dict[str, Any], state_dir: Path, time_scale: float | None) -> None:
        self._loop = asyncio.new_event_loop()
        virtual = time_scale is None
        self.lab = Lab(profile, state_dir=state_dir, virtual_time=virtual, autojump=virtual, time_scale=time_scale)
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"lab {self.lab.name}", daemon=True)
        self._thread.start()
        self.call(self.lab.start())

    def call(self, coro: Awaitable[T], timeout: float | None = 60) -> T:
        """Run a coroutine in the lab's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)  # type: ignore[arg-type]

    def run(self, function: Callable[[], T], timeout: float | None = 60) -> T:
        """Call a plain function in the lab's loop (the models are not thread-safe)."""
        async def wrapper() -> T:
            return function()
        return self.call(wrapper(), timeout)

    @property
    def endpoints(self) -> dict[str, Any]:
        return self.run(self.lab.endpoints)

    def endpoint(self, device: str) -> dict[str, Any]:
        return next(d for d in self.endpoints["devices"] if d["name"] == device)

    def state(self, device: str) -> str:
        return self.run(lambda: self.lab.device(device).state)

    def wait_for_state(self, device: str, state: str, timeout: float = 60) -> None:
        """Block until `device` is in `state` (the clock runs on by itself)."""
        async def wait() -> None:
            target = self.lab.device(device)
            while target.state != state:
                await asyncio.sleep(0.01)
            await self.lab.settle()
        try:
            self.call(wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"{device} did not reach {state!r} in {timeout} s "
                                 f"(it is {self.state(device)!r})") from None

    def wait_until(self, predicate: Callable[[Lab], bool], timeout: float = 60) -> None:
        async def wait() -> None:
            while not predicate(self.lab):
                await asyncio.sleep(0.01)
            await self.lab.settle()
        self.call(wait(), timeout)

    def events(self, kind: str | None = None, device: str | None = None, **fields: Any) -> list[dict]:
        return self.run(lambda: Sim.events(self.lab, kind, device, **fields))

    def assert_event(self, kind: str, device: str | None = None, **fields: Any) -> dict:
        return self.run(lambda: Sim.assert_event(self.lab, kind, device, **fields))

    def add_fault(self, point: str, action: str, device: str | None = None, **options: Any):
        return self.run(lambda: self.lab.add_fault(point, action, device, **options))

    def stop(self) -> None:
        try:
            self.call(self.lab.stop())
            self.call(_finish_tasks())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


async def _finish_tasks() -> None:
    """Cancel what is left on the lab's loop and let it end (as asyncio.run does before closing):
    e.g. the handler of a keep-alive connection cut at a reboot, whose end is one loop turn away."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class RemoteRunningLab:
    """RunningLab's helpers on a lab of a server (--simulator-url): each a call to its control API.
    `owned`: deleted when the test ends (not a module's shared lab)."""

    def __init__(self, server: LabServerClient, lab: RemoteLab, owned: bool = True) -> None:
        self.server, self.lab, self.owned = server, lab, owned

    def call(self, coro: Awaitable[T], timeout: float | None = 60) -> T:
        if asyncio.iscoroutine(coro):
            coro.close()
        raise TypeError("a lab of a server runs in the server's process: drive it with run() and the handle's "
                        "methods (lab.devices[...], power, add_fault, clock), not coroutines")

    def run(self, function: Callable[[], T], timeout: float | None = 60) -> T:
        """Call `function` (which reaches the lab through `self.lab`, a RemoteLab)."""
        return function()

    @property
    def endpoints(self) -> dict[str, Any]:
        return self.lab.endpoints()

    def endpoint(self, device: str) -> dict[str, Any]:
        return self.lab.endpoint(device)

    def state(self, device: str) -> str:
        return self.lab.device(device).state

    def wait_for_state(self, device: str, state: str, timeout: float = 60) -> None:
        if not _wait(lambda: self.state(device) == state, timeout):
            raise AssertionError(f"{device} did not reach {state!r} in {timeout} s (it is {self.state(device)!r})")

    def wait_until(self, predicate: Callable[[RemoteLab], bool], timeout: float = 60) -> None:
        if not _wait(lambda: predicate(self.lab), timeout):
            raise TimeoutError(f"condition not reached in {timeout} s")

    def events(self, kind: str | None = None, device: str | None = None, **fields: Any) -> list[dict]:
        return Sim.events(self.lab, kind, device, **fields)

    def assert_event(self, kind: str, device: str | None = None, **fields: Any) -> dict:
        return Sim.assert_event(self.lab, kind, device, **fields)

    def add_fault(self, point: str, action: str, device: str | None = None, **options: Any):
        return self.lab.add_fault(point, action, device, **options)

    def stop(self) -> None:
        if self.owned:
            self.server.delete(self.lab.id)


@pytest.fixture
def lab_runner(request, tmp_path, simulator_module_labs) -> Iterator[Callable[..., RunningLab | RemoteRunningLab]]:
    """Start labs in background threads: `lab_runner("ftd-ha", time_scale=None)`
    (None: virtual time that jumps when idle; a number: scaled time). With --simulator-url:
    labs of that server (with --simulator-scope module: the module's, restored to their start)."""
    labs: list[RunningLab | RemoteRunningLab] = []
    server = _server(request.config)
    shared = _shared(request, simulator_module_labs)
    taken: Counter[tuple[Any, ...]] = Counter()

    def start(profile: str | Path | dict[str, Any], time_scale: float | None = None) -> RunningLab | RemoteRunningLab:
        running: RunningLab | RemoteRunningLab
        options = {"virtual_time": time_scale is None, "time_scale": time_scale}
        if shared is not None:
            running = RemoteRunningLab(shared.server, shared.take(profile, options, taken), owned=False)
        elif server is not None:
            running = RemoteRunningLab(server, server.create(profile, **options))
        else:
            running = RunningLab(profile, tmp_path / f"lab-sync-{len(labs)}", time_scale)
        labs.append(running)
        _track(request, running.lab)
        return running

    yield start
    for running in reversed(labs):
        running.stop()


@pytest.fixture
def ftd_lab_sync(lab_runner) -> RunningLab:
    return lab_runner("ftd-standalone")


@pytest.fixture
def ftd_ha_lab_sync(lab_runner) -> RunningLab:
    return lab_runner("ftd-ha")


@pytest.fixture
def fxos_lab_sync(lab_runner) -> RunningLab:
    return lab_runner("fxos-4100-standalone")


@pytest.fixture
def asa_ha_lab_sync(lab_runner) -> RunningLab:
    return lab_runner("asa-ha")


# -- failure reports ------------------------------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    labs = item.stash.get(_LABS_KEY, [])
    if report.failed and labs and call.when in ("call", "setup"):
        for lab in labs:
            devices = [{k: d.get(k) for k in ("name", "version", "state", "ha")} for d in lab.endpoints()["devices"]]
            events = [{k: v for k, v in e.items() if k != "wall_time"} for e in list(lab.journal.events)[-REPORT_EVENTS:]]
            report.sections.append((f"simulator lab {lab.name}", json.dumps(
                {"state_dir": str(lab.state_dir), "devices": devices, "last_events": events}, indent=1, default=str)))
    return report
