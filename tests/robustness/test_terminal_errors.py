"""Items 8 and 4 of issue 12: a command that fails answers with the shell's
own error text, the bug is logged once, and the session goes on; the expert
shell answers file errors as Linux does (a name over 255 bytes: "File name
too long"), and reads files a block at a time within a bound, so a sparse
256 MB file costs no memory."""

from __future__ import annotations

import logging

import psutil

from simulator.kinds.ftd.cli import FtdCliShell
from simulator.kinds.ftd.expert import READ_LIMIT
from simulator.terminal import session as session_module
from tests.conftest import connect
from tests.robustness.terminal_lab import PROMPTS, RawTerminal, lab_with, port_of

LONG = "n" * 300
EXPERT = rb"\$ $"


async def test_a_failing_command_answers_and_the_session_goes_on(tmp_path, monkeypatch, caplog):
    async def broken(self, parsed):
        raise ValueError("a bug")

    monkeypatch.setattr(FtdCliShell, "cmd_show_version", broken)
    monkeypatch.setattr(session_module, "_reported", set())
    async with lab_with("ftd", tmp_path / "state") as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS["ftd"])
        with caplog.at_level(logging.ERROR, logger="simulator.terminal.session"):
            for _ in range(3):
                term.send(b"show version\r")
                assert b"Syntax error: Illegal parameter\r\n> " in await term.until(PROMPTS["ftd"])
        assert len(caplog.records) == 1 and "a bug" in caplog.text        # the bug, logged once
        term.send(b"show disk\r")
        assert b"Filesystem" in await term.until(PROMPTS["ftd"])
        await term.close()


async def test_expert_file_errors_answer_as_linux_does(tmp_path, caplog):
    async with lab_with("ftd", tmp_path / "state") as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS["ftd"])
        term.send(b"expert\r")
        await term.until(EXPERT)
        answers = {
            "tail -n x f": "tail: invalid number of lines: 'x'",
            "tail -n": "tail: invalid number of lines: ''",
            f"cat {LONG}": f"cat: {LONG}: File name too long",
            f"ls /var/{LONG}": f"ls: cannot access '/var/{LONG}': File name too long",
            f"cd {LONG}": f"-bash: cd: {LONG}: File name too long",
            f"tail /tmp/{LONG}/x": f"tail: cannot open '/tmp/{LONG}/x' for reading: File name too long",
            "cat /var/sf": "cat: /var/sf: Is a directory",
            "tail /var/sf": "tail: error reading '/var/sf': Is a directory",
            "cd /var/sf/updates/nothing": "-bash: cd: /var/sf/updates/nothing: No such file or directory",
            f"sudo install_update.pl /{LONG}": "Password: ",
        }
        with caplog.at_level(logging.ERROR, logger="simulator.terminal.session"):
            for line, answer in answers.items():
                term.send(line.encode() + b"\r")
                assert answer.encode() in await term.until(EXPERT if answer != "Password: " else b"Password: ")
            term.send(b"Admin123\r")
            assert f"Update bundle /{LONG} not found.".encode() in await term.until(EXPERT)
        assert not caplog.records
        await term.close()


async def test_a_sparse_file_is_read_in_bounded_memory(tmp_path):
    async with lab_with("ftd", tmp_path / "state") as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS["ftd"])
        term.send(b"expert\r")
        await term.until(EXPERT)
        async with await connect(port_of(lab)) as conn, conn.start_sftp_client() as sftp:
            async with sftp.open("/home/admin/sparse", "wb") as f:
                await f.write(b"!", 256 * 2**20)
        before = psutil.Process().memory_info().rss
        term.send(b"tail -n 1 sparse\r")
        tail = await term.until(EXPERT, timeout=10)
        assert tail.endswith(b"!\r\nadmin@dut:~$ ") and len(tail) < READ_LIMIT + 200
        term.send(b"cat sparse\r")
        cat = await term.until(EXPERT, timeout=10)
        assert cat.count(b"\0") == READ_LIMIT and len(cat) < READ_LIMIT + 200      # its first MiB, no more
        assert psutil.Process().memory_info().rss - before < 40 * 2**20
        await term.close()


async def test_asa_long_names_answer_with_the_units_words(tmp_path):
    async with lab_with("asa", tmp_path / "state") as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS["asa"])
        term.send(b"enable\rAdmin123\r")
        await term.until(rb"# $")
        for line in (f"verify disk0:/{LONG}", f"verify /md5 disk0:/{LONG}", f"dir disk0:/{LONG}"):
            term.send(line.encode() + b"\r")
            assert f"%Error opening disk0:/{LONG} (No such file or directory)".encode() in await term.until(rb"# $")
        await term.close()
