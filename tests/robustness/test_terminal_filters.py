"""Item 2 of issue 12: output filters (`| include/exclude/begin/grep REGEX`)
run on a linear-time engine, so no pattern holds up the lab; a pattern only a
backtracking engine takes gets the shell's own error; a pattern that does not
compile at all still matches as plain text, as before."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from simulator.terminal.tree import apply_filters, split_filters
from tests.robustness.terminal_lab import LAG_BUDGET, PROMPTS, LoopWatch, RawTerminal, lab_with, port_of

pytestmark = pytest.mark.timing      # wall-time budgets: scripts/test runs these alone, after the parallel part

CATASTROPHIC = ["^Model( +)+( +)+X", "^Model( +| +)+X", "(x+x+)+y", "^(a|a?)+b$"]


def test_catastrophic_patterns_take_linear_time():
    text = "\n".join(["Model" + " " * 60 + ": Cisco", "a" * 5000] * 200)
    for pattern in CATASTROPHIC:
        start = time.perf_counter()
        assert apply_filters(text, [("include", pattern)]) == ""
        assert time.perf_counter() - start < 0.5, pattern


def test_patterns_keep_their_meaning():
    text = "Model : FTDv\nVDB version : 376\nSerial Number : 9A"
    assert apply_filters(text, [("include", r"^(Model|VDB)\s")]) == "Model : FTDv\nVDB version : 376"
    assert apply_filters(text, [("exclude", "(?i)serial")]) == "Model : FTDv\nVDB version : 376"
    assert apply_filters(text, [("begin", r"\d{3}$")]) == "VDB version : 376\nSerial Number : 9A"
    assert apply_filters("a (b\nc", [("include", "(b")]) == "a (b"      # not a pattern: plain text


def test_backtracking_only_patterns_are_refused():
    assert split_filters(r"show version | include (a)\1") is None
    assert split_filters("show version | include (?=Model)") is None
    assert split_filters("show version | include Model") == ("show version ", [("include", "Model")])


@pytest.mark.parametrize("kind, refusal", [("ftd", b"Syntax error: Illegal parameter"),
                                           ("asa", b"ERROR: % Invalid input detected at '^' marker.")])
async def test_a_filter_never_holds_up_another_device(tmp_path, kind, refusal):
    async with lab_with(kind, tmp_path / "state") as lab:
        term = await RawTerminal.open(port_of(lab), PROMPTS[kind])
        if kind == "asa":
            term.send(b"enable\rAdmin123\r")
            await term.until(rb"# $")
        watch = LoopWatch()
        watch.start()
        bystander = lab.endpoints()["devices"][-1]["https"]["url"]
        async with httpx.AsyncClient(verify=False, timeout=10) as http:
            for pattern in CATASTROPHIC:
                term.send(b"show version | include " + pattern.encode() + b"\r")
                started = time.perf_counter()
                answer = await http.get(bystander + "/api/versions")
                assert answer.status_code == 200 and time.perf_counter() - started < LAG_BUDGET
                await term.until(PROMPTS[kind].replace(b">", b"#") if kind == "asa" else PROMPTS[kind])
            term.send(rb"show version | include (Model)\1" + b"\r")
            assert refusal in await term.until(rb"# $|> $")
            term.send(b"show version | include Mod\r")
            assert b"Model" in await term.until(rb"# $|> $")
        watch.stop()
        assert watch.worst < LAG_BUDGET
        await term.close()
        await asyncio.sleep(0)


def test_a_bar_not_followed_by_a_filter_word_belongs_to_the_pattern():
    """`| include host|Version` is alternation, as on the ASA and IOS (issue 13)."""
    assert split_filters("show failover | include host|Version") == ("show failover ", [("include", "host|Version")])
    assert split_filters("show x | include (a|b) | exclude c") == ("show x ", [("include", "(a|b)"), ("exclude", "c")])
    assert split_filters("show x | bogus y") is None and split_filters("show x |") is None
    text = "This host: Primary - Active\n  Version: Ours 9.19(1)\nOther host: Secondary\nLast Failover at: x"
    assert apply_filters(text, [("include", "host|Version")]).count("\n") == 2
