"""Which of a client's ICE candidates a server-side peer may send to, as pure functions.

A pre-call test's offer comes from anyone holding a join link, and each ``a=candidate`` line in it
names an address the echo peer then sends STUN connectivity checks to, from inside the server's
network. Left alone, an offer is a way to make the server probe its own loopback services, its
private network or its cloud's metadata endpoint. :func:`safe_offer` takes those lines out before
aiortc reads the offer; :func:`candidate_refusal` says why one address is refused.

Two kinds of address are refused:

- **never** contacted, whatever the deployment: ``0.0.0.0/8`` and ``::`` (Linux delivers them to
  the server itself), cloud metadata endpoints (``169.254.169.254``, ``fd00:ec2::254``,
  ``100.100.100.200``), multicast and broadcast, and names other than mDNS (``.local``) ones (a
  name can stand for any address; aioice 0.13 ignores them, and this rule does not depend on it);
- **private**, contacted only where the deployment allows it (``DUET_PRECALL_ALLOW_PRIVATE_CANDIDATES``,
  for labs): loopback, link-local
  (``169.254.0.0/16``, ``fe80::/10``), RFC 1918, unique local IPv6 (``fc00::/7``), shared address
  space (CGNAT, ``100.64.0.0/10``), and mDNS names (aioice resolves them by multicast on the server's
  own network, to whatever address an answer gives).

An IPv6 address that carries an IPv4 one (IPv4-mapped ``::ffff:0:0/96``, NAT64 ``64:ff9b::/96``,
6to4 ``2002::/16``) is judged by that IPv4 address.

The ranges are written out rather than taken from :attr:`ipaddress.IPv4Address.is_private`, whose
list changes between Python versions and includes ranges duet's tests and labs use for real peers
(``198.18.0.0/15``, ``192.0.2.0/24``), while ``100.64.0.0/10`` (CGNAT) is neither private nor global
there.

Once a candidate has been taken out, the offer no longer says its list is complete
(``a=end-of-candidates``): aioice fails at once with an empty check list and a complete one, whereas
with the list open it still learns the client's address from the client's own checks
(peer-reflexive candidates, RFC 8445 section 7.3.1.3), an address the client really sends from.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["PRIVATE_NETWORKS", "REFUSED_NETWORKS", "SafeOffer", "candidate_refusal", "safe_offer"]

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _networks(*table: tuple[str, str]) -> tuple[tuple[_Network, str], ...]:
    return tuple((ipaddress.ip_network(network), why) for network, why in table)


REFUSED_NETWORKS = _networks(
    ("0.0.0.0/8", "'this network' (reaches the server itself)"),  # RFC 1122 section 3.2.1.3
    ("::/128", "unspecified (reaches the server itself)"),  # RFC 4291 section 2.5.2
    ("169.254.169.254/32", "a cloud metadata endpoint"),  # AWS, GCP, Azure, OCI
    ("fd00:ec2::254/128", "a cloud metadata endpoint"),  # AWS over IPv6
    ("100.100.100.200/32", "a cloud metadata endpoint"),  # Alibaba Cloud
    ("224.0.0.0/4", "multicast"),  # RFC 5771
    ("ff00::/8", "multicast"),  # RFC 4291 section 2.7
    ("255.255.255.255/32", "broadcast"),  # RFC 919
)
"""Never contacted, whatever the deployment allows, with why."""

PRIVATE_NETWORKS = _networks(
    ("127.0.0.0/8", "loopback"),  # RFC 1122
    ("::1/128", "loopback"),  # RFC 4291
    ("169.254.0.0/16", "link-local"),  # RFC 3927
    ("fe80::/10", "link-local"),  # RFC 4291
    ("10.0.0.0/8", "private (RFC 1918)"),
    ("172.16.0.0/12", "private (RFC 1918)"),
    ("192.168.0.0/16", "private (RFC 1918)"),
    ("fc00::/7", "private (unique local, RFC 4193)"),
    ("100.64.0.0/10", "shared address space (CGNAT, RFC 6598)"),
)
"""Contacted only where the deployment allows private candidates, with why not otherwise."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 section 2.1


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for, if it is mapped, NAT64 or 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _parsed(host: str) -> _Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def candidate_refusal(host: str, *, allow_private: bool) -> str | None:
    """Why a remote candidate at ``host`` (its connection address, as written in the SDP) must not be
    contacted; ``None`` when it may be. ``allow_private``: loopback, link-local, private, CGNAT and
    mDNS candidates are allowed (``DUET_PRECALL_ALLOW_PRIVATE_CANDIDATES``)."""
    address = _parsed(host)
    if address is None:
        if host.lower().endswith(".local"):
            return None if allow_private else "an mDNS name (resolved on the server's own network)"
        return "a name, not an address"
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        address = ipaddress.IPv6Address(host.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        carried = _carried_ipv4(address)
        if carried is not None:
            refusal = candidate_refusal(str(carried), allow_private=allow_private)
            return None if refusal is None else f"{refusal}, carried in IPv6"
    for network, why in REFUSED_NETWORKS:
        if address in network:
            return why
    if not allow_private:
        for network, why in PRIVATE_NETWORKS:
            if address in network:
                return why
    return None


@dataclass(frozen=True, slots=True)
class SafeOffer:
    """An offer without the candidates the server must not contact."""

    sdp: str
    """The offer, line endings as CRLF; the same lines as given when nothing was dropped."""
    dropped: tuple[str, ...]
    """Each dropped candidate's address and why: ``"10.0.0.7 (private (RFC 1918))"``."""


def _candidate_host(line: str) -> str | None:
    """The connection address of an ``a=candidate`` line (RFC 8839 section 5.1), ``None`` if malformed."""
    fields = line.split()
    return fields[4] if len(fields) >= 8 and fields[6] == "typ" else None


def safe_offer(sdp: str, *, allow_private: bool) -> SafeOffer:
    """``sdp`` without the ``a=candidate`` lines :func:`candidate_refusal` refuses (and malformed ones),
    and without ``a=end-of-candidates`` once any was dropped (see the module's notes)."""
    kept: list[str] = []
    dropped: list[str] = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            host = _candidate_host(line)
            refusal = "malformed" if host is None else candidate_refusal(host, allow_private=allow_private)
            if refusal is not None:
                dropped.append(f"{host or line[:60]} ({refusal})")
                continue
        kept.append(line)
    if dropped:
        kept = [line for line in kept if line != "a=end-of-candidates"]
    return SafeOffer(sdp="\r\n".join(kept) + "\r\n", dropped=tuple(dropped))
