"""The Lina data plane's VPNs in the ASA's words: site-to-site peers on a
crypto map (IKEv1/IKEv2 and IPsec SAs, LAN-to-LAN sessions), the AnyConnect
tunnel group with its address pool and sessions, and VPN load balancing, from
the defaults of vpn.yaml. Tunnels come up and users log in at fixed seconds
after boot; byte counters grow with the time a tunnel or session has been up,
SAs are re-keyed every lifetime. Like network.py it needs only a `Unit`."""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from simulator.facts import read_yaml
from simulator.kinds.lina.network import Unit, fmt, stable


@cache
def vpn_data() -> dict[str, Any]:
    return read_yaml("vpn.yaml", __package__)


def _fmt(key: str, **values: Any) -> str:
    return str(vpn_data()["templates"][key]).format(**values)


def _hex(*parts: Any) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:8].upper()


def _stamp(t: float) -> str:
    """`14:28:09 UTC Tue Mar 17 2020` (login times)."""
    tm = time.gmtime(t)
    return f"{time.strftime('%H:%M:%S', tm)} UTC {time.strftime('%a %b', tm)} {tm.tm_mday} {tm.tm_year}"


def _duration(seconds: float) -> str:
    """`2h:21m:21s`, `52d 6h:35m:23s`."""
    secs = int(seconds)
    days, rest = divmod(secs, 86400)
    text = f"{rest // 3600}h:{rest // 60 % 60:02d}m:{rest % 60:02d}s"
    return f"{days}d {text}" if days else text


def _outside(unit: Unit) -> str:
    name = vpn_data()["crypto_map"]["interface"]
    return next((i.ip for i in unit.interfaces() if i.nameif == name and i.ip), "0.0.0.0")


def _acl(peer: dict[str, Any]) -> str:
    return f"{vpn_data()['crypto_map']['interface']}_cryptomap_{peer['seq']}"


# -- configuration -----------------------------------------------------------------------------------
def acl_lines() -> list[str]:
    """The crypto maps' access lists (with the other access lists of the configuration)."""
    return [f"access-list {_acl(p)} extended permit ip {' '.join(p['local'])} {' '.join(p['remote'])}"
            for p in _static()]


def _static() -> list[dict[str, Any]]:
    """The peers of the crypto map's own entries (IKEv1, fixed addresses); the others are dynamic (IKEv2)."""
    return [p for p in vpn_data()["l2l"] if not p.get("dynamic")]


def pool_lines() -> list[str]:
    pool = vpn_data()["remote_access"]["pool"]
    return [f"ip local pool {pool['name']} {pool['start']}-{pool['end']} mask {pool['mask']}"]


def ipsec_lines() -> list[str]:
    """`show running-config ipsec`: IKEv1 transform sets and IKEv2 IPsec proposals."""
    data = vpn_data()
    lines = [f"crypto ipsec ikev1 transform-set {t['name']} {t['encryption']} {t['hash']} "
             for t in data["transform_sets"]]
    for p in data["ipsec_proposals"]:
        lines += [f"crypto ipsec ikev2 ipsec-proposal {p['name']}", f" protocol esp encryption {p['encryption']}",
                  f" protocol esp integrity {p['integrity']}"]
    return lines


def crypto_map_lines(defaults: bool = False) -> list[str]:
    """`show running-config crypto map` (`all`: with the entries' default settings). The last entry
    hands other peers (AnyConnect IKEv2 clients) to the system's dynamic map."""
    data = vpn_data()
    name = data["crypto_map"]["name"]
    lines = []
    for p in _static():
        head = f"crypto map {name} {p['seq']}"
        lines.append(f"{head} match address {_acl(p)}")
        if defaults:
            lines.append(f"{head} set connection-type bidirectional")
        lines.append(f"{head} set peer {p['peer']} ")
        if defaults:
            lines.append(f"{head} set ikev1 phase1-mode main")
        lines.append(f"{head} set ikev1 transform-set {p['transform']}")
        if defaults:
            lines.append(f"{head} set ikev2 mode tunnel")
        lines.append(f"{head} set security-association lifetime seconds {p['lifetime']}")
        if defaults:
            lines += [f"{head} set security-association lifetime kilobytes 4608000", f"no {head} set tfc-packets"]
    return lines + [f"crypto map {name} 65535 ipsec-isakmp dynamic SYSTEM_DEFAULT_CRYPTO_MAP",
                    f"crypto map {name} interface {data['crypto_map']['interface']}"]


def dynamic_map_lines() -> list[str]:
    proposals = " ".join(p["name"] for p in vpn_data()["ipsec_proposals"])
    return [f"crypto dynamic-map SYSTEM_DEFAULT_CRYPTO_MAP 65535 set ikev2 ipsec-proposal {proposals}"]


def ikev1_lines() -> list[str]:
    """`show running-config crypto ikev1`."""
    lines = [f"crypto ikev1 enable {vpn_data()['crypto_map']['interface']}"]
    for p in vpn_data()["ikev1_policies"]:
        lines += [f"crypto ikev1 policy {p['priority']}", f" authentication {p['auth']}",
                  f" encryption {p['encryption']}", f" hash {p['hash']}", f" group {p['group']}",
                  f" lifetime {p['lifetime']}"]
    return lines


def ikev2_lines() -> list[str]:
    lines = []
    for p in vpn_data()["ikev2_policies"]:
        lines += [f"crypto ikev2 policy {p['priority']}", f" encryption {p['encryption']}",
                  f" integrity {p['integrity']}", f" group {p['group']}", f" prf {p['prf']}",
                  f" lifetime seconds {p['lifetime']}"]
    lines.append(f"crypto ikev2 enable {vpn_data()['crypto_map']['interface']}")
    return lines


def tunnel_group_lines() -> list[str]:
    """`show running-config tunnel-group`: the AnyConnect group, then one per site-to-site peer."""
    ra = vpn_data()["remote_access"]
    group = ra["tunnel_group"]
    lines = [f"tunnel-group {group} type remote-access", f"tunnel-group {group} general-attributes",
             f" address-pool {ra['pool']['name']}", f" default-group-policy {ra['group_policy']}",
             f"tunnel-group {group} webvpn-attributes", f" group-alias {group} enable"]
    for p in _static():
        lines += [f"tunnel-group {p['peer']} type ipsec-l2l", f"tunnel-group {p['peer']} ipsec-attributes",
                  " ikev1 pre-shared-key *****"]
    lines += ["tunnel-group DefaultL2LGroup ipsec-attributes", " ikev2 remote-authentication pre-shared-key *****",
              " ikev2 local-authentication pre-shared-key *****"]
    return lines


def group_policy_lines() -> list[str]:
    ra = vpn_data()["remote_access"]
    name = ra["group_policy"]
    return [f"group-policy {name} internal", f"group-policy {name} attributes",
            f" dns-server value {' '.join(ra['dns'])}", " vpn-tunnel-protocol ssl-client ",
            " split-tunnel-policy tunnelall"]


def lb_lines() -> list[str]:
    lb = vpn_data()["load_balancing"]
    return ["vpn load-balancing", f" priority {lb['priority']}", f" cluster ip address {lb['cluster']}",
            " cluster encryption", " participate"]


def config_lines() -> list[str]:
    """The VPN part of the running configuration (after the routes), in the ASA's order."""
    name = vpn_data()["crypto_map"]["interface"]
    return [*ipsec_lines(), *dynamic_map_lines(), *crypto_map_lines(), *ikev2_lines(), *ikev1_lines()[1:],
            f"crypto ikev1 enable {name}",
            "webvpn", f" enable {name}", " anyconnect enable", " tunnel-group-list enable", *lb_lines(),
            *group_policy_lines(), *tunnel_group_lines()]


def show_access_list(unit: Unit) -> str:
    """The crypto maps' access lists as `show access-list` prints them (hits: the tunnels' packets out)."""
    found = {t.peer["seq"]: t for t in tunnels(unit)}
    lines = []
    for p in vpn_data()["l2l"]:
        name, rule = _acl(p), f"ip {' '.join(p['local'])} {' '.join(p['remote'])}"
        hits = found[p["seq"]].counters(unit)["pkts_out"] if p["seq"] in found else 0
        lines += [fmt("acl_list", name=name, count=1, hash=_hex(name).lower()),
                  fmt("acl_rule", name=name, line=1, action="permit", rule=rule, log="", hits=hits,
                      hash=_hex(name, 1).lower())]
    return "\n".join(lines)


# -- site-to-site tunnels -----------------------------------------------------------------------------
@dataclass
class Tunnel:
    n: int
    peer: dict[str, Any]
    up: float               # seconds it has been up
    index: int

    @property
    def dynamic(self) -> bool:
        return bool(self.peer.get("dynamic"))

    def left(self) -> int:
        return int(self.peer["lifetime"] - self.up % self.peer["lifetime"])

    def ike_left(self) -> int:
        return int(86400 - self.up % 86400)

    def spi(self, unit: Unit, direction: str) -> str:
        return _hex(unit.serial, self.peer["peer"], int(self.up // self.peer["lifetime"]), direction)

    def counters(self, unit: Unit) -> dict[str, int]:
        t, factor = self.peer["traffic"], stable(unit, self.peer["peer"])
        pkts_out, pkts_in = int(t["pps_out"] * factor * self.up), int(t["pps_in"] * factor * self.up)
        return {"pkts_out": pkts_out, "pkts_in": pkts_in, "tx": pkts_out * t["size"], "rx": pkts_in * t["size"]}


def tunnels(unit: Unit) -> list[Tunnel]:
    up = unit.uptime()
    return [Tunnel(n, p, up - p["up_at"], vpn_data()["remote_access"]["index_base"] - 100 + n)
            for n, p in enumerate(vpn_data()["l2l"], 1) if up >= p["up_at"]]


def _net(pair: list[str]) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network("/".join(pair))


def show_crypto_ikev1_sa(unit: Unit, detail: bool = False) -> str:
    """One table per IKEv1 SA, in the command reference's layout (`detail` adds the cipher and lifetime)."""
    rows = []
    for t in (t for t in tunnels(unit) if not t.dynamic):
        sa = t.peer["ike_sa"]
        rows.append(_fmt("ikev1_sa_detail" if detail else "ikev1_sa", n=t.n, peer=t.peer["peer"],
                         encr=f"{sa['encryption']:<7}", hash=sa["hashing"], lifetime=86400))
    return "\n".join(rows) or _fmt("no_ikev1")


def show_crypto_ikev2_sa(unit: Unit) -> str:
    """The IKEv2 SAs of the dynamic peers, one child SA each."""
    local = _outside(unit)
    out = [_fmt("ikev2_head")]
    for n, t in enumerate((t for t in tunnels(unit) if t.dynamic), 1):
        sa, lnet, rnet = t.peer["ike_sa"], _net(t.peer["local"]), _net(t.peer["remote"])
        out.append(_fmt("ikev2_sa", session=n, tunnel=int(_hex(unit.serial, t.peer["peer"]), 16) % 900000000,
                        local=f"{local}/500", remote=f"{t.peer['peer']}/500", encr=sa["encr"], hash=sa["hashing"],
                        group=sa["group"], active=int(t.up % 86400), lsel_from=lnet.network_address,
                        lsel_to=lnet.broadcast_address, rsel_from=rnet.network_address,
                        rsel_to=rnet.broadcast_address, spi_in=t.spi(unit, "in").lower(),
                        spi_out=t.spi(unit, "out").lower()))
    return "\n".join(out) if len(out) > 1 else _fmt("no_ikev2")


def show_crypto_ipsec_sa(unit: Unit) -> str:
    data, local = vpn_data(), _outside(unit)
    blocks = []
    for t in tunnels(unit):
        p, values = t.peer, t.counters(unit)
        spi_in, spi_out = t.spi(unit, "in"), t.spi(unit, "out")
        kb_used = int((values["tx"] + values["rx"]) * (t.up % p["lifetime"]) / max(t.up, 1) / 1024)
        acl = "" if t.dynamic else (f"\n      access-list {_acl(p)} extended permit ip {' '.join(p['local'])} "
                                    f"{' '.join(p['remote'])}")
        blocks.append(_fmt(
            "ipsec_sa", map="SYSTEM_DEFAULT_CRYPTO_MAP" if t.dynamic else data["crypto_map"]["name"], seq=p["seq"],
            local=local, acl=acl, ike="IKEv2" if t.dynamic else "IKEv1",
            lnet=p["local"][0], lmask=p["local"][1], rnet=p["remote"][0], rmask=p["remote"][1], peer=p["peer"],
            spi_in=spi_in, spi_out=spi_out, spi_in_dec=int(spi_in, 16), spi_out_dec=int(spi_out, 16),
            encryption=p["esp"]["encryption"], hash=p["esp"]["hash"], conn=int(_hex(p["peer"]), 16) % 400000000,
            kb_in=max(0, 4608000 - kb_used // 2), kb_out=max(0, 4608000 - kb_used // 2), left=t.left(), **values))
    if not blocks:
        return _fmt("no_ipsec")
    return _fmt("ipsec_interface", interface=data["crypto_map"]["interface"]) + "\n" + "\n\n".join(blocks)


def show_asp_vpn_context(unit: Unit) -> str:
    blocks = []
    for t in tunnels(unit):
        values = t.counters(unit)
        for flags, direction, pkts in (("DECR", "in", values["pkts_in"]), ("ENCR", "out", values["pkts_out"])):
            key = (unit.serial, t.peer["peer"], direction)
            blocks.append(_fmt("vpn_context", ctx=_hex(*key, "ctx"), peer=t.peer["peer"], pointer=_hex(*key, "ptr"),
                               flags=flags, sa=_hex(*key, "sa"), spi=t.spi(unit, direction), pkts=pkts,
                               rekeys=int(t.up // t.peer["lifetime"])))
    return "\n\n".join(blocks)


def _l2l_block(unit: Unit, now: float, t: Tunnel) -> str:
    p, values = t.peer, t.counters(unit)
    sa, esp = p["ike_sa"], p["esp"]
    ike_enc, ike_hash = (sa["encryption"], sa["hashing"]) if t.dynamic else (sa["encryption"].upper(), "SHA1")
    ike_block = _fmt("l2l_ikev2" if t.dynamic else "l2l_ikev1", ike_enc=ike_enc, ike_hash=ike_hash,
                     ike_left=t.ike_left(), group=sa["group"], prf=sa.get("prf", ""))
    kb_left = max(0, 4608000 - int((values["tx"] + values["rx"]) * (t.up % p["lifetime"]) / max(t.up, 1) / 1024))
    return _fmt("l2l_session", index=t.index, peer=p["peer"], connection="DefaultL2LGroup" if t.dynamic else p["peer"],
                ike="IKEv2" if t.dynamic else "IKEv1", ike_block=ike_block, ike_enc=ike_enc, ike_hash=ike_hash,
                esp_enc=esp["shown"], esp_hash=esp["hashing"], login=_stamp(now - t.up), duration=_duration(t.up),
                local="/".join(p["local"]), remote="/".join(p["remote"]), lifetime=p["lifetime"],
                esp_left=t.left(), kb_left=kb_left, pkts_tx=values["pkts_out"], pkts_rx=values["pkts_in"], **values)


def show_vpn_sessiondb_detail_l2l(unit: Unit, now: float) -> str:
    found = tunnels(unit)
    if not found:
        return _fmt("no_sessions")
    return _fmt("l2l_head") + "\n" + "\n\n".join(_l2l_block(unit, now, t) for t in found)


# -- remote access ------------------------------------------------------------------------------------
@dataclass
class Session:
    n: int
    spec: dict[str, Any]
    up: float
    assigned: str


def _pool() -> list[str]:
    pool = vpn_data()["remote_access"]["pool"]
    first, last = ipaddress.IPv4Address(pool["start"]), ipaddress.IPv4Address(pool["end"])
    return [str(ipaddress.IPv4Address(a)) for a in range(int(first), int(last) + 1)]


def _active_at(spec: dict[str, Any], t: float) -> bool:
    return spec["login"] <= t and (not spec["lasts"] or t < spec["login"] + spec["lasts"])


def sessions(unit: Unit) -> list[Session]:
    """AnyConnect sessions up now; each keeps the pool address it got at login."""
    up, pool = unit.uptime(), _pool()
    return [Session(n, s, up - s["login"], pool[n]) for n, s in enumerate(vpn_data()["remote_access"]["sessions"])
            if _active_at(s, up)]


def _counts(unit: Unit) -> tuple[int, int, int]:
    """Active, cumulative (the configured users plus the ones that came and went) and peak AnyConnect sessions."""
    ra, up = vpn_data()["remote_access"], unit.uptime()
    started = [s for s in ra["sessions"] if s["login"] <= up]
    peak = max([sum(_active_at(o, s["login"]) for o in ra["sessions"]) for s in started], default=0)
    return sum(_active_at(s, up) for s in ra["sessions"]), len(started) + int(up // ra["churn"]), peak


def _tunnels_of(spec: dict[str, Any]) -> list[str]:
    return ["AnyConnect-Parent", "SSL-Tunnel"] + (["DTLS-Tunnel"] if spec["dtls"] else [])


def show_vpn_sessiondb_anyconnect(unit: Unit, now: float, ftd: bool = False) -> str:
    """The ASA's layout; an FTD (`ftd`) adds the tunnel zone to the last line, as its diagnostic CLI does."""
    ra, outside = vpn_data()["remote_access"], _outside(unit)
    found = sessions(unit)
    if not found:
        return _fmt("no_sessions")
    blocks = []
    for s in found:
        spec, index, names = s.spec, ra["index_base"] + s.n, _tunnels_of(s.spec)
        factor, login = stable(unit, spec["user"]), now - s.up
        audit = f"{int(ipaddress.IPv4Address(outside)):08x}{index:05x}000{int(login) & 0xFFFFFFFF:08x}"
        blocks.append(_fmt(
            "ac_session", user=spec["user"], index=index, assigned=s.assigned, public=spec["public"],
            protocol=" ".join(names), license=ra["license"],
            encryption="  ".join(f"{t}: (1){ra['ciphers'][t][0]}" for t in names),
            hashing="  ".join(f"{t}: (1){ra['ciphers'][t][1]}" for t in names),
            tx=int(spec["tx"] * factor * s.up), rx=int(spec["rx"] * factor * s.up), policy=ra["group_policy"],
            group=ra["tunnel_group"], login=_stamp(login), duration=_duration(s.up), audit=audit)
            + "\n" + _fmt("ac_security_ftd" if ftd else "ac_security"))
    return _fmt("ac_head") + "\n" + "\n\n".join(blocks)


def _capacity(unit: Unit) -> int:
    caps = vpn_data()["capacity"]
    return int(caps.get(unit.model, caps["default"]))


def show_vpn_sessiondb(unit: Unit) -> str:
    """The session and tunnel summary (`show vpn-sessiondb` and `show vpn-sessiondb summary`)."""
    capacity, l2l, found = _capacity(unit), tunnels(unit), sessions(unit)
    every = _counts(unit)
    dtls = sum(1 for s in found if s.spec["dtls"])
    rekeys = sum(int(t.up // t.peer["lifetime"]) for t in l2l)
    v1, v2 = [t for t in l2l if not t.dynamic], [t for t in l2l if t.dynamic]
    site, ikev1, ikev2 = ((len(x), len(x), len(x)) for x in (l2l, v1, v2))
    rule, total = _fmt("summary_rule"), every[0] + len(l2l)
    lines = [rule, _fmt("summary_head")]
    lines += [_fmt("summary_row4", name=name, active=a, cumulative=c, peak=p, inactive=0)
              for name, (a, c, p) in (("AnyConnect Client", every), ("  SSL/TLS/DTLS", every))]
    lines += [_fmt("summary_row3", name=name, active=a, cumulative=c, peak=p)
              for name, (a, c, p) in (("Site-to-Site VPN", site), ("  IKEv2 IPsec", ikev2), ("  IKEv1 IPsec", ikev1))]
    lines += [rule, _fmt("summary_total", total=total, cumulative=every[1] + len(l2l), capacity=capacity,
                         load=max(1, total * 100 // capacity) if total else 0), rule, rule]
    tunnel_rows = [("IKEv1", *ikev1), ("IKEv2", *ikev2), ("IPsec", len(l2l), len(l2l) + rekeys, len(l2l)),
                   ("AnyConnect-Parent", *every), ("SSL-Tunnel", *every), ("DTLS-Tunnel", dtls, every[1], every[2])]
    lines.append(_fmt("tunnels_head"))
    lines += [_fmt("tunnels_row", name=n, active=a, cumulative=c, peak=p) for n, a, c, p in tunnel_rows]
    lines += [rule, _fmt("tunnels_total", active=sum(r[1] for r in tunnel_rows),
                         cumulative=sum(r[2] for r in tunnel_rows)), rule]
    return "\n".join(lines)


def has_clientless(version: tuple[int, int]) -> bool:
    """Whether a release (major, minor) still has clientless SSL VPN."""
    return version < tuple(vpn_data()["remote_access"]["clientless"]["removed_in"])


def show_vpn_sessiondb_webvpn(unit: Unit, now: float, clientless: bool) -> str:
    """Clientless (WebVPN) sessions up now; none on a unit without clientless SSL VPN."""
    ra = vpn_data()["remote_access"]
    wv, up = ra["clientless"], unit.uptime()
    found = [(n, s) for n, s in enumerate(wv["sessions"]) if clientless and _active_at(s, up)]
    if not found:
        return _fmt("no_sessions")
    blocks, outside = [], _outside(unit)
    for n, spec in found:
        index, alive, factor = ra["index_base"] + 512 + n, up - spec["login"], stable(unit, spec["user"])
        login = now - alive
        audit = f"{int(ipaddress.IPv4Address(outside)):08x}{index:05x}000{int(login) & 0xFFFFFFFF:08x}"
        blocks.append(_fmt("wv_session", user=spec["user"], index=index, public=spec["public"],
                           license=ra["license"], cipher=wv["ciphers"][0], hash=wv["ciphers"][1],
                           tx=int(spec["tx"] * factor * alive), rx=int(spec["rx"] * factor * alive),
                           policy=wv["group_policy"], group=wv["tunnel_group"], login=_stamp(login),
                           duration=_duration(alive), audit=audit))
    return _fmt("wv_head") + "\n" + "\n\n".join(blocks)


def show_ip_local_pool(unit: Unit, name: str) -> str:
    """The pool's range, free and in-use addresses."""
    pool = vpn_data()["remote_access"]["pool"]
    if name != pool["name"]:
        return _fmt("no_pool", name=name)
    addresses, used = _pool(), {s.assigned for s in sessions(unit)}
    free = [a for a in addresses if a not in used]
    lines = [_fmt("pool_head"), _fmt("pool_row", begin=pool["start"], end=pool["end"], mask=pool["mask"],
                                     free=len(free), held=0, used=len(used)), "", "Available Addresses:", *free]
    if used:
        lines += ["", "In Use Addresses:", *[a for a in addresses if a in used]]
    return "\n".join(lines)


def show_vpn_load_balancing(unit: Unit) -> str:
    """This unit directs the cluster (its outside address, starred); the peers of vpn.yaml are backups."""
    lb, outside, limit = vpn_data()["load_balancing"], _outside(unit), _capacity(unit)
    model = lb["models"].get(unit.model, lb["models"]["default"])
    used = len(sessions(unit))
    lines = [_fmt("lb", peers=len(lb["peers"]) + 1, cluster=lb["cluster"]),
             _fmt("lb_peer", role="Master", pri=lb["priority"], model=model, version=lb["version"],
                  public=f"{outside}*")]
    lines += [_fmt("lb_peer", role=p["role"], pri=p["priority"], model=model, version=lb["version"],
                   public=p["public"]) for p in lb["peers"]]
    lines.append(_fmt("lb_load_head"))
    lines.append(_fmt("lb_load", limit=limit, used=used, load=used * 100 // limit, olimit=limit,
                      oused=len(tunnels(unit)), oload=len(tunnels(unit)) * 100 // limit, public=f"{outside}*"))
    lines += [_fmt("lb_load", limit=p["limit"], used=p["used"], load=p["used"] * 100 // p["limit"],
                   olimit=p["limit"], oused=0, oload=0, public=p["public"]) for p in lb["peers"]]
    return "\n".join(lines)
