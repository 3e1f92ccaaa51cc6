// Small DOM helpers shared by the screens: finding elements, switching views,
// toggle buttons, and the in-call view (videos, placeholders, status line).

import { renderBackupPlan } from "./backup.js";
import { initials, modeLabels, modeNotices } from "./texts.js";

/** @typedef {import("./protocol.js").CallMode} CallMode */
/** @typedef {import("./backup.js").BackupPlan} BackupPlan */

/**
 * The element with `id`; throws if the page lacks it (a broken room.html).
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`room.html has no element #${id}`);
  return /** @type {T} */ (element);
}

/** @typedef {"loading" | "message" | "paste" | "prejoin" | "call" | "left"} ViewName */

/** @type {readonly ViewName[]} */
const VIEWS = Object.freeze(["loading", "message", "paste", "prejoin", "call", "left"]);

/**
 * Show one screen, hide the others.
 * @param {ViewName} name
 */
export function showView(name) {
  for (const view of VIEWS) byId(`view-${view}`).hidden = view !== name;
}

/**
 * Show the message screen (a link that cannot work).
 * @param {{title: string, text: string}} message
 */
export function showMessage({ title, text }) {
  byId("message-title").textContent = title;
  byId("message-text").textContent = text;
  showView("message");
}

/**
 * Reflect a switch on a toggle button. `pressed` means the "off" action is in
 * force (microphone muted, camera off); the aria-label stays the same, the
 * tooltip says what a click does next.
 * @param {HTMLElement} button
 * @param {boolean} pressed
 * @param {string} pressedTitle  Tooltip while pressed, e.g. "Unmute microphone".
 * @param {string} [releasedTitle]  Tooltip while not pressed; the aria-label when not given.
 */
export function setPressed(button, pressed, pressedTitle, releasedTitle) {
  button.setAttribute("aria-pressed", String(pressed));
  button.title = pressed ? pressedTitle : (releasedTitle ?? button.getAttribute("aria-label") ?? "");
}

/**
 * Show `stream` in a muted, mirrored local video, or a placeholder with the
 * person's initials when it has no video track.
 * @param {HTMLVideoElement} video
 * @param {HTMLElement} placeholder
 * @param {MediaStream} stream
 */
export function showLocalVideo(video, placeholder, stream) {
  const hasVideo = stream.getVideoTracks().length > 0;
  placeholder.hidden = hasVideo;
  if (!hasVideo) {
    video.srcObject = null;
    return;
  }
  video.muted = true;
  if (video.srcObject !== stream) video.srcObject = stream;
  video.play().catch(() => {}); // muted autoplay is always allowed; a reload race is harmless
}

/**
 * The in-call screen: remote video with initials in its place, own picture-in-picture,
 * status line, and the call's mode (audio only, phone) over the stage.
 */
export class CallView {
  status = byId("status");
  remoteVideo = /** @type {HTMLVideoElement} */ (byId("remote-video"));
  localVideo = /** @type {HTMLVideoElement} */ (byId("local-video"));
  #remotePlaceholder = byId("remote-placeholder");
  #localPlaceholder = byId("local-placeholder");
  #startAudio = byId("start-audio");
  #notice = byId("call-notice");
  #remoteLive = false;
  /** @type {CallMode} */
  #mode = "video";
  /** Video just came back: the picture on screen is the last one from before, until a new frame. */
  #staleFrame = false;
  /** @type {number | undefined} */
  #toastTimer = undefined;

  constructor() {
    for (const type of ["loadeddata", "resize", "emptied"]) {
      this.remoteVideo.addEventListener(type, () => this.#updateRemotePlaceholder());
    }
    this.#startAudio.addEventListener("click", () => {
      this.#startAudio.hidden = true;
      this.#play();
    });
  }

  /**
   * @param {string} state  Also set as `data-state` (the dot's colour).
   * @param {string} text
   */
  setStatus(state, text) {
    this.status.dataset.state = state;
    this.status.textContent = text;
  }

  /** @param {{you: string, peer: string}} names */
  setNames({ you, peer }) {
    byId("remote-initials").textContent = initials(peer);
    byId("remote-placeholder-name").textContent = peer;
    byId("remote-name").textContent = peer;
    byId("local-initials").textContent = initials(you);
  }

  /**
   * The other person's media, or `null` when there is no call.
   * @param {MediaStream | null} stream
   */
  setRemoteStream(stream) {
    this.#staleFrame = false;
    if (stream === null) {
      this.#remoteLive = false;
      this.#startAudio.hidden = true;
      this.remoteVideo.srcObject = null;
      this.#updateRemotePlaceholder();
      return;
    }
    this.remoteVideo.srcObject = stream;
    this.#play();
  }

  /**
   * Whether the other camera sends (its remote track is not muted).
   * @param {boolean} live
   */
  setRemoteVideoLive(live) {
    this.#remoteLive = live;
    this.#updateRemotePlaceholder();
  }

  /**
   * Show the call's mode. Out of video the stage shows the other person's initials and
   * name (never a frozen frame), what happened in words (`#mode-notice`) and, on the
   * phone, the backup plan with its numbers.
   * @param {CallMode} mode
   * @param {object} details
   * @param {string | null} details.reason  The server's words; `null` for a mode found on joining.
   * @param {BackupPlan | null} details.backup
   * @param {string} details.peer  The other person's name.
   */
  setMode(mode, { reason, backup, peer }) {
    if (mode === "video" && this.#mode !== "video") this.#awaitFreshFrame();
    this.#mode = mode;
    byId("view-call").dataset.mode = mode;
    const panel = byId("mode-panel");
    panel.hidden = mode === "video";
    if (mode !== "video") {
      byId("mode-label").textContent = modeLabels[mode];
      byId("mode-notice").textContent = reason ?? modeNotices[mode];
    }
    this.setBackup(backup, peer);
    this.#updateRemotePlaceholder();
  }

  /**
   * The numbers to call (`#call-backup`), shown while the call is on the phone.
   * @param {BackupPlan | null} backup
   * @param {string} peer  The other person's name.
   */
  setBackup(backup, peer) {
    const plan = byId("call-backup");
    plan.hidden = this.#mode !== "phone" || backup === null;
    if (this.#mode === "phone" && backup) renderBackupPlan(plan, backup, peer, "");
  }

  /**
   * Play the other person's sound, or mute it (I am talking to them by phone: no double audio).
   * @param {boolean} on
   */
  setRemoteAudio(on) {
    this.remoteVideo.muted = !on;
  }

  /** @param {MediaStream} stream */
  setLocalStream(stream) {
    showLocalVideo(this.localVideo, this.#localPlaceholder, stream);
  }

  /**
   * The call is over for this tab: cover the stage with the reason and, when
   * there is a way back in, a button (`#call-retry`). `null` uncovers it.
   * @param {string | null} text
   * @param {string | null} [action]  The button's label, or `null` for none.
   */
  setEnded(text, action = null) {
    byId("view-call").classList.toggle("ended", text !== null);
    this.#notice.hidden = text === null;
    byId("call-notice-text").textContent = text ?? "";
    const retry = byId("call-retry");
    retry.hidden = action === null;
    retry.textContent = action ?? "";
  }

  /**
   * Show a short message over the stage for `durationMs` (a camera that failed to start).
   * @param {string} text
   * @param {number} durationMs
   */
  flash(text, durationMs) {
    const toast = byId("toast");
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(this.#toastTimer);
    this.#toastTimer = window.setTimeout(() => {
      toast.hidden = true;
    }, durationMs);
  }

  #play() {
    this.remoteVideo.play().catch((error) => {
      // Autoplay with sound needs a user gesture in some browsers: ask for one.
      if (error?.name === "NotAllowedError") this.#startAudio.hidden = false;
    });
  }

  /** Keep the initials up until the other camera's first new frame is on screen. */
  #awaitFreshFrame() {
    const video = this.remoteVideo;
    if (typeof video.requestVideoFrameCallback !== "function") return; // the mute/unmute events must do
    this.#staleFrame = true;
    video.requestVideoFrameCallback(() => {
      this.#staleFrame = false;
      this.#updateRemotePlaceholder();
    });
  }

  #updateRemotePlaceholder() {
    const showing =
      this.#mode === "video" &&
      !this.#staleFrame &&
      this.#remoteLive &&
      this.remoteVideo.videoWidth > 0 &&
      this.remoteVideo.srcObject !== null;
    this.#remotePlaceholder.hidden = showing;
  }
}
