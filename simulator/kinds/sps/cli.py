"""SPS's console menu (root's login on the console or over SSH) and the
root shell behind "Shells > Core shell" (sps.md 5), where an ISO copied to
the node by SCP/SFTP is installed into a free firmware slot. Texts and the
menu's layout are data (cli.yaml)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.base import Refused
from simulator.kinds.sps.api_ha import ha_view, pair_of
from simulator.kinds.sps.bundle import create_bundle
from simulator.kinds.sps.facts import SpsVersion, sps, text
from simulator.kinds.sps.files import install_file
from simulator.kinds.sps.model import SpsDevice
from simulator.terminal.bash import BashShell, bash_text
from simulator.terminal.session import Session, Shell


@cache
def _data() -> dict[str, Any]:
    return dict(read_yaml("cli.yaml", __package__))


def _menu_text(key: str, **values: object) -> str:
    return str(_data()["menu"][key]).format(**values)


class MenuShell(Shell):
    """A numbered menu: a number (or an item's label) chooses."""

    def __init__(self, session: Session, device: SpsDevice, fs_root: Path, menu: str = "main", *,
                 local: bool = False) -> None:
        super().__init__(session)
        self.device, self.fs_root, self.menu = device, fs_root, menu
        self.local = local          # on the local (serial) console, not over SSH: may lift sealed mode

    @property
    def items(self) -> list[dict[str, str]]:
        return list(_data()["menu"]["menus"][self.menu])

    @property
    def prompt(self) -> str:
        lines = [_menu_text("title", label=self.device.label, hostname=self.device.hostname), ""]
        lines += [f"  {i}) {item['label']}" for i, item in enumerate(self.items, 1)]
        return "\n".join(lines) + "\n\n" + _menu_text("choose")

    def help(self, line: str) -> str:
        return ""

    async def on_eof(self) -> None:
        pass

    async def execute(self, line: str) -> None:
        choice = line.strip()
        if not choice:
            return
        item = next((it for i, it in enumerate(self.items, 1)
                     if choice == str(i) or choice.lower() == it["label"].lower()), None)
        if item is None:
            self.session.write(_menu_text("invalid", choice=choice) + "\n")
        elif "menu" in item:
            self.session.push(MenuShell(self.session, self.device, self.fs_root, item["menu"], local=self.local))
        else:
            await getattr(self, f"do_{item['action']}")()

    async def do_back(self) -> None:
        self.session.pop()

    async def do_logout(self) -> None:
        self.session.close()

    async def do_core_shell(self) -> None:
        self.session.push(CoreShell(self.session, self.device, self.fs_root))

    async def do_show_firmwares(self) -> None:
        device = self.device
        rows = [_menu_text("firmware_header")]
        for slot_id in range(1, sps().slots + 1):
            slot = device.slots.get(slot_id)
            if slot is None:
                continue
            flags = [_menu_text(key) for key, on in (("current", slot_id == device.current),
                                                     ("after_reboot", slot_id == device.after_reboot)) if on]
            rows.append(_menu_text("firmware_row", slot=slot_id, version=slot.version, flags=", ".join(flags)))
        self.session.write("\n".join(rows) + "\n\n")

    async def do_activate_previous(self) -> None:
        try:
            slot_id = self.device.activate_previous()
        except Refused as refused:
            self.session.write(refused.message + "\n")
            return
        self.session.write(_menu_text("activated", version=self.device.slots[slot_id].version, slot=slot_id) + "\n")

    async def do_upgrade_log(self) -> None:
        """The boot and upgrade log the local console shows (sps.md 2.4)."""
        self.session.write("".join(f"{line}\n" for line in self.device.log) + "\n")

    async def do_support_bundle(self) -> None:
        self.session.write(_menu_text("bundle_working") + "\n")
        path = create_bundle(self.device, self.fs_root)
        self.device.ctx.journal.emit(self.device.name, "support_bundle", path=path)
        self.session.write(_menu_text("bundle_done", path=path, user=self.device.username,
                                      hostname=self.device.hostname) + "\n")

    async def do_reboot(self) -> None:
        await self._system("reboot")

    async def do_shutdown(self) -> None:
        await self._system("shutdown")

    async def do_other_reboot(self) -> None:
        await self._other("reboot")

    async def do_other_shutdown(self) -> None:
        await self._other("shutdown")

    async def _other(self, action: str) -> None:
        answer = await self.session.ask(_menu_text("confirm_other", action=action))
        if (answer or "").strip().lower() not in ("y", "yes"):
            return
        if self._refused(lambda: pair_of(self.device).other_node(self.device, action)):
            return
        self.session.write(_menu_text("other_going_down", action=action) + "\n")

    async def do_ha_status(self) -> None:
        view = ha_view(self.device)
        lines = [_menu_text("ha_status", status=view["status"], heartbeat=view["heartbeat"] or "-",
                            drbd=view["drbd"] or "-")]
        for key in ("this_node", "other_node"):
            node = view[key]
            if node is not None:
                lines.append(_menu_text("ha_node", title=_menu_text(key), **{
                    "ha_role": "-", "firmware_after_reboot": "-", **{k: v or "-" for k, v in node.items()}}))
        self.session.write("\n".join(lines) + "\n\n")

    async def do_activate_slave(self) -> None:
        if not self._refused(lambda: pair_of(self.device).activate_slave(self.device)):
            self.session.write(_menu_text("activated_slave") + "\n")

    async def do_join_ha(self) -> None:
        if not self._refused(lambda: pair_of(self.device).join(self.device)):
            self.session.write(_menu_text("joined") + "\n")

    async def do_sealed_status(self) -> None:
        self.session.write(_menu_text("sealed_on" if self.device.sealed else "sealed_off") + "\n")

    async def do_seal(self) -> None:
        if not self.device.sealed:
            answer = await self.session.ask(_menu_text("confirm_seal"))
            if (answer or "").strip().lower() not in ("y", "yes"):
                return
        if not self._refused(lambda: self.device.set_sealed(True, local=self.local)):
            self.session.write(_menu_text("sealed_on") + "\n")

    async def do_unseal(self) -> None:
        if not self._refused(lambda: self.device.set_sealed(False, local=self.local)):
            self.session.write(_menu_text("sealed_off") + "\n")

    async def do_root_password(self) -> None:
        if self.device.sealed:            # refused before asking (sps.md 1)
            self.session.write(text("sealed_root_password") + "\n")
            return
        first = await self.session.ask(_menu_text("new_password"), secret=True)
        second = await self.session.ask(_menu_text("retype_password"), secret=True)
        if first != second:
            self.session.write(_menu_text("password_mismatch") + "\n")
        elif not self._refused(lambda: self.device.set_root_password(first or "")):
            self.session.write(_menu_text("password_changed") + "\n")

    def _refused(self, action: Callable[[], None]) -> bool:
        """Run an action; write the device's refusal, if any."""
        try:
            action()
        except Refused as refused:
            self.session.write(refused.message + "\n")
            return True
        return False

    async def _system(self, action: str) -> None:
        answer = await self.session.ask(_menu_text("confirm", action=action))
        if (answer or "").strip().lower() not in ("y", "yes"):
            return
        self.session.write(_menu_text("going_down", action=action) + "\n")
        self.session.flush()
        getattr(self.device, action)()


WRITE_MAX = 1 << 20          # a file the core shell's echo grows, at most
INSTALL = "firmware-install"  # RECONSTRUCTED: the SSH firmware update's command was cut off in every copy


class CoreShell(BashShell):
    """bash as root in the core firmware: look around, read logs, and change files with
    `touch` or `echo TEXT > FILE` (`>>` appends); a firmware's own file so changed taints it.
    `firmware-install ISO` (the name is ours: no source gave the command) installs an ISO
    copied to the node into a free slot, as the REST upload does."""

    def __init__(self, session: Session, device: SpsDevice, fs_root: Path) -> None:
        super().__init__(session, fs_root, "/root", "root")
        self.device = device
        self.commands.update({"touch": self._touch, "echo": self._echo, INSTALL: self._install})
        for folder in ["/root", *sps().firmware_paths["core"]]:
            (fs_root / folder.lstrip("/")).mkdir(parents=True, exist_ok=True)

    async def _touch(self, args: list[str]) -> None:
        for path in args:
            self._write(path, "", append=True)

    async def _echo(self, args: list[str]) -> None:
        redirect = next((i for i, arg in enumerate(args) if arg in (">", ">>")), None)
        if redirect is None or redirect + 2 != len(args):
            self._say(" ".join(args))
            return
        self._write(args[redirect + 1], " ".join(args[:redirect]) + "\n", append=args[redirect] == ">>")

    async def _install(self, args: list[str]) -> None:
        if len(args) != 1:
            self._say(_menu_text("install_usage", cmd=INSTALL))
            return
        source = self._readable(INSTALL, args[0])
        if source is None:
            return
        self._say(_menu_text("installing", path=self._path(args[0])))
        try:
            slot_id = await install_file(self.device, self.fs_root, source)
        except Refused as refused:
            self._say(refused.message)
            return
        label = SpsVersion.parse(self.device.slot(slot_id).version).label
        self._say(_menu_text("installed", label=label, slot=slot_id))

    def _write(self, path: str, text: str, append: bool) -> None:
        real = self._real(path)
        if not real.parent.is_dir() or real.is_dir() or real.is_file() and real.stat().st_size > WRITE_MAX:
            self._say(bash_text("no_file", cmd="bash", path=path))
            return
        with real.open("a" if append else "w") as out:
            out.write(text)
        self.device.file_changed(self._path(path))

    @property
    def hostname(self) -> str:
        return self.device.hostname

