"""The expert shell's everyday commands beyond files: uname, id, md5sum (issue 13)."""

from __future__ import annotations

import hashlib
import re

from simulator.kinds.ftd.files import updates_dir
from tests.robustness.terminal_lab import PROMPTS, RawTerminal, lab_with, port_of

EXPERT = rb"\$ $"


async def run(term: RawTerminal, line: str) -> str:
    term.send(line.encode() + b"\r")
    out = (await term.until(EXPERT)).decode()
    return "\n".join(out.replace("\r\n", "\n").split("\n")[1:-1])      # between the echo and the prompt


async def test_uname_id_and_md5sum(tmp_path):
    async with lab_with("ftd", tmp_path / "state") as lab:
        folder = updates_dir(lab.ssh.endpoints["dut"].fs_root)
        folder.mkdir(parents=True, exist_ok=True)
        data = b"x" * 200_000
        (folder / "f.bin").write_bytes(data)
        term = await RawTerminal.open(port_of(lab), PROMPTS["ftd"])
        term.send(b"expert\r")
        await term.until(EXPERT)
        assert await run(term, "uname") == "Linux"
        assert await run(term, "uname -n -m") == "dut x86_64"
        everything = await run(term, "uname -a")
        assert everything.startswith("Linux dut ") and everything.endswith(" x86_64 x86_64 x86_64 GNU/Linux")
        assert await run(term, "uname -z") == "uname: invalid option -- 'z'\nTry 'uname --help' for more information."
        assert await run(term, "id") == "uid=1000(admin) gid=1000(admin) groups=1000(admin)"
        listing = (await run(term, "ls -l /var/sf/updates")).split("\n")
        assert listing[0] == "total 196"                 # 1K blocks, in 4K steps, as GNU ls counts them
        assert re.fullmatch(r"-rw-r--r-- 1 root root 200000 [A-Z][a-z]{2} [ \d]\d \d\d:\d\d f\.bin", listing[1]), listing
        assert await run(term, "md5sum /var/sf/updates/f.bin nope") == (
            f"{hashlib.md5(data).hexdigest()}  /var/sf/updates/f.bin\nmd5sum: nope: No such file or directory")
        await term.close()


async def test_the_logs_install_update_names_exist(tmp_path):
    """`install_update.pl` names its log files; `cat` finds them (issue 13)."""
    from simulator.kinds.ftd.packages import make_package
    from tests.conftest import upload
    async with lab_with("ftd", tmp_path / "state") as lab:
        package = make_package("Cisco_FTD_Upgrade-7.6.0-113.sh.REL.tar", tmp_path / "pkg")
        await upload(port_of(lab), package)
        term = await RawTerminal.open(port_of(lab), PROMPTS["ftd"])
        term.send(b"expert\r")
        await term.until(EXPERT)
        term.send(f"sudo install_update.pl --readiness-check /var/sf/updates/{package.name}\r".encode())
        await term.until(rb"Password: $")
        said = await run(term, "Admin123")
        log = re.search(r"Log: (\S+)", said)
        assert log is not None, said
        assert f"Readiness check of {package.name} begins." in await run(term, f"cat {log.group(1)}")
        while lab.device("dut").state == "readiness":
            await lab.clock.advance(30)
        assert "Readiness check finished: SUCCESS" in await run(term, f"tail -n 1 {log.group(1)}")
        await term.close()
