"""A chassis' image store: download tasks (`download image URL`, POST
sys/firmware/dnld) and the platform bundles they bring. The bytes are moved
by a surface-side helper (transfer.py) that reports to the chassis; the
chassis stretches the transfer over simulated time from the bundle's
declared size, and keeps the bundle once it is whole and readable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from simulator.clock import Timer
from simulator.kinds.base import DeviceBase, Refused
from simulator.kinds.fxos.bundles import BundleInfo, FxosVersion
from simulator.kinds.fxos.facts import fxos_data, say
from simulator.kinds.fxos.machine import cli_answers, dme_answers, install_phase
from simulator.kinds.fxos.records import DownloadTask, Install

PROTOCOLS = ("scp", "sftp", "ftp", "tftp", "http", "https", "local")


def parse_url(url: str) -> dict[str, Any]:
    """`scp://user@host:port/path/file`, `tftp://host:port/path/file`, a plain
    path (of the chassis' own file system or the lab's import directory):
    protocol, server, port, userid, password (if in the URL), path, filename.
    ValueError when it is not a URL the chassis takes."""
    text = url.strip()
    if "://" not in text:
        if not text.startswith("/"):
            raise ValueError(url)
        return {"protocol": "local", "server": "", "port": 0, "userid": "", "password": None,
                "path": text, "filename": text.rsplit("/", 1)[-1]}
    parts = urlsplit(text)
    protocol = parts.scheme.lower()
    if protocol == "file":
        protocol, host = "local", ""
    else:
        host = parts.hostname or ""
    if protocol not in PROTOCOLS or (protocol != "local" and not host):
        raise ValueError(url)
    path = unquote(parts.path or "")
    # UCS-style scp://user@host:/abs/path (kick's form): the "port" is empty
    if protocol in ("scp", "sftp") and parts.netloc.endswith(":") and path.startswith("/"):
        port = 0
    else:
        try:
            port = parts.port or 0
        except ValueError:
            raise ValueError(url) from None
    filename = path.rsplit("/", 1)[-1]
    if not filename:
        raise ValueError(url)
    return {"protocol": protocol, "server": host, "port": port, "userid": unquote(parts.username or ""),
            "password": unquote(parts.password) if parts.password else None, "path": path,
            "filename": filename}


class ImageStore(DeviceBase):
    """The chassis' downloads and platform bundles, and what its state allows
    (a part of FxosChassis)."""

    version: str
    packages: dict[str, BundleInfo]              # downloaded platform bundles
    downloads: dict[str, DownloadTask]
    # Set by the surface-side transfer helper: called with (task, password) to move the bytes.
    transfer: Callable[[DownloadTask, str | None], None] | None
    import_dir: Path | None = None     # a lab host folder a local path may name (the profile's `import_dir`)
    install: Install | None
    _download_timers: dict[str, Timer]

    # -- what the machine's state means (machine.py) ----------------------------------
    @property
    def services_up(self) -> bool:
        """The FXOS CLI answers (SSH listens, the console offers a login)."""
        return cli_answers(self.state)

    @property
    def ready(self) -> bool:
        """The data management engine answers (configuration and shows work)."""
        return dme_answers(self.state)

    @property
    def installing(self) -> bool:
        """A platform bundle install runs; the phase it is in is the chassis' state."""
        return install_phase(self.state) is not None

    def _require_ready(self) -> None:
        if not self.ready:
            raise Refused("not_ready", say("not_ready"))

    # -- the store --------------------------------------------------------------------

    def image_store_used_kb(self) -> int:
        used = fxos_data().bundle_size_kb     # the running bundle
        used += sum(p.size_kb for p in self.packages.values())
        used += sum(t.total_kb for t in self.downloads.values() if t.state == "Downloading")
        return used

    def image_store_free_kb(self) -> int:
        return max(0, fxos_data().image_store_kb - self.image_store_used_kb())

    def bundle_for(self, version: str) -> BundleInfo | None:
        return next((p for p in self.packages.values() if p.version == version), None)

    def start_download(self, url: str, password: str | None = None) -> DownloadTask:
        """`download image URL` / POST sys/firmware/dnld: a task that moves the
        file (through the attached transfer helper) and then counts it in."""
        self._require_ready()
        try:
            where = parse_url(url)
        except ValueError:
            raise Refused("bad_url", say("bad_url", url=url)) from None
        filename = where["filename"]
        if filename in self.packages or filename == FxosVersion.parse(self.version).filename:
            raise Refused("exists", say("download_exists", filename=filename))
        old = self.downloads.get(filename)
        if old is not None and old.state == "Downloading":
            raise Refused("running", say("download_running", filename=filename))
        shown = url.replace(f":{where['password']}@", "@") if where["password"] else url
        task = DownloadTask(filename, where["protocol"], where["server"], where["port"], where["userid"],
                            where["path"], shown, self.ctx.clock.now(),
                            tries=(old.tries + 1) if old is not None else 1)
        self.downloads[filename] = task
        self._emit("fxos.download", state="Downloading", filename=filename, protocol=task.protocol,
                   server=task.server)
        if self._transfer_fault(task):
            return task
        if self.transfer is None:
            self._fail_later(task, "transfer", detail=say("no_transfer"))
        else:
            self.transfer(task, password if password is not None else where["password"])
        return task

    def _transfer_fault(self, task: DownloadTask) -> bool:
        """A `package.transfer` fault: True when it fails the task (the bytes need not move)."""
        fault = self.ctx.take_fault(self.name, "package.transfer")
        if fault is None:
            return False
        if fault.action == "disk_full":
            self._fail_later(task, "disk_full", needed_kb=fxos_data().bundle_size_kb, free_kb=0)
            return True
        if fault.action == "fail":
            self._fail_later(task, "transfer", detail=fault.message or say("transfer_failed"))
            return True
        task.corrupt = fault.action == "corrupt"
        return False

    def _fail_later(self, task: DownloadTask, cause: str, **values: Any) -> None:
        self._download_timers[task.filename] = self.ctx.clock.call_later(
            1, self.download_failed, task.filename, cause, values)

    def download_failed(self, filename: str, cause: str, values: dict[str, Any] | None = None) -> None:
        """The transfer failed (reported by the helper, or decided here)."""
        task = self.downloads.get(filename)
        if task is None or task.state != "Downloading":
            return
        self._stop_download_timer(filename)
        error = fxos_data().download_errors[cause]
        fields = {"server": task.server, "path": task.path, "filename": filename, "detail": "",
                  "needed_kb": task.total_kb, "free_kb": self.image_store_free_kb(), **(values or {})}
        task.state, task.finished = "Failed", self.ctx.clock.now()
        task.error_code, task.error_text = error.code, error.text.format(**fields)
        self._emit("fxos.download", state="Failed", filename=filename, code=task.error_code, error=task.error_text)

    def _fail_downloads(self) -> None:
        """A reboot or power loss ends every running download."""
        for filename, task in list(self.downloads.items()):
            if task.state == "Downloading":
                self.download_failed(filename, "interrupted")

    def download_received(self, filename: str, info: BundleInfo) -> bool:
        """The helper wrote the file and inspected it. False: it must be removed
        (the task failed or is gone); True: the chassis keeps it and the task
        runs on in simulated time for the bundle's declared size."""
        task = self.downloads.get(filename)
        if task is None or task.state != "Downloading":
            return False
        if not info.intact or info.version is None:
            self.download_failed(filename, "invalid")
            return False
        task.total_kb = info.size_kb
        if fxos_data().image_store_kb < self.image_store_used_kb():
            task.total_kb = 0
            self.download_failed(filename, "disk_full", {"needed_kb": info.size_kb,
                                                         "free_kb": self.image_store_free_kb()})
            return False
        self._download_timers[filename] = self.ctx.clock.call_later(
            fxos_data().download_tick, self._download_tick, filename, info)
        return True

    def _download_tick(self, filename: str, info: BundleInfo) -> None:
        task = self.downloads[filename]
        data = fxos_data()
        task.size_kb = min(task.total_kb, task.size_kb + int(data.download_rate_kbps * data.download_tick))
        if task.size_kb < task.total_kb:
            self._download_timers[filename] = self.ctx.clock.call_later(data.download_tick, self._download_tick,
                                                                        filename, info)
            return
        self._download_timers.pop(filename, None)
        task.state, task.finished = "Downloaded", self.ctx.clock.now()
        self.packages[filename] = info
        self._emit("fxos.download", state="Downloaded", filename=filename, version=info.version)

    def _stop_download_timer(self, filename: str) -> None:
        timer = self._download_timers.pop(filename, None)
        if timer is not None:
            timer.cancel()

    def delete_download_task(self, filename: str) -> None:
        self._require_ready()
        task = self.downloads.get(filename)
        if task is None:
            raise Refused("not_found", say("mo_missing"))
        if task.state == "Downloading":
            self.download_failed(filename, "transfer", {"detail": say("download_cancelled")})
        del self.downloads[filename]
        self._emit("fxos.download", state="Deleted", filename=filename)

    def delete_package(self, filename: str) -> None:
        self._require_ready()
        info = self.packages.get(filename)
        if info is None:
            raise Refused("not_found", say("mo_missing"))
        if self.installing and self.install is not None and info.version == self.install.target:
            raise Refused("in_use", say("package_in_use", filename=filename))
        del self.packages[filename]
        self.downloads.pop(filename, None)
        self._emit("fxos.package", action="deleted", filename=filename)

    def restore_downloads(self, data: dict[str, Any]) -> None:
        """Take back the store of a snapshot; a download in flight when the lab stopped did not finish."""
        self.packages = {k: BundleInfo.from_dict(p) for k, p in data["packages"].items()}
        self.downloads = {k: DownloadTask(**t) for k, t in data["downloads"].items()}
        err = fxos_data().download_errors["interrupted"]
        for filename, task in self.downloads.items():
            if task.state == "Downloading":
                task.state, task.finished = "Failed", self.ctx.clock.now()
                task.error_code, task.error_text = err.code, err.text.format(filename=filename)
