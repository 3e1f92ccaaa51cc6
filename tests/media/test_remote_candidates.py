"""Which remote candidates a server-side peer may contact: every refused range, and the offer filter."""

from __future__ import annotations

import pytest

from media.remote_candidates import candidate_refusal, safe_offer

NEVER = [
    ("0.0.0.0", "'this network'"),
    ("0.255.255.255", "'this network'"),
    ("::", "unspecified"),
    ("169.254.169.254", "metadata"),
    ("fd00:ec2::254", "metadata"),
    ("100.100.100.200", "metadata"),
    ("224.0.0.251", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("::ffff:169.254.169.254", "metadata endpoint, carried in IPv6"),
    ("::ffff:0.0.0.0", "'this network'"),
    ("64:ff9b::a9fe:a9fe", "metadata endpoint, carried in IPv6"),  # NAT64 of 169.254.169.254
    ("duet.example.org", "a name, not an address"),
    ("localhost", "a name, not an address"),
]
"""Refused whatever the deployment allows: (address, part of the reason)."""

PRIVATE = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("169.254.0.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("febf::1", "link-local"),
    ("10.0.0.1", "RFC 1918"),
    ("10.255.255.255", "RFC 1918"),
    ("172.16.0.1", "RFC 1918"),
    ("172.31.255.255", "RFC 1918"),
    ("192.168.1.10", "RFC 1918"),
    ("fc00::1", "unique local"),
    ("fd00::2", "unique local"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.255", "CGNAT"),
    ("::ffff:10.0.0.1", "RFC 1918), carried in IPv6"),
    ("::ffff:127.0.0.1", "loopback, carried in IPv6"),
    ("::ffff:100.64.0.1", "CGNAT"),
    ("64:ff9b::a00:1", "RFC 1918), carried in IPv6"),  # NAT64 of 10.0.0.1
    ("2002:c0a8:101::1", "RFC 1918), carried in IPv6"),  # 6to4 of 192.168.1.1
    ("1f6a7b2c-1d2e-4f5a-8b9c-0d1e2f3a4b5c.local", "mDNS"),
]
"""Refused unless the deployment allows private candidates: (address, part of the reason)."""

ALLOWED = [
    "203.0.113.7",  # documentation ranges stand for public addresses here
    "198.51.100.1",
    "192.0.2.2",
    "198.18.0.1",  # the benchmarking range the network lab uses
    "198.19.255.255",
    "100.63.255.255",  # just outside CGNAT
    "100.128.0.0",
    "172.15.255.255",  # just outside RFC 1918
    "172.32.0.0",
    "169.253.255.255",  # just outside link-local
    "1.0.0.0",  # just outside 0.0.0.0/8
    "8.8.8.8",
    "2001:db8::1",
    "2606:4700::1111",
    "fec0::1",  # just outside fe80::/10
    "::ffff:203.0.113.7",
    "64:ff9b::cb00:7107",  # NAT64 of 203.0.113.7
]


@pytest.mark.parametrize(("host", "why"), NEVER)
@pytest.mark.parametrize("allow_private", [False, True])
def test_never_contacted(host: str, why: str, allow_private: bool) -> None:
    refusal = candidate_refusal(host, allow_private=allow_private)
    assert refusal is not None and why in refusal, refusal


@pytest.mark.parametrize(("host", "why"), PRIVATE)
def test_private_addresses_only_where_allowed(host: str, why: str) -> None:
    refusal = candidate_refusal(host, allow_private=False)
    assert refusal is not None and why in refusal, refusal
    assert candidate_refusal(host, allow_private=True) is None


@pytest.mark.parametrize("host", ALLOWED)
@pytest.mark.parametrize("allow_private", [False, True])
def test_other_addresses_are_contacted(host: str, allow_private: bool) -> None:
    assert candidate_refusal(host, allow_private=allow_private) is None


def _candidate(host: str, port: int = 9000, kind: str = "host") -> str:
    return f"a=candidate:1 1 udp 2130706431 {host} {port} typ {kind}"


OFFER_HEAD = (
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n"
)


def test_an_offer_keeps_its_safe_candidates_untouched() -> None:
    offer = OFFER_HEAD + "\r\n".join([_candidate("203.0.113.7"), "a=end-of-candidates"]) + "\r\n"
    assert safe_offer(offer, allow_private=False).sdp == offer  # nothing dropped: the same lines
    assert safe_offer(offer.replace("\r\n", "\n"), allow_private=False).sdp == offer
    assert safe_offer(offer, allow_private=False).dropped == ()


def test_an_offer_loses_its_unsafe_candidates_and_its_end_of_candidates() -> None:
    lines = [
        _candidate("10.0.0.7"),
        _candidate("203.0.113.7"),
        _candidate("169.254.169.254"),
        _candidate("127.0.0.1"),
        "a=candidate:2 1 udp 1 198.51.100.1 9000 typ srflx raddr 10.0.0.7 rport 9000",  # raddr is not sent to
        _candidate("abc.local"),
        "a=candidate:junk",
        "a=end-of-candidates",
    ]
    filtered = safe_offer(OFFER_HEAD + "\r\n".join(lines) + "\r\n", allow_private=False)
    assert filtered.sdp == OFFER_HEAD + "\r\n".join([lines[1], lines[4]]) + "\r\n"
    assert filtered.dropped == (
        "10.0.0.7 (private (RFC 1918))",
        "169.254.169.254 (a cloud metadata endpoint)",
        "127.0.0.1 (loopback)",
        "abc.local (an mDNS name (resolved on the server's own network))",
        "a=candidate:junk (malformed)",
    )
    lab = safe_offer(OFFER_HEAD + "\r\n".join(lines) + "\r\n", allow_private=True)
    kept = [lines[0], lines[1], lines[3], lines[4], lines[5]]
    assert lab.sdp == OFFER_HEAD + "\r\n".join(kept) + "\r\n"
    assert lab.dropped == ("169.254.169.254 (a cloud metadata endpoint)", "a=candidate:junk (malformed)")
