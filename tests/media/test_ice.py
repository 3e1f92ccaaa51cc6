"""ICE values from the wire to aiortc."""

from __future__ import annotations

import pytest
from aiortc import RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection

from media.ice import candidate_from_wire, rtc_configuration, selected_candidate_types
from signaling.messages import IceCandidate, IceServer

HOST_LINE = "candidate:842163049 1 udp 1677729535 198.18.0.7 46154 typ srflx raddr 10.0.0.2 rport 46154"


def test_no_ice_servers_is_still_an_explicit_empty_list() -> None:
    assert rtc_configuration([]).iceServers == []


def test_ice_servers_keep_urls_and_credentials() -> None:
    servers = [IceServer(urls=["turn:198.18.0.1:3478?transport=udp"], username="u", credential="c")]
    assert rtc_configuration(servers).iceServers == [
        RTCIceServer(urls=["turn:198.18.0.1:3478?transport=udp"], username="u", credential="c")
    ]


@pytest.mark.parametrize(
    ("relay_only", "policy"), [(False, RTCIceTransportPolicy.ALL), (True, RTCIceTransportPolicy.RELAY)]
)
def test_relay_only_is_the_relay_transport_policy(relay_only: bool, policy: RTCIceTransportPolicy) -> None:
    assert rtc_configuration([], relay_only=relay_only).iceTransportPolicy is policy


async def test_no_selected_pair_before_ice_runs() -> None:
    pc = RTCPeerConnection(rtc_configuration([]))
    pc.addTransceiver("audio")
    try:
        assert selected_candidate_types(pc) == []
    finally:
        await pc.close()


@pytest.mark.parametrize("prefix", ["", "a="])
def test_candidate_from_wire(prefix: str) -> None:
    candidate = candidate_from_wire(
        IceCandidate(candidate=prefix + HOST_LINE, sdp_mid="0", sdp_m_line_index=0)
    )
    assert candidate is not None
    assert (candidate.ip, candidate.port, candidate.type, candidate.protocol) == (
        "198.18.0.7",
        46154,
        "srflx",
        "udp",
    )
    assert (candidate.relatedAddress, candidate.relatedPort) == ("10.0.0.2", 46154)
    assert (candidate.sdpMid, candidate.sdpMLineIndex) == ("0", 0)


def test_empty_candidate_is_end_of_candidates() -> None:
    assert candidate_from_wire(IceCandidate(candidate="", sdp_mid="0")) is None


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        (IceCandidate(candidate="candidate:1 1 udp", sdp_mid="0"), "expected 'candidate:<foundation>"),
        (IceCandidate(candidate="candidate:1 x udp 1 1.2.3.4 5 typ host", sdp_mid="0"), "got 'candidate:1 x"),
        (IceCandidate(candidate=HOST_LINE), "needs 'sdpMid' or 'sdpMLineIndex'"),
    ],
)
def test_candidate_from_wire_refuses(candidate: IceCandidate, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        candidate_from_wire(candidate)
    assert message in str(raised.value)
