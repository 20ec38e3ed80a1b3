"""A minimal telnet server side (RFC 854/857/858): the server offers to echo
and to suppress go-ahead (character mode, as a terminal server's reverse
telnet port does), answers the client's option requests, strips IAC
sequences from the input and turns the telnet Interrupt Process and Break
commands into Ctrl-C."""

from __future__ import annotations

import codecs
from collections.abc import Callable

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
NOP, DM, BRK, IP, AO, AYT, EC, EL, GA = 241, 242, 243, 244, 245, 246, 247, 248, 249
ECHO, SGA = 1, 3

# What the server says as soon as a client connects.
GREETING = bytes([IAC, WILL, ECHO, IAC, WILL, SGA])
_OURS = frozenset({ECHO, SGA})       # options the server performs
_THEIRS = frozenset({SGA})           # options the server lets the client perform


class CrNormalizer:
    """Enter arrives as CR LF, CR NUL (telnet) or CR alone (an SSH PTY);
    hand the shell a single CR. Keeps state across chunks."""

    def __init__(self) -> None:
        self._after_cr = False

    def feed(self, text: str) -> str:
        out = []
        for ch in text:
            if self._after_cr:
                self._after_cr = False
                if ch in "\n\x00":
                    continue
            if ch == "\r":
                self._after_cr = True
            out.append(ch)
        return "".join(out)


class TelnetCodec:
    """Decodes what a telnet client sends; `reply` carries negotiation answers back."""

    def __init__(self, reply: Callable[[bytes], None]) -> None:
        self._reply = reply
        self._state = "data"
        self._verb = 0
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._cr = CrNormalizer()
        self._answered: set[tuple[int, int]] = set()
        self.ours = set(_OURS)       # options enabled on our side
        self.theirs: set[int] = set()

    def feed(self, data: bytes) -> str:
        out = bytearray()
        for b in data:
            state = self._state
            if state == "data":
                if b == IAC:
                    self._state = "iac"
                else:
                    out.append(b)
            elif state == "iac":
                self._state = "data"
                if b == IAC:
                    out.append(IAC)
                elif b in (WILL, WONT, DO, DONT):
                    self._verb, self._state = b, "option"
                elif b == SB:
                    self._state = "sb"
                elif b in (IP, BRK):
                    out.append(3)
                elif b == EC:
                    out.append(0x7F)
                elif b == EL:
                    out.append(0x15)
                elif b == AYT:
                    self._reply(b"\r\n[Yes]\r\n")
            elif state == "option":
                self._state = "data"
                self._negotiate(self._verb, b)
            elif state == "sb":
                if b == IAC:
                    self._state = "sb_iac"
            elif state == "sb_iac":
                self._state = "data" if b == SE else "sb"
        return self._cr.feed(self._text.decode(bytes(out)))

    def _answer(self, verb: int, option: int) -> None:
        if (verb, option) not in self._answered:      # never loop on a chatty client
            self._answered.add((verb, option))
            self._reply(bytes([IAC, verb, option]))

    def _negotiate(self, verb: int, option: int) -> None:
        if verb == DO:
            if option not in _OURS:
                self._answer(WONT, option)
            elif option not in self.ours:
                self.ours.add(option)
                self._answer(WILL, option)
        elif verb == DONT:
            if option in self.ours:
                self.ours.discard(option)
                self._answer(WONT, option)
        elif verb == WILL:
            if option in _THEIRS:
                if option not in self.theirs:
                    self.theirs.add(option)
                    self._answer(DO, option)
            else:
                self._answer(DONT, option)
        elif verb == WONT:
            if option in self.theirs:
                self.theirs.discard(option)
                self._answer(DONT, option)


def encode(text: str) -> bytes:
    """Text for the wire: UTF-8 (which never holds a 0xFF byte, so no IAC doubling)."""
    return text.encode("utf-8", errors="replace")
