"""Items 5, 7 and 10 of issue 12, through real SSH clients: a client that
sends and never reads cannot grow the lab's memory (the session stops
reading while its output waits); pastes and key storms are handled a chunk
at a time, with one write per chunk, without holding up other devices; a
client gone mid-paste ends all work of its session; bytes that are not UTF-8
are read as the replacement character, never a reason to drop the connection."""

from __future__ import annotations

import asyncio
import logging
import time

import psutil
import pytest

from simulator.surfaces.ssh.channel import ProcessChannel
from simulator.terminal.session import MAX_LINE
from tests.robustness.terminal_lab import LAG_BUDGET, PROMPTS, LoopWatch, RawTerminal, lab_with, port_of

pytestmark = pytest.mark.timing      # wall-time budgets: scripts/test runs these alone, after the parallel part


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


async def wait_for(predicate, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_client_that_never_reads_grows_nothing(tmp_path):
    async with lab_with("ftd", tmp_path / "state") as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS["ftd"])
        watch = LoopWatch()
        watch.start()
        before = rss_mb()
        term.send(b"?" * 400_000)                           # every ? prints the help (~1 KB)
        await asyncio.sleep(1)
        (session,) = lab.ssh.endpoints["dut"].sessions
        buffered = session.channel.process.channel.get_write_buffer_size()
        assert rss_mb() - before < 30 and buffered < 256 * 1024, (rss_mb() - before, buffered)
        assert watch.worst < LAG_BUDGET
        watch.stop()
        assert not session.closed                          # waiting for the client, not gone
        await term.close()
        await wait_for(lambda: not lab.ssh.endpoints["dut"].sessions)      # and its work ends with it


async def test_pastes_and_key_storms_do_not_hold_up_the_lab(tmp_path, monkeypatch):
    writes = []
    write = ProcessChannel.write
    monkeypatch.setattr(ProcessChannel, "write", lambda self, text: (writes.append(text), write(self, text)))
    async with lab_with("ftd", tmp_path / "state") as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS["ftd"])
        watch = LoopWatch()
        watch.start()
        writes.clear()
        term.send(b"x" * 65536 + b"\r")
        out = await term.until(rb"Syntax error: Illegal parameter\r\n> $", timeout=10)
        assert b"x" * MAX_LINE + b"\a\r\n" in out and out.count(b"\a") == 1
        assert len(writes) < 65536 // 256 + 10          # a write per slice of input at most, not per key
        for storm in (b"\t" * 4000, b"?" * 4000, b"\x1b[A" * 4000, b"show\t" * 800):
            term.send(b"\x15" + storm + b"\x15show version\r")
            await term.until(rb"Model[^\n]*\n(.*\n)*> $", timeout=10)
        assert watch.worst < LAG_BUDGET, watch.worst
        watch.stop()
        await term.close()


async def test_a_client_gone_mid_paste_ends_all_work(tmp_path, caplog):
    async with lab_with("ftd", tmp_path / "state") as lab:
        endpoint = lab.ssh.endpoints["dut"]
        term = await RawTerminal.open(port_of(lab), PROMPTS["ftd"])
        term.send(b"?" * 200_000 + b"x" * 200_000)
        await asyncio.sleep(0.05)
        term.conn.abort()
        with caplog.at_level(logging.WARNING, logger="asyncio"):
            await wait_for(lambda: not endpoint.sessions)
            await asyncio.sleep(0.2)
        assert "socket.send() raised exception" not in caplog.text


async def test_bytes_that_are_not_utf8_are_replaced_not_fatal(tmp_path):
    async with lab_with("ftd", tmp_path / "state") as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS["ftd"])
        term.send(b"show \xff\xfe version\r")
        assert "Syntax error".encode() in await term.until(PROMPTS["ftd"])
        for part in (b"show \xc3", b"\xa9 ", b"\xe2\x82", b"\xac\r"):     # characters split across packets
            term.send(part)
            await asyncio.sleep(0.02)
        assert "é €".encode() in await term.until(PROMPTS["ftd"])
        term.send(b"expert\r")
        await term.until(rb"\$ $")
        term.send(b"cat \x80\x81\r")
        assert "cat: \ufffd\ufffd: No such file or directory".encode() in await term.until(rb"\$ $")
        term.send(b"exit\rshow version\r")
        assert b"Model" in await term.until(rb"Model.*\n(.*\n)*> $")
        await term.close()
