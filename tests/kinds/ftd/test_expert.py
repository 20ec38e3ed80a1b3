"""The expert shell's everyday commands beyond files: uname, id, md5sum (issue 13)."""

from __future__ import annotations

import hashlib

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
        assert await run(term, "md5sum /var/sf/updates/f.bin nope") == (
            f"{hashlib.md5(data).hexdigest()}  /var/sf/updates/f.bin\nmd5sum: nope: No such file or directory")
        await term.close()
