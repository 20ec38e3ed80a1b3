"""Serial consoles of the simulated devices, reachable as on a terminal server."""

from .line import ConsoleLine
from .server import CONSOLE_USER, ConsoleEndpoint, ConsoleSurface

__all__ = ["CONSOLE_USER", "ConsoleEndpoint", "ConsoleLine", "ConsoleSurface"]
