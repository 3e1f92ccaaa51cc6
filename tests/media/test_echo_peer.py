"""The pre-call test's echo peer: its hard time limit, its cap, and the offer it declines to time."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection

from media.echo_peer import EchoPeers, EchoPeersBusy, check_offer, without_abs_send_time
from media.ice import rtc_configuration
from media.sources import SyntheticSource

OFFER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
)


def test_the_offer_loses_only_abs_send_time() -> None:
    assert without_abs_send_time(OFFER) == OFFER.replace(
        "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n", ""
    )
    assert without_abs_send_time(OFFER.replace("\r\n", "\n")) == without_abs_send_time(OFFER)


async def _offer() -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection(rtc_configuration([]))  # no ICE servers: loopback host candidates only
    for track in SyntheticSource().create_tracks():
        pc.addTrack(track)
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


async def test_a_test_nobody_ends_still_ends_at_its_limit() -> None:
    peers = EchoPeers(max_concurrent=2, max_s=0.5)
    client, offer = await _offer()
    try:
        answer = await peers.answer(offer, [])
        assert "abs-send-time" not in answer and "a=candidate:" in answer
        assert len(peers) == 1
        [peer] = list(peers)
        await asyncio.wait_for(peer.closed.wait(), 5)  # bounds a hang; the limit is 0.5 s
        assert peer.pc.connectionState == "closed"
        assert len(peers) == 0  # its place is free again
    finally:
        await client.close()
        await peers.close()


async def test_the_cap_refuses_one_more() -> None:
    peers = EchoPeers(max_concurrent=1, max_s=10)
    first, first_offer = await _offer()
    second, second_offer = await _offer()
    try:
        await peers.answer(first_offer, [])
        with pytest.raises(EchoPeersBusy, match="at most 1 at once"):
            await peers.answer(second_offer, [])
        assert len(peers) == 1
    finally:
        await peers.close()
        await first.close()
        await second.close()
    assert len(peers) == 0


@pytest.mark.parametrize(
    ("drop", "problem"),
    [
        ("a=fingerprint:", "m=audio section has no DTLS fingerprint"),
        ("a=setup:", "m=audio section has no DTLS fingerprint and role"),
        ("m=", None),  # no media at all: nothing lacks a fingerprint (aiortc answers it with none)
    ],
)
async def test_an_offer_without_dtls_is_refused_before_aiortc_takes_it(
    drop: str, problem: str | None
) -> None:
    client, offer = await _offer()
    await client.close()
    check_offer(offer)  # the whole offer is fine
    partial = "".join(line for line in offer.splitlines(True) if not line.startswith(drop))
    if problem is None:
        check_offer(partial)
        return
    with pytest.raises(ValueError, match=problem):
        check_offer(partial)
    peers = EchoPeers(max_concurrent=1, max_s=10)
    with pytest.raises(ValueError, match=problem):
        await peers.answer(partial, [])
    assert len(peers) == 0  # the refused peer was closed and gave its place back


@pytest.mark.parametrize(
    "junk", ["v=0\r\nm=audio\r\n", "m=audio 9 RTP 0\r\na=setup:sideways\r\n", "a=fingerprint:x\r\n"]
)
def test_sdp_the_parser_cannot_read_is_a_value_error(junk: str) -> None:
    with pytest.raises(ValueError):
        check_offer(junk)
