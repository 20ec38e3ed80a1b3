"""Serial over LAN: the device's console line carried in IPMI SOL packets.

pyghmi's `ServerConsole` does the SOL bookkeeping (sequence numbers,
acknowledgements, what the client typed); its sender waits for each
acknowledgement in a blocking loop and its constructor enters pyghmi's own
I/O loop, so this subclass sends without waiting and retries on the event
loop's timer instead. What waits for the client is bounded (`sol_buffer`):
past it the oldest characters are lost, as when a UART overruns."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pyghmi.ipmi import console as pyghmi_console

from simulator.surfaces.bmc.facts import bmc as facts

if TYPE_CHECKING:
    from simulator.surfaces.bmc.ipmi import IpmiEndpoint


class SolLink(pyghmi_console.ServerConsole):
    def __init__(self, session: Any, endpoint: IpmiEndpoint) -> None:
        # ServerConsole.__init__'s state, without its call into pyghmi's I/O loop (which would block)
        self.outputlock = _NoLock()
        self.keepaliveid = None
        self.connected, self.broken, self.activated, self.poweredon = True, False, True, True
        self.out_handler = endpoint.sol_input
        self.remseq = self.myseq = self.lastsize = self.retriedpayload = 0
        self.pendingoutput: list[Any] = []
        self.awaitingack = False
        self.force_session = False
        self.ipmi_session = session
        self.ipmi_session.sol_handler = self._got_sol_payload
        self.maxoutcount = 256
        self.lastpayload = bytearray()
        self._retry: asyncio.TimerHandle | None = None
        self._tries = 0
        self._endpoint = endpoint
        self._line = endpoint.sol_line()
        if self._line is not None:
            self._line.attach(self)

    # -- the console line's client -------------------------------------------------------------
    def write(self, text: str) -> None:
        if self.broken:
            return
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "replace")
        waiting = sum(len(chunk) for chunk in self.pendingoutput if not isinstance(chunk, dict))
        overrun = waiting + len(data) - facts().ipmi.sol_buffer
        if overrun > 0:
            self._drop(overrun)
        self.send_data(data)

    def _drop(self, count: int) -> None:
        while count > 0 and self.pendingoutput:
            head = self.pendingoutput[0]
            if isinstance(head, dict) or len(head) <= count:
                count -= 0 if isinstance(head, dict) else len(head)
                del self.pendingoutput[0]
            else:
                self.pendingoutput[0] = head[count:]
                count = 0

    def close(self) -> None:
        self.activated = False
        self.broken = True
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if self._line is not None:
            self._line.detach(self)
            self._line = None

    # -- pyghmi's sender, not blocking -----------------------------------------------------
    def _sendoutput(self, output: bytes, sendbreak: bool = False) -> None:
        self.myseq = (self.myseq + 1) & 0xF or 1
        payload = bytearray((self.myseq, 0, 0, 0b10000 if sendbreak else 0)) + bytes(output)
        self.lasttextsize = len(output)
        self.awaitingack = True
        self.lastpayload = payload
        self._tries = 0
        self._send(payload)

    def _send(self, payload: bytearray) -> None:
        self.send_payload(payload, retry=False, needskeepalive=not self.lasttextsize)
        if self._retry is not None:
            self._retry.cancel()
        self._retry = asyncio.get_running_loop().call_later(facts().ipmi.sol_retry, self._resend, payload)

    def _resend(self, payload: bytearray) -> None:
        self._retry = None
        if not self.awaitingack or self.broken or payload is not self.lastpayload:
            return
        self._tries += 1
        if self._tries >= facts().ipmi.sol_retries:
            self._endpoint.end_sol()             # "Connection lost": the payload is free for the next client
            return
        self._send(payload)

    def _got_sol_payload(self, payload: Any) -> None:
        super()._got_sol_payload(payload)
        if not self.awaitingack and self._retry is not None:
            self._retry.cancel()
            self._retry = None


class _NoLock:
    """pyghmi guards its output list with a lock for its threads; here everything runs on the loop."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
