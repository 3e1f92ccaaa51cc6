"""Synthetic stats-report sequences: two participants' cumulative getStats over a scripted link.

A scenario is a list of phases ``(seconds, {sender: Link})``: for that long, each sender's uplink
behaves as its :class:`Link` says. The simulator turns that into the reports both browsers would
send every interval, with cumulative counters as the webrtc-stats spec defines them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from signaling.messages import Role
from signaling.stats import ByKind, CandidatePair, InboundRtp, OutboundRtp, RemoteInboundRtp, Stats

AUDIO_PPS, AUDIO_BYTES = 50, 120  # Opus, 20 ms frames, ~48 kbit/s with headers
VIDEO_PPS, VIDEO_BYTES = 120, 1100  # ~1 Mbit/s of VP8


@dataclass(frozen=True)
class Link:
    """One direction's conditions."""

    loss: float = 0.0
    rtt_s: float = 0.04
    jitter_s: float = 0.004
    fps: float = 30.0
    frozen: float = 0.0
    """Fraction of the time the picture is frozen."""
    uplink_bps: float | None = 2_500_000
    bandwidth_limited: bool = False
    outage: bool = False
    ice_state: str = "connected"


CLEAN = Link()


@dataclass
class _Counters:
    received: dict[str, float] = field(default_factory=lambda: {"audio": 0, "video": 0})
    lost: dict[str, float] = field(default_factory=lambda: {"audio": 0, "video": 0})
    frames: float = 0
    freezes: float = 0
    frozen_s: float = 0
    jb_delay: float = 0
    jb_emitted: float = 0
    frames_sent: float = 0
    sent: dict[str, float] = field(default_factory=lambda: {"audio": 0, "video": 0})


@dataclass
class Simulator:
    interval_s: float = 2.0
    sending_video: dict[Role, bool] = field(default_factory=lambda: {Role.HOST: True, Role.GUEST: True})
    _at: float = 0.0
    _counters: dict[Role, _Counters] = field(default_factory=lambda: {r: _Counters() for r in Role})

    def step(self, links: dict[Role, Link]) -> tuple[float, dict[Role, Stats]]:
        """Advance one interval; return the time and each participant's report."""
        self._at += self.interval_s
        dt = self.interval_s
        for sender in Role:
            link, receiver = links.get(sender, CLEAN), self._counters[sender.other]
            mine = self._counters[sender]
            video_on = self.sending_video[sender]
            kinds = {"audio": AUDIO_PPS, "video": VIDEO_PPS if video_on else 0}
            for kind, pps in kinds.items():
                mine.sent[kind] += pps * dt
                if link.outage:
                    continue  # nothing arrives, and the receiver cannot count what it never saw
                receiver.received[kind] += pps * dt * (1 - link.loss)
                receiver.lost[kind] += pps * dt * link.loss
            if video_on:
                fps_sent = 2 if link.bandwidth_limited else link.fps
                mine.frames_sent += fps_sent * dt
                if not link.outage:
                    receiver.frames += min(fps_sent, link.fps) * dt * (1 - link.frozen)
                    if link.frozen:
                        receiver.freezes += 1
                        receiver.frozen_s += link.frozen * dt
            if not link.outage:
                emitted = 48_000 * dt
                receiver.jb_emitted += emitted
                receiver.jb_delay += emitted * (0.03 + 2 * link.jitter_s)
        reports = {role: self._report(role, links) for role in Role}
        return self._at, reports

    def _report(self, role: Role, links: dict[Role, Link]) -> Stats:
        c = self._counters[role]
        incoming, outgoing = links.get(role.other, CLEAN), links.get(role, CLEAN)
        inbound_audio = InboundRtp(
            packets_received=int(c.received["audio"]),
            packets_lost=int(c.lost["audio"]),
            bytes_received=int(c.received["audio"] * AUDIO_BYTES),
            jitter=incoming.jitter_s,
            jitter_buffer_delay=c.jb_delay,
            jitter_buffer_emitted_count=int(c.jb_emitted),
        )
        inbound_video = InboundRtp(
            packets_received=int(c.received["video"]),
            packets_lost=int(c.lost["video"]),
            bytes_received=int(c.received["video"] * VIDEO_BYTES),
            frames_decoded=int(c.frames),
            freeze_count=int(c.freezes),
            total_freezes_duration=c.frozen_s,
        )
        video_on = self.sending_video[role]
        outbound_video = OutboundRtp(
            bytes_sent=int(c.sent["video"] * VIDEO_BYTES),
            frames_sent=int(c.frames_sent),
            quality_limitation_reason="bandwidth" if outgoing.bandwidth_limited else "none",
        )
        ice = "disconnected" if outgoing.outage and incoming.outage else outgoing.ice_state
        return Stats(
            inbound=ByKind[InboundRtp](
                audio=inbound_audio, video=inbound_video if self.sending_video[role.other] else None
            ),
            outbound=ByKind[OutboundRtp](
                audio=OutboundRtp(bytes_sent=int(c.sent["audio"] * AUDIO_BYTES)),
                video=outbound_video if video_on else None,
            ),
            remote_inbound=ByKind[RemoteInboundRtp](audio=RemoteInboundRtp(round_trip_time=outgoing.rtt_s)),
            candidate_pair=CandidatePair(
                current_round_trip_time=max(incoming.rtt_s, outgoing.rtt_s),
                available_outgoing_bitrate=outgoing.uplink_bps,
            ),
            ice_state=ice,
            connection_state="connected" if ice == "connected" else ice,
            sending_video=video_on,
        )


def run(
    phases: list[tuple[float, dict[Role, Link]]], sim: Simulator | None = None
) -> Iterator[tuple[float, dict[Role, Stats]]]:
    """Every report of a scenario, in order."""
    sim = sim or Simulator()
    for seconds, links in phases:
        for _ in range(round(seconds / sim.interval_s)):
            yield sim.step(links)


def both(link: Link) -> dict[Role, Link]:
    return {Role.HOST: link, Role.GUEST: link}


def only(sender: Role, link: Link) -> dict[Role, Link]:
    return {sender: link, sender.other: CLEAN}


__all__ = ["CLEAN", "Link", "Simulator", "both", "only", "replace", "run"]
