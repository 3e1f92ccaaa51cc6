"""ICE values between the duet wire protocol and aiortc, as pure functions.

aiortc gathers its own candidates inside ``setLocalDescription`` and writes them
into the SDP, so only the receiving direction (a browser trickling candidates to
us) needs converting.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiortc import RTCConfiguration, RTCIceCandidate, RTCIceServer
from aiortc.sdp import candidate_from_sdp

from signaling.messages import IceCandidate, IceServer

__all__ = ["candidate_from_wire", "rtc_configuration"]


def rtc_configuration(ice_servers: Sequence[IceServer]) -> RTCConfiguration:
    """The configuration for every ``RTCPeerConnection``, built from ``welcome.iceServers``.

    Always an explicit list, possibly empty: given no configuration, aiortc falls back
    to a public STUN server, which a duet participant must never contact.
    """
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=list(server.urls), username=server.username, credential=server.credential)
            for server in ice_servers
        ]
    )


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
