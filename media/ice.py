"""ICE values between the duet wire protocol and aiortc, as pure functions.

aiortc gathers its own candidates inside ``setLocalDescription`` and writes them
into the SDP, so only the receiving direction (a browser trickling candidates to
us) needs converting.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiortc import RTCConfiguration, RTCIceCandidate, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection
from aiortc.sdp import candidate_from_sdp

from signaling.messages import IceCandidate, IceServer

__all__ = ["candidate_from_wire", "rtc_configuration", "selected_candidate_types"]


def rtc_configuration(ice_servers: Sequence[IceServer], *, relay_only: bool = False) -> RTCConfiguration:
    """The configuration for every ``RTCPeerConnection``, built from ``welcome.iceServers``.

    Always an explicit list, possibly empty: given no configuration, aiortc falls back
    to a public STUN server, which a duet participant must never contact. aiortc uses the
    first STUN and the first TURN server of the list only. ``relay_only`` is WebRTC's
    ``iceTransportPolicy: "relay"``: only TURN relay candidates are gathered and used.
    """
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=list(server.urls), username=server.username, credential=server.credential)
            for server in ice_servers
        ],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL,
    )


def selected_candidate_types(pc: RTCPeerConnection) -> list[tuple[str, str]]:
    """``(local, remote)`` candidate types (``host``, ``srflx``, ``prflx``, ``relay``) of the pairs
    ICE selected, one per transport; empty before ICE has selected any.

    aiortc's getStats has no ``candidate-pair`` entries, so this reads the selected pairs from
    its ICE agent (aioice's ``Connection``), which aiortc does not expose publicly.
    """
    ice_transports = {
        id(dtls.transport): dtls.transport
        for dtls in (t.sender.transport for t in pc.getTransceivers())
        if dtls is not None
    }
    types: list[tuple[str, str]] = []
    for ice in ice_transports.values():  # bundled transceivers share one
        for pair in getattr(getattr(ice, "_connection", None), "_nominated", {}).values():
            types.append((pair.local_candidate.type, pair.remote_candidate.type))
    return types


def candidate_from_wire(candidate: IceCandidate) -> RTCIceCandidate | None:
    """A trickled ``RTCIceCandidateInit`` as aiortc's candidate; ``None`` for end-of-candidates.

    Browsers signal the end of candidates with an empty ``candidate`` string (or a
    ``null`` frame, handled by the caller). Raises :class:`ValueError` for a line
    that is not an ICE candidate.
    """
    line = candidate.candidate.strip()
    if not line:
        return None
    if line.startswith("a="):
        line = line[2:]
    if line.startswith("candidate:"):
        line = line[len("candidate:") :]
    try:
        parsed = candidate_from_sdp(line)
    except (AssertionError, ValueError, IndexError):
        raise ValueError(
            f"expected 'candidate:<foundation> <component> <protocol> <priority> <ip> <port> typ <type>', "
            f"got {candidate.candidate[:120]!r}"
        ) from None
    parsed.sdpMid = candidate.sdp_mid
    parsed.sdpMLineIndex = candidate.sdp_m_line_index
    if parsed.sdpMid is None and parsed.sdpMLineIndex is None:
        raise ValueError("a candidate needs 'sdpMid' or 'sdpMLineIndex' to find its media section")
    return parsed
