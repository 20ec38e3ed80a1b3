"""Lina, the data plane an ASA runs and an FTD runs under Snort: its views
(interfaces, routes, NAT, access lists...) in the words of the ASA CLI, which
is also an FTD's diagnostic CLI and the source of most FTD `show` commands.
Shared by the kinds that run it; it needs only a `network.Unit`."""
