"""simulator: hardware-in-the-loop simulator for firewall appliances."""

__version__ = "0.1.0"
