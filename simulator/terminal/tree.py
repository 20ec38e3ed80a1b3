"""A vendor CLI described as data: a tree of keywords and arguments.

From one tree come parsing with unique-prefix abbreviations, `?` help, Tab
completion, output filters (`| include ...`) and the vendor's error texts, so
a new vendor shell is a new YAML tree plus its handlers, not new parsing code.

Tree format (YAML, under `commands:`): each key is a keyword, or `<name>` for
an argument; a node may have
  help:     the help text shown by `?`
  action:   the handler name; the node is a complete command
  children: the words that may follow
  options:  keywords that may follow the command in any order, each a flag
  pattern:  (arguments) a regular expression the value must match
  rest:     (arguments) the value is the rest of the line
  hidden:   accepted but not listed by `?` or Tab
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import re2

FILTERS = ("include", "exclude", "begin", "grep")


@dataclass
class Node:
    word: str
    help: str = ""
    action: str | None = None
    children: list[Node] = field(default_factory=list)
    options: list[Node] = field(default_factory=list)
    pattern: re.Pattern[str] | None = None
    rest: bool = False
    hidden: bool = False

    @property
    def is_arg(self) -> bool:
        return self.word.startswith("<")

    @property
    def arg_name(self) -> str:
        return self.word.strip("<>").replace("-", "_")

    @classmethod
    def build(cls, word: str, spec: dict[str, Any] | None) -> Node:
        spec = spec or {}
        known = {"help", "action", "children", "options", "pattern", "rest", "hidden"}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"command tree node {word!r}: unknown keys {sorted(unknown)}")
        return cls(
            word=word, help=spec.get("help", ""), action=spec.get("action"),
            children=[cls.build(w, s) for w, s in (spec.get("children") or {}).items()],
            options=[cls.build(w, s) for w, s in (spec.get("options") or {}).items()],
            pattern=re.compile(spec["pattern"]) if "pattern" in spec else None,
            rest=bool(spec.get("rest")), hidden=bool(spec.get("hidden")))


@dataclass
class Parsed:
    action: str
    args: dict[str, str]
    flags: set[str]


@dataclass
class CliError:
    kind: str       # unknown | incomplete | ambiguous
    position: int   # character offset of the offending word in the line
    word: str = ""


class CommandTree:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.root = Node("", children=[Node.build(w, s) for w, s in spec["commands"].items()])
        self.errors: dict[str, str] = spec["errors"]
        self.caret: bool = bool(spec.get("caret"))
        self.filters: bool = bool(spec.get("filters", True))

    # -- parsing -------------------------------------------------------------
    def parse(self, line: str) -> Parsed | CliError:
        node, args, flags = self.root, {}, set()
        tokens = list(_tokens(line))
        i = 0
        while i < len(tokens):
            pos, tok = tokens[i]
            child = self._match(node, tok)
            if isinstance(child, CliError):
                child.position = pos
                # an optional keyword after a complete command
                if node.action and node.options and child.kind == "unknown":
                    opt = _prefix_one(node.options, tok)
                    if isinstance(opt, Node):
                        flags.add(opt.word)
                        i += 1
                        continue
                return child
            if child.is_arg:
                if child.rest:
                    value = line[pos:].strip()
                    i = len(tokens)
                else:
                    value = tok
                    i += 1
                if child.pattern and not child.pattern.fullmatch(value):
                    return CliError("unknown", pos, value)
                args[child.arg_name] = value
            else:
                i += 1
            node = child
        if node is self.root:
            return CliError("empty", 0)
        if not node.action:
            return CliError("incomplete", len(line.rstrip()))
        return Parsed(node.action, args, flags)

    def _match(self, node: Node, tok: str) -> Node | CliError:
        keywords = [c for c in node.children if not c.is_arg]
        exact = [c for c in keywords if c.word == tok.lower()]
        if exact:
            return exact[0]
        found = _prefix_one(keywords, tok)
        if isinstance(found, Node) or found.kind == "ambiguous":
            return found
        args = [c for c in node.children if c.is_arg]
        if args:
            return args[0]
        return CliError("unknown", 0, tok)

    # -- help and completion ----------------------------------------------------
    def candidates(self, line: str) -> tuple[list[Node], bool, str] | None:
        """What may come at the end of `line`: (nodes, command complete here, partial word).
        None when the line before the last word does not parse."""
        ends_with_space = line == "" or line[-1].isspace()
        words = list(_tokens(line))
        partial = "" if ends_with_space or not words else words[-1][1]
        head = words if ends_with_space else words[:-1]
        node = self.root
        flags_mode = False
        for _pos, tok in head:
            child = self._match(node, tok)
            if isinstance(child, CliError):
                if node.action and node.options and isinstance(_prefix_one(node.options, tok), Node):
                    flags_mode = True
                    continue
                return None
            if child.is_arg and child.rest:
                return [], True, ""
            node = child
        pool = node.options if flags_mode else node.children + (node.options if node.action else [])
        shown = [c for c in pool if not c.hidden and (c.is_arg or c.word.startswith(partial.lower()))]
        return shown, bool(node.action) and node is not self.root, partial

    def help_lines(self, line: str) -> list[str] | CliError:
        found = self.candidates(line)
        if found is None:
            parsed = self.parse(line)
            return parsed if isinstance(parsed, CliError) else CliError("unknown", 0)
        nodes, complete, partial = found
        if partial:
            nodes = [n for n in nodes if not n.is_arg]
        width = max([len(n.word) for n in nodes] + [4]) + 2
        lines = [f"  {n.word:<{width}}{n.help}".rstrip() for n in nodes]
        if complete and not partial:
            lines.append(f"  {'<cr>':<{width}}")
        if not lines:
            return CliError("unknown", len(line.rstrip()))
        return lines

    def complete(self, line: str) -> tuple[str, list[str]]:
        """Tab: (the line completed as far as it is unique, the candidates if several)."""
        found = self.candidates(line)
        if found is None:
            return line, []
        nodes, _complete, partial = found
        words = [n.word for n in nodes if not n.is_arg]
        if len(words) == 1:
            return line[: len(line) - len(partial)] + words[0] + " ", []
        common = _common_prefix(words) if words else partial
        if len(common) > len(partial):
            return line[: len(line) - len(partial)] + common, []
        return line, words

    # -- errors and filters --------------------------------------------------------
    def error_text(self, error: CliError, line: str, prompt: str) -> str:
        text = self.errors[error.kind].format(word=error.word, line=line)
        if self.caret:
            return " " * (len(prompt) + error.position) + "^\n" + text
        return text


def _tokens(line: str):
    for m in re.finditer(r"\S+", line):
        yield m.start(), m.group()


def _prefix_one(nodes: list[Node], tok: str) -> Node | CliError:
    matches = [n for n in nodes if n.word.startswith(tok.lower())]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        return CliError("ambiguous", 0, tok)
    return CliError("unknown", 0, tok)


def _common_prefix(words: list[str]) -> str:
    first, last = min(words), max(words)
    i = 0
    while i < len(first) and i < len(last) and first[i] == last[i]:
        i += 1
    return first[:i]


def split_filters(line: str) -> tuple[str, list[tuple[str, str]]] | None:
    """`show x | include y | exclude z` -> ("show x", [("include","y"), ("exclude","z")]).
    A `|` not followed by a filter word belongs to the pattern before it
    (`| include host|Version`: alternation). None when a filter is malformed
    or its pattern is one the shell cannot take."""
    parts = line.split("|")
    command, filters = parts[0], []
    for part in parts[1:]:
        words = part.strip().split(None, 1)
        kinds = [f for f in FILTERS if f.startswith(words[0].lower())] if len(words) == 2 else []
        if len(kinds) == 1:
            filters.append((kinds[0], words[1]))
        elif filters:
            filters[-1] = (filters[-1][0], filters[-1][1] + "|" + part.rstrip())
        else:
            return None
    if any(_matcher(pattern) is None for _, pattern in filters):
        return None
    return command, filters


def _re2_options(literal: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 1 << 20       # a command line's pattern never needs more
    options.literal = literal
    return options


_PATTERN, _LITERAL = _re2_options(False), _re2_options(True)


def _matcher(pattern: str) -> Any | None:
    """A filter's pattern compiled for a linear-time engine (RE2), so no pattern
    can hold up the lab (RE2 keeps the last 128 compiled). A pattern Python's
    `re` cannot compile either matches as plain text, as it always did; one
    only a backtracking engine takes (back-references, look-around) has no
    matcher: the shell's error."""
    try:
        return re2.compile(pattern, _PATTERN)
    except re2.error:
        pass
    try:
        with warnings.catch_warnings():     # a user's odd pattern ("[[") is not the lab's warning
            warnings.simplefilter("ignore")
            re.compile(pattern)
    except re.error:
        return re2.compile(pattern, _LITERAL)
    return None


def apply_filters(text: str, filters: list[tuple[str, str]]) -> str:
    lines = text.split("\n")
    for kind, pattern in filters:
        rx = _matcher(pattern)
        if rx is None:
            return ""
        if kind in ("include", "grep"):
            lines = [ln for ln in lines if rx.search(ln)]
        elif kind == "exclude":
            lines = [ln for ln in lines if not rx.search(ln)]
        elif kind == "begin":
            for i, ln in enumerate(lines):
                if rx.search(ln):
                    lines = lines[i:]
                    break
            else:
                lines = []
    return "\n".join(lines)
