"""Every box's BMC: IPMI over LAN on a UDP port per device, and one Redfish service for the lab."""

from simulator.surfaces.bmc.surface import BmcSurface

__all__ = ["BmcSurface"]
