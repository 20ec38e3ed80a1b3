"""Serial consoles of the simulated devices, reachable as on a terminal server."""

from simulator.surfaces.console.line import ConsoleLine
from simulator.surfaces.console.server import (
    CONSOLE_USER,
    ConsoleEndpoint,
    ConsoleSurface,
)

__all__ = ["CONSOLE_USER", "ConsoleEndpoint", "ConsoleLine", "ConsoleSurface"]
