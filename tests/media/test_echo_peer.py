"""The pre-call test's echo peer: its hard time limit, its cap, and the offer it declines to time."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection
from echo_client import EchoClient

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
    ],
)
async def test_an_offer_without_dtls_is_refused_before_aiortc_takes_it(drop: str, problem: str) -> None:
    client, offer = await _offer()
    await client.close()
    check_offer(offer)  # the whole offer is fine
    partial = "".join(line for line in offer.splitlines(True) if not line.startswith(drop))
    with pytest.raises(ValueError, match=problem):
        check_offer(partial)
    peers = EchoPeers(max_concurrent=1, max_s=10)
    with pytest.raises(ValueError, match=problem):
        await peers.answer(partial, [])
    assert len(peers) == 0  # the refused peer was closed and gave its place back


async def _data_channel_offer() -> str:
    pc = RTCPeerConnection(rtc_configuration([]))
    pc.createDataChannel("chat")
    await pc.setLocalDescription(await pc.createOffer())
    await pc.close()
    return str(pc.localDescription.sdp)


async def test_an_offer_without_audio_or_video_is_refused() -> None:
    # aiortc answers both, and its echo peer would then hold a place with nothing to echo.
    data_only = await _data_channel_offer()
    no_media = data_only.split("m=")[0]
    for offer, got in ((data_only, "m=application"), (no_media, "no media section")):
        with pytest.raises(ValueError, match=f"the offer has no audio or video to echo \\(got {got}\\)"):
            check_offer(offer)
    peers = EchoPeers(max_concurrent=1, max_s=10)
    with pytest.raises(ValueError, match="no audio or video"):
        await peers.answer(data_only, [])
    assert len(peers) == 0


@pytest.mark.parametrize(
    "junk", ["v=0\r\nm=audio\r\n", "m=audio 9 RTP 0\r\na=setup:sideways\r\n", "a=fingerprint:x\r\n"]
)
def test_sdp_the_parser_cannot_read_is_a_value_error(junk: str) -> None:
    with pytest.raises(ValueError):
        check_offer(junk)


def _at_loopback(line: str) -> str:
    """An ``a=candidate`` line moved to loopback (same port), which the echo peer must not contact."""
    if not line.startswith("a=candidate:"):
        return line
    fields = line.split(" ")
    fields[4] = "::1" if ":" in fields[4] else "127.0.0.1"
    return " ".join(fields)


async def test_a_client_whose_every_candidate_is_dropped_still_connects_from_its_own_checks() -> None:
    # Its offer names only loopback addresses, all dropped, and says its list is complete. The echo
    # peer still learns the client's real address from the checks the client sends it
    # (peer-reflexive), since the filtered offer no longer says a=end-of-candidates.
    client = EchoClient()
    peers = EchoPeers(max_concurrent=1, max_s=10)
    try:
        offer = "\r\n".join(_at_loopback(line) for line in (await client.offer()).splitlines()) + "\r\n"
        assert "a=end-of-candidates" in offer and "127.0.0.1" in offer
        await client.accept(await peers.answer(offer, []))
        await asyncio.wait_for(client.echoed.wait(), 10)
        [peer] = list(peers)
        given = peer.pc.remoteDescription.sdp  # what aiortc was given
        assert "a=candidate:" not in given and "a=end-of-candidates" not in given
    finally:
        await client.close()
        await peers.close()
