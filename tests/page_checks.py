"""What the browser tests wait for on the room page, and how long they give it."""

from __future__ import annotations

__all__ = ["CALL_TIMEOUT_MS", "REMOTE_VIDEO_ADVANCED", "REMOTE_VIDEO_RENDERS", "UI_TIMEOUT_MS"]

CALL_TIMEOUT_MS = 30_000
"""Budget for two local Chromiums to negotiate and render video (about 2 s when idle)."""

UI_TIMEOUT_MS = 10_000
"""Budget for the page to react to a click or a frame."""

REMOTE_VIDEO_RENDERS = """() => {
  const video = document.getElementById("remote-video");
  return video.videoWidth > 0 && video.currentTime > 0 && !video.paused;
}"""
"""The other person's video has a size and plays (``wait_for_function`` predicate)."""

REMOTE_VIDEO_ADVANCED = """(start) => document.getElementById("remote-video").currentTime > start + 0.5"""
"""The remote video played on half a second past ``start`` (its ``currentTime`` then)."""
