"""Keeping the conversation going, in real browsers: the prompt, audio only, video back, the backup plan.

Nothing is faked between the pages and the server: a slow camera is a real slow camera (Chromium
plays a 2 fps Y4M file as its fake camera), the pages report their real ``getStats()``, and the
server's timings are only scaled down through its settings. Every wait is bounded and synchronised
on what the page shows or counts, never on a sleep; predicates are functions (the page's CSP forbids
``eval``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from playwright.async_api import Page, WebSocketRoute, expect

from tests.e2e.test_browser_call import (
    CALL_TIMEOUT_MS,
    UI_TIMEOUT_MS,
    assert_remote_media_plays,
    initials,
    join_url,
    open_prejoin,
)

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchParticipant, Participant

FAST = {
    "stats_interval_s": 0.5,
    "quality_warmup_s": 2.0,
    "fallback_video_poor_s": 1.5,
    "fallback_recovery_s": 3.0,
    "fallback_cooldown_s": 60.0,
}
"""The server's fallback timings, scaled down (defaults: 2 s reports, 10 s warm-up, 6 s of poor
video, 25 s of recovery)."""

BRIDGE = "+14155550100"
ANA = {"name": "Ana", "phone": "+14155550123", "share_phone": True}
BEN = {"name": "Ben", "phone": "+447700900123"}  # Ben did not agree to share his number

SLOW_CAMERA_FPS = 2
"""Well under the 5 frames/s the server calls poor video (media/quality_score.py, FPS_POOR)."""

PROMPT_TIMEOUT_MS = 30_000
"""Budget for the server to see poor video and ask: call set-up, warm-up, then 1.5 s of poor video."""

COUNTERS = """() => window.duet.pc.getStats().then((stats) => {
  const seen = {audioIn: 0, framesSent: 0};
  for (const report of stats.values()) {
    if (report.type === "inbound-rtp" && report.kind === "audio") seen.audioIn = report.packetsReceived;
    if (report.type === "outbound-rtp" && report.kind === "video") seen.framesSent = report.framesSent;
  }
  return seen;
})"""
"""The page's own counters: audio packets received, video frames sent."""

# wait_for_function treats a returned Promise as truthy, so this predicate stays synchronous: each
# poll starts a getStats() and reads what the previous one stored.
AUDIO_PACKETS_BEYOND = """(start) => {
  const pc = window.duet.pc;
  if (!pc || pc.connectionState !== "connected") return false;
  pc.getStats().then((stats) => {
    for (const report of stats.values()) {
      if (report.type === "inbound-rtp" && report.kind === "audio") {
        window.e2eAudioIn = report.packetsReceived;
      }
    }
  });
  return (window.e2eAudioIn ?? 0) > start;
}"""

VIDEO_SENDER_EMPTY = """() => {
  const video = window.duet.pc?.getTransceivers().find((t) => t.receiver.track.kind === "video");
  return Boolean(video) && video.sender.track === null;
}"""

MODE_IS = """(mode) => window.duet.mode === mode"""

MIC_SENDS = """() => {
  const audio = window.duet.pc?.getSenders().find((s) => s.track?.kind === "audio");
  return audio ? audio.track.enabled : null;
}"""
"""Whether the microphone track on the peer connection sends sound (``enabled``), ``null`` without one."""

STATS_SENT = """() => window.duet.stats !== null && window.duet.stats.inbound?.audio?.packetsReceived > 0"""


def write_slow_camera(path: Path, fps: int = SLOW_CAMERA_FPS) -> Path:
    """A 320 x 240 Y4M clip that Chromium plays as a camera at ``fps`` frames per second.

    Four frames with a bar that moves, so each frame differs (an encoder sends them all).
    """
    width, height = 320, 240
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(4):
            luma = np.full((height, width), 60, np.uint8)
            luma[:, index * 80 : index * 80 + 80] = 200
            chroma = np.full((height // 2, width // 2), 128, np.uint8)
            out.write(b"FRAME\n" + luma.tobytes() + chroma.tobytes() + chroma.tobytes())
    return path


async def snapshot(page: Page, name: str) -> None:
    """Save a screenshot when ``DUET_E2E_SCREENSHOTS`` names a folder (to look at the layout)."""
    folder = os.environ.get("DUET_E2E_SCREENSHOTS")
    if folder:
        await page.screenshot(path=os.path.join(folder, f"{name}.png"))  # Playwright makes the folder


def record_frames(who: Participant) -> list[dict[str, Any]]:
    """The fallback frames the page receives, for failure messages."""
    frames: list[dict[str, Any]] = []

    def on_frame(payload: str | bytes) -> None:
        frame = json.loads(payload)
        if frame.get("type") in ("quality", "suggest", "withdraw", "mode"):
            frames.append(frame)

    who.page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return frames


async def join_both(host: Page, guest: Page) -> None:
    await host.click("#join")
    await guest.click("#join")
    for page in (host, guest):
        await expect(page.locator("#status")).to_have_text("Connected", timeout=CALL_TIMEOUT_MS)


async def audio_keeps_flowing(page: Page) -> None:
    """The call is up and the other person's audio still arrives (its packet count grows)."""
    start = (await page.evaluate(COUNTERS))["audioIn"]
    await page.wait_for_function(AUDIO_PACKETS_BEYOND, arg=start + 25, polling=200, timeout=UI_TIMEOUT_MS)


async def assert_audio_only(page: Page, peer: str, notice: str) -> None:
    await page.wait_for_function(MODE_IS, arg="audio-only", timeout=UI_TIMEOUT_MS)
    await expect(page.locator("#mode-notice")).to_have_text(notice, timeout=UI_TIMEOUT_MS)
    await expect(page.locator("#remote-placeholder")).to_be_visible()
    await expect(page.locator("#remote-initials")).to_have_text(initials(peer))
    await expect(page.locator("#local-placeholder")).to_be_visible(timeout=UI_TIMEOUT_MS)  # camera released
    await expect(page.locator("#audio-only")).to_have_attribute("aria-pressed", "true")
    await page.wait_for_function(VIDEO_SENDER_EMPTY, polling=100, timeout=UI_TIMEOUT_MS)
    # No more video goes out (frames sent stop growing) while the other person's audio keeps coming.
    await audio_keeps_flowing(page)
    sent = (await page.evaluate(COUNTERS))["framesSent"]
    await audio_keeps_flowing(page)
    assert (await page.evaluate(COUNTERS))["framesSent"] == sent
    await expect(page.locator("#status")).to_have_text("Connected")
    assert await page.evaluate("() => window.duet.pc.connectionState") == "connected"


@pytest.mark.asyncio
@pytest.mark.parametrize("server_settings", [FAST])
async def test_a_slow_camera_gets_the_prompt_and_the_call_goes_audio_only(
    server: Any, participant: LaunchParticipant, tmp_path: Path
) -> None:
    room = await server.create_room()
    ana = await participant("host", camera_file=write_slow_camera(tmp_path / "slow.y4m"))
    ben = await participant("guest", phone=True)
    ana_frames, ben_frames = record_frames(ana), record_frames(ben)
    ana_page = await open_prejoin(ana, join_url(server, room["join_urls"]["host"]))
    ben_page = await open_prejoin(ben, join_url(server, room["join_urls"]["guest"]))
    await expect(ana_page.locator("#backup-plan")).to_be_hidden()  # no numbers, no bridge: no plan
    await join_both(ana_page, ben_page)

    # Ana's camera gives 2 frames a second: Ben receives poor video, and Ana (whose uplink it is) is asked.
    prompt = ana_page.locator("#fallback-prompt")
    await expect(prompt).to_be_visible(timeout=PROMPT_TIMEOUT_MS)
    await expect(ana_page.locator("#prompt-reason")).to_have_text(
        "Your video is lagging. Switch to audio only?"
    )
    await expect(ana_page.locator("#prompt-accept")).to_have_text("Switch to audio")
    await expect(ana_page.locator("#prompt-decline")).to_have_text("Keep video")
    assert await ben_page.locator("#fallback-prompt").is_hidden(), ben_frames
    await expect(ana_page.locator("#my-quality")).to_have_attribute("data-level", "poor")
    await expect(ben_page.locator("#peer-quality")).to_have_attribute("data-level", "poor")
    label = await ben_page.locator("#peer-quality").get_attribute("aria-label")
    assert label is not None and label.startswith("Ana's connection is poor: ") and "frames/s" in label, label
    await snapshot(ana_page, "prompt-desktop")

    await ana_page.click("#prompt-accept")
    await expect(prompt).to_be_hidden()
    await assert_audio_only(ana_page, "Ben", "Your connection is weak, so the call switched to audio only.")
    await assert_audio_only(ben_page, "Ana", "Ana's connection is weak, so the call switched to audio only.")
    await snapshot(ana_page, "audio-only-desktop")
    await snapshot(ben_page, "audio-only-phone")

    await ana_page.wait_for_function("() => window.duet.stats.sendingVideo === false", timeout=UI_TIMEOUT_MS)
    assert [f["mode"] for f in ana_frames if f["type"] == "mode"] == ["audio-only"], ana_frames
    ana.assert_clean()
    ben.assert_clean()


@pytest.mark.asyncio
@pytest.mark.parametrize("server_settings", [FAST])
async def test_the_audio_only_button_switches_both_and_brings_video_back(
    server: Any, participant: LaunchParticipant
) -> None:
    room = await server.create_room(fallback_policy="off")  # only the people switch here
    ana = await participant("host")
    ben = await participant("guest", phone=True)
    ana_page = await open_prejoin(ana, join_url(server, room["join_urls"]["host"]))
    ben_page = await open_prejoin(ben, join_url(server, room["join_urls"]["guest"]))
    await join_both(ana_page, ben_page)
    for page in (ana_page, ben_page):
        await assert_remote_media_plays(page)
        await page.wait_for_function(STATS_SENT, polling=100, timeout=UI_TIMEOUT_MS)
    report = await ana_page.evaluate("() => window.duet.stats")
    assert report["sendingVideo"] is True and report["iceState"] in ("connected", "completed"), report
    assert report["candidatePair"]["localCandidateType"] == "host", report
    assert {"packetsReceived", "framesDecoded"} <= report["inbound"]["video"].keys(), report
    assert {"framesSent", "bytesSent"} <= report["outbound"]["video"].keys(), report
    assert len(json.dumps(report)) < 8 * 1024
    for page in (ana_page, ben_page):  # both connection indicators have heard from the server
        for indicator in ("#my-quality", "#peer-quality"):
            await expect(page.locator(indicator)).to_be_visible(timeout=UI_TIMEOUT_MS)
            await expect(page.locator(indicator)).not_to_have_attribute("data-level", "unknown")

    await ben_page.click("#audio-only")
    await assert_audio_only(ben_page, "Ana", "You switched the call to audio only.")
    await assert_audio_only(ana_page, "Ben", "Ben switched the call to audio only.")
    await ana_page.wait_for_function("() => window.duet.stats.sendingVideo === false", timeout=UI_TIMEOUT_MS)

    await ben_page.click("#audio-only")
    for page in (ana_page, ben_page):
        await page.wait_for_function(MODE_IS, arg="video", timeout=UI_TIMEOUT_MS)
        await expect(page.locator("#mode-panel")).to_be_hidden()
        await expect(page.locator("#audio-only")).to_have_attribute("aria-pressed", "false")
    await expect(ana_page.locator("#toast")).to_have_text("Ben turned video back on.")
    for page in (ana_page, ben_page):
        await expect(page.locator("#remote-placeholder")).to_be_hidden(timeout=UI_TIMEOUT_MS)
        await assert_remote_media_plays(page)
        await expect(page.locator("#status")).to_have_text("Connected")

    # Video back does not turn on a camera its owner had turned off.
    await ana_page.click("#camera")
    await expect(ben_page.locator("#remote-placeholder")).to_be_visible(timeout=UI_TIMEOUT_MS)
    await ben_page.click("#audio-only")
    await ana_page.wait_for_function(MODE_IS, arg="audio-only", timeout=UI_TIMEOUT_MS)
    await ben_page.click("#audio-only")
    await ana_page.wait_for_function(MODE_IS, arg="video", timeout=UI_TIMEOUT_MS)
    await expect(ana_page.locator("#remote-placeholder")).to_be_hidden(timeout=UI_TIMEOUT_MS)  # Ben's is back
    await expect(ana_page.locator("#camera")).to_have_attribute("aria-pressed", "true")
    await expect(ana_page.locator("#local-placeholder")).to_be_visible()
    await expect(ben_page.locator("#remote-placeholder")).to_be_visible()
    ana.assert_clean()
    ben.assert_clean()


@pytest.mark.asyncio
@pytest.mark.parametrize("server_settings", [{"phone_dial_in": BRIDGE}])
async def test_the_pre_join_screen_shows_our_backup_plan(server: Any, participant: LaunchParticipant) -> None:
    room = await server.create_room(host=ANA, guest=BEN)
    pin = room["dial_in"]["pin"]
    ben = await participant("guest", phone=True)
    ben_page = await open_prejoin(ben, join_url(server, room["join_urls"]["guest"]))
    plan = ben_page.locator("#backup-plan")
    await expect(plan).to_be_visible()
    await expect(plan.locator("#backup-plan-text")).to_have_text(
        f"If the internet fails: call Ana at +1 415 555 0123, or dial in at +1 415 555 0100 (PIN {pin})."
    )
    links = plan.locator("a")
    assert await links.evaluate_all("(links) => links.map((a) => a.getAttribute('href'))") == [
        "tel:+14155550123",
        f"tel:{BRIDGE},,{pin}%23",  # one tap dials in and enters the PIN; '#' spelled for a URL
    ]
    await snapshot(ben_page, "backup-plan-phone")

    # Ben did not share his number: Ana's plan is the bridge alone.
    ana = await participant("host")
    ana_page = await open_prejoin(ana, join_url(server, room["join_urls"]["host"]))
    await expect(ana_page.locator("#backup-plan-text")).to_have_text(
        f"If the internet fails: dial in at +1 415 555 0100 (PIN {pin})."
    )
    await snapshot(ana_page, "backup-plan-desktop")
    ana.assert_clean()
    ben.assert_clean()


@pytest.mark.asyncio
@pytest.mark.parametrize("server_settings", [{**FAST, "phone_dial_in": BRIDGE}])
async def test_on_the_phone_the_backup_plan_shows_and_the_microphone_goes_quiet(
    server: Any, participant: LaunchParticipant
) -> None:
    """No browser control moves a call to the phone, and a real outage cannot be made in a test
    this short: so the test speaks on Ben's own socket (Playwright's WebSocket route), once to the
    page (the server's phone question, in its exact words) and once to the server (``set-mode``)."""
    room = await server.create_room(host=ANA, guest=BEN)
    pin = room["dial_in"]["pin"]
    ana = await participant("host")
    ben = await participant("guest", phone=True)
    routes: list[tuple[WebSocketRoute, WebSocketRoute]] = []

    def route(page_side: WebSocketRoute) -> None:
        routes.append((page_side, page_side.connect_to_server()))  # everything else passes through

    await ben.page.route_web_socket("**/ws", route)
    ana_page = await open_prejoin(ana, join_url(server, room["join_urls"]["host"]))
    ben_page = await open_prejoin(ben, join_url(server, room["join_urls"]["guest"]))
    await join_both(ana_page, ben_page)
    to_ben, to_server = routes[-1]

    question = "The connection is too weak for a call. Continue by phone?"
    backup = {"peerPhone": ANA["phone"], "dialIn": BRIDGE, "pin": pin, "dialInLink": f"tel:{BRIDGE},,{pin}#"}
    to_ben.send(
        json.dumps({"type": "suggest", "id": "s9", "mode": "phone", "reason": question, "backup": backup})
    )
    prompt = ben_page.locator("#fallback-prompt")
    await expect(prompt.locator("#prompt-reason")).to_have_text(question, timeout=UI_TIMEOUT_MS)
    await expect(prompt.locator("#prompt-accept")).to_have_text("Call Ana")
    await expect(prompt.locator("#prompt-accept")).to_have_attribute("href", "tel:+14155550123")
    await expect(prompt.locator("a", has_text=f"Dial in (PIN {pin})")).to_have_attribute(
        "href", f"tel:{BRIDGE},,{pin}%23"
    )
    await expect(prompt.locator("#prompt-decline")).to_have_text("Keep trying")
    await snapshot(ben_page, "phone-prompt-phone")
    to_ben.send(json.dumps({"type": "withdraw", "id": "s9"}))
    await expect(prompt).to_be_hidden(timeout=UI_TIMEOUT_MS)

    to_server.send(json.dumps({"type": "set-mode", "mode": "phone"}))
    for page, notice, plan in (
        (
            ben_page,
            "You moved the call to the phone.",
            f"Call Ana at +1 415 555 0123, or dial in at +1 415 555 0100 (PIN {pin}).",
        ),
        (ana_page, "Ben moved the call to the phone.", f"Dial in at +1 415 555 0100 (PIN {pin})."),
    ):
        await page.wait_for_function(MODE_IS, arg="phone", timeout=UI_TIMEOUT_MS)
        await expect(page.locator("#mode-notice")).to_have_text(notice)
        await expect(page.locator("#call-backup")).to_have_text(plan)
        await expect(page.locator("#mute")).to_have_attribute("aria-pressed", "true")
        await page.wait_for_function(VIDEO_SENDER_EMPTY, polling=100, timeout=UI_TIMEOUT_MS)
        assert await page.evaluate(MIC_SENDS) is False
        await audio_keeps_flowing(page)  # the peer connection stays up: it is how the link is watched
    await snapshot(ben_page, "phone-mode-phone")
    await snapshot(ana_page, "phone-mode-desktop")

    await ben_page.click("#audio-only")  # back to video, microphones on again
    for page in (ana_page, ben_page):
        await page.wait_for_function(MODE_IS, arg="video", timeout=UI_TIMEOUT_MS)
        await page.wait_for_function(MIC_SENDS, timeout=UI_TIMEOUT_MS)
        await expect(page.locator("#mute")).to_have_attribute("aria-pressed", "false")
        await assert_remote_media_plays(page)
    ana.assert_clean()
    ben.assert_clean()
