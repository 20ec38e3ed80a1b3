"""`copy <source> disk0:/<name>` as the ASA asks it (the host, user, source and
destination questions, unless `/noconfirm`), the copy job it starts on the
unit (its worker moves the bytes) and what the command prints at the end."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urlsplit

from simulator.journal import Event, Journal
from simulator.kinds.asa.disk import CopyJob, disk_name
from simulator.kinds.asa.facts import asa_data
from simulator.kinds.asa.versions import ImageName
from simulator.kinds.asa.views import text
from simulator.kinds.base import Refused
from simulator.transfer import Source

if TYPE_CHECKING:
    from simulator.kinds.asa.cli import AsaShell

REMOTE = ("http", "https", "scp")


class CopyDialog:
    def __init__(self, shell: AsaShell, confirm: bool) -> None:
        self.session = shell.session
        self.device = shell.device
        self.confirm = confirm

    async def ask(self, prompt: str, default: str) -> str | None:
        """A question with a default (`/noconfirm` takes the default)."""
        if not self.confirm:
            return default
        answer = await self.session.ask(prompt)
        if answer is None:
            return None
        return answer.strip() or default

    async def run(self, source: str, destination: str | None) -> str | None:
        """Copy `source` to disk0:/`destination` (None: the source's name)."""
        url = urlsplit(source)
        scheme = url.scheme.lower()
        known = source.startswith("/") and source.lstrip("/") in self.device.disk.entries
        in_disk = disk_name(source) or (source.lstrip("/") if known else None)
        if scheme in REMOTE:
            asked = await self._remote(url)
        elif in_disk is not None:
            asked = await self._in_disk(in_disk)
        elif scheme == "file" or source.startswith("/"):
            path = unquote(url.path) if scheme == "file" else source
            asked = Source("file", path), source, source
        else:
            return text("copy_no_protocol", url=source)
        if asked is None:
            return None
        origin, shown, accessing = asked
        default = destination or origin.path.rsplit("/", 1)[-1]
        name = await self.ask(text("ask_destination", name=default), default)
        if name is None:
            return None
        if self.confirm:
            self.session.write("\n")
        return await self._copy(origin, name, shown, accessing)

    async def _remote(self, url: SplitResult) -> tuple[Source, str, str] | None:
        scheme = url.scheme.lower()
        host = await self.ask(text("ask_host", host=url.hostname or ""), url.hostname or "")
        if host is None:
            return None
        user: str | None = unquote(url.username or "")
        if scheme == "scp":
            user = await self.ask(text("ask_user", user=user), user or "")
            if user is None:
                return None
        path = unquote(url.path)
        name = path.rsplit("/", 1)[-1]
        answer = await self.ask(text("ask_source", name=name), name)
        if answer is None:
            return None
        if answer != name:
            path = answer if answer.startswith("/") else path.rsplit("/", 1)[0] + "/" + answer
        port = f":{url.port}" if url.port else ""
        shown = f"{scheme}://{user + '@' if user else ''}{host}{port}{path}"
        password = unquote(url.password) if url.password is not None else None
        if scheme == "scp":
            user = user or self.device.username
        return Source(scheme, path, host, url.port, user or "", password), shown, shown

    async def _in_disk(self, name: str) -> tuple[Source, str, str] | None:
        answer = await self.ask(text("ask_source", name=name), name)
        if answer is None:
            return None
        return Source("disk0", answer), f"disk0:/{answer}", f"disk0:/{answer}"

    async def _copy(self, origin: Source, name: str, shown: str, accessing: str) -> str | None:
        write = self.session.write
        if origin.protocol == "scp" and origin.password is None:
            write(text("accessing", url=accessing) + "\n")
            password = await self.session.ask(text("ask_password"), secret=True)
            if password is None:
                return None
            origin, accessing = replace(origin, password=password), ""
        source = f"disk0:/{origin.path}" if origin.protocol == "disk0" else origin.url()
        try:
            job = self.device.start_copy(source, name, shown)
        except Refused as refused:
            return refused.message if refused.reason == "bad_path" else "\n" + refused.message
        if accessing:
            write(text("accessing", url=accessing))
        await finished(job, self.device.ctx.journal, self.device.name)
        if job.state != "done":
            return "\n" + job.message
        bangs = "!" * max(1, min(job.size // 4096, 60))
        write(bangs + "\n" + text("writing", name=job.name) + "\n" + bangs + "\n")
        secs = max(0.01, job.size / (asa_data().timings.copy_rate_mbps * 125000))
        lines = [] if ImageName.parse(job.name) else [text("no_signature")]
        lines.append(text("copied", size=job.size, secs=f"{secs:.3f}", rate=int(job.size / secs)))
        return "\n".join(lines) + "\n"


async def finished(job: CopyJob, journal: Journal, device: str) -> None:
    """Wait until the unit has heard from its worker about `job`."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def seen(event: Event) -> None:
        if event["kind"] == "copy" and event["id"] == job.id and event["state"] != "running" and not done.done():
            done.set_result(None)

    unsubscribe = journal.subscribe(seen, device=device)
    try:
        if job.state == "running":
            await done
    finally:
        unsubscribe()
