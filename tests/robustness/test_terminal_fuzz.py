"""A bounded CLI fuzzer per shell (issue 12): over real SSH, scripts of commands
drawn from every command tree of every shell (`Shell.command_trees()`),
expert-shell command lines, pastes, key storms and raw bytes. After each
script the session must still answer, no command may have hit a bug (the
session logs one), and no task of the lab may have waited longer than
LAG_BUDGET because of it.

Derandomized and a few seconds long by default; ROBUSTNESS_EXAMPLES=N runs N
scripts per shell instead."""

from __future__ import annotations

import logging
import os
import re
import string

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from simulator.kinds.asa.cli import AsaShell, AsaTree, trees
from simulator.kinds.ftd.cli import DiagShell, FtdCliShell, diag_config_tree
from simulator.kinds.fxos import views as fxos_views
from simulator.kinds.fxos.cli import SCOPES, FxosShell, LocalMgmtShell, ModuleShell, scope_tree, sub_tree
from simulator.terminal.tree import CliError, CommandTree, Node
from tests.robustness.terminal_lab import LAG_BUDGET, PROMPTS, LoopWatch, RawTerminal, lab_with, port_of

pytestmark = pytest.mark.timing      # wall-time budgets: scripts/test runs these alone, after the parallel part

EXAMPLES = int(os.environ.get("ROBUSTNESS_EXAMPLES", "12"))
# Commands that end the session or the device on purpose: each has its own tests.
ENDINGS = {"exit", "reboot", "reload", "chassis_reboot", "failover_reload_standby"}
WORD = st.text(string.ascii_letters + string.digits + "-_./:", min_size=1, max_size=12)
LONG = st.integers(250, 600).map(lambda n: "x" * n)
PLACES = st.sampled_from(["disk0:/a.bin", "disk0:/", "flash:", "/var/sf/updates", "/etc/hostname",
                          "http://127.0.0.1:9/a.bin", "scp://u@127.0.0.1:9/f.SPA", "running-config"])
ARGUMENT = st.one_of(WORD, LONG, PLACES, st.sampled_from(["1", "0", "99999999999999999999", "-1", "x"]))
PATTERN = st.text("()+*?|^$.[]{}\\ aMoX1", max_size=24)


def _tree_command(tree: CommandTree) -> st.SearchStrategy[str]:
    """A walk down the tree: keywords (some abbreviated), arguments, options, maybe a filter."""

    @st.composite
    def walk(draw: st.DrawFn) -> str:
        node, words = tree.root, []
        while True:
            choices = [c for c in node.children + node.options if c.action not in ENDINGS]
            if not choices or (node.action and draw(st.booleans())):
                break
            node = draw(st.sampled_from(choices))
            words.append(_word(draw, node))
        if tree.filters or isinstance(tree, AsaTree):
            if draw(st.integers(0, 4)) == 0:
                words.append(f"| {draw(st.sampled_from(['include', 'exclude', 'begin', 'grep', 'i']))} "
                             f"{draw(PATTERN)}")
        return " ".join(words)

    return walk()


def _word(draw: st.DrawFn, node: Node) -> str:
    if node.is_arg:
        return draw(st.from_regex(node.pattern, fullmatch=True) | ARGUMENT) if node.pattern else draw(ARGUMENT)
    return node.word[:draw(st.integers(1, len(node.word)))] if draw(st.booleans()) else node.word


EXPERT = st.builds(lambda name, args: " ".join([name, *args]),
                   st.sampled_from(["ls", "ls -la", "cat", "tail", "tail -n", "tail -f", "cd", "pwd", "whoami",
                                    "df -h", "sudo", "sudo ls", "install_update.pl", "bogus"]),
                   st.lists(st.one_of(ARGUMENT, st.sampled_from(["-n", "x", "+2", "/ngfw/var/log/sf", "..", "'"])),
                            max_size=3))


def _inputs(commands: st.SearchStrategy[str], trees: list[CommandTree]) -> st.SearchStrategy[list[bytes]]:
    line = commands.map(lambda c: c.encode() + b"\r")
    raw = st.binary(max_size=48).map(lambda b: b.replace(b"\x04", b""))    # Ctrl-D at the top ends the session
    storm = st.sampled_from([b"\t" * 300, b"?" * 300, b"x" * 3000 + b"\r", b"\x1b[A" * 50, b"\x7f" * 80])
    harmless = st.one_of(line, line, line, raw, storm).filter(lambda data: not _ends(data, trees))
    return st.lists(harmless, min_size=1, max_size=5)


def _ends(data: bytes, trees: list[CommandTree]) -> bool:
    """Whether some line typed in `data` is (an abbreviation of) a command that ends the session or the device."""
    for typed in re.split(rb"[\r\n\x15\x03]", data):
        text = "".join(ch for ch in typed.decode(errors="replace") if ch.isprintable())
        for tree in trees:
            parsed = tree.parse(text)
            if not isinstance(parsed, CliError) and parsed.action in ENDINGS:
                return True
    return False


# (how to reach the tree's prompt, the tree) for every tree of every shell of a kind
FTD = [([], FtdCliShell.tree), (["system support diagnostic-cli"], DiagShell.tree),
       (["system support diagnostic-cli", "enable", ""], DiagShell.tree),
       (["system support diagnostic-cli", "enable", "", "configure terminal"], diag_config_tree())]
ASA = [([], trees()["user"]), (["enable", "Admin123"], trees()["exec"]),
       (["enable", "Admin123", "configure terminal"], trees()["config"]),
       (["enable", "Admin123", "configure terminal", "failover group 1"], trees()["fover_group"])]


def _scope_path(scope: str) -> list[str]:
    if scope == "top":
        return []
    parent, word = SCOPES[scope]
    arg = {"slot": " 1", "download-task": " fxos-k9.2.14.1.131.SPA"}.get(scope, "")
    return _scope_path(parent or "top") + [f"scope {word}{arg}"]


FXOS = [(_scope_path(scope), scope_tree(scope)) for scope in fxos_views.cli_facts().scopes] + [
    (["connect local-mgmt"], sub_tree("local-mgmt")), (["connect fxos"], sub_tree("fxos-switch")),
    (["connect module 1 console", ""], sub_tree("module")),
    (["connect module 1 console", "", "connect ftd"], FtdCliShell.tree)]


def test_every_tree_of_every_shell_is_fuzzed():
    covered = {id(tree) for _, tree in FTD + ASA + FXOS}
    for shell in (FtdCliShell, DiagShell, AsaShell, FxosShell, LocalMgmtShell, ModuleShell):
        assert all(id(tree) in covered for tree in shell.command_trees()), shell.__name__


def _scripts(reach: list[tuple[list[str], CommandTree]]) -> st.SearchStrategy[tuple[list[str], list[bytes]]]:
    everywhere = [tree for _, tree in reach]
    return st.sampled_from(reach).flatmap(
        lambda r: st.tuples(st.just(r[0]), _inputs(_tree_command(r[1]), everywhere)))


FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                phases=[Phase.explicit, Phase.generate],     # no shrinking: a failure names its whole script
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


@pytest.fixture
async def fuzzed(request, tmp_path):
    """A lab for the kind the test names, its loop watched, bugs the sessions log caught."""
    kind = request.param
    handler = _Bugs()
    logging.getLogger("simulator.terminal.session").addHandler(handler)
    async with lab_with(kind, tmp_path / "state") as lab:
        watch = LoopWatch()
        watch.start()
        yield lab, kind, watch, handler
        watch.stop()
    logging.getLogger("simulator.terminal.session").removeHandler(handler)


class _Bugs(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _brief(data: bytes) -> bytes:
    return data if len(data) < 60 else data[:30] + b"...(%d bytes)" % len(data)


async def _run_script(fuzzed, prelude: list[str], inputs: list[bytes]) -> None:
    lab, kind, watch, bugs = fuzzed
    script = f"{prelude} {[_brief(data) for data in inputs]}"
    term = await RawTerminal.open(port_of(lab), PROMPTS[kind])
    watch.reset()
    for line in prelude:
        term.send(line.encode() + b"\r")
        await term.settle()
    for data in inputs:
        term.send(data)
        await term.settle()
    term.send(b"\x03\r")                        # out of any question or pager: the session answers
    assert await term.settle(), f"no answer after {script}"
    assert not term.ended, f"the session ended after {script}"
    assert lab.devices["dut"].services_up, f"the device went down ({lab.devices['dut'].state}) after {script}"
    assert [s for s in lab.ssh.endpoints["dut"].sessions if not s.closed]
    assert not bugs.records, f"{bugs.records[0].getMessage()} after {script}"
    assert watch.worst < LAG_BUDGET, f"the lab waited {watch.worst:.3f} s after {script}"
    await term.close()


@pytest.mark.parametrize("fuzzed", ["ftd"], indirect=True)
@FUZZ
@given(script=st.one_of(_scripts(FTD), st.tuples(st.just(["expert"]), _inputs(EXPERT, [FtdCliShell.tree]))))
async def test_ftd_shells_survive_anything(fuzzed, script):
    await _run_script(fuzzed, *script)


@pytest.mark.parametrize("fuzzed", ["asa"], indirect=True)
@FUZZ
@given(script=_scripts(ASA))
async def test_asa_shell_survives_anything(fuzzed, script):
    await _run_script(fuzzed, *script)


@pytest.mark.parametrize("fuzzed", ["fxos"], indirect=True)
@FUZZ
@given(script=_scripts(FXOS))
async def test_fxos_shells_survive_anything(fuzzed, script):
    await _run_script(fuzzed, *script)
