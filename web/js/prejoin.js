// The pre-join screen: who the session is with, a camera preview, a microphone
// level meter, device pickers, camera and microphone switches, a connection
// test, "our backup plan" (the phone numbers to use if the internet fails), and
// Join. On the check page (`/s/{room}/check`) the same screen without joining:
// its button goes to the session instead.

import { readBackupPlan, renderBackupPlan } from "./backup.js";
import { LevelMeter } from "./meter.js";
import { PrecallPanel } from "./precallpanel.js";
import { joinPath } from "./preview.js";
import { initials, joinHint, startsAt } from "./texts.js";
import { byId, setPressed, showLocalVideo, showView } from "./ui.js";

/** @typedef {import("./media.js").LocalMedia} LocalMedia */
/** @typedef {import("./preview.js").Preview} Preview */
/** @typedef {import("./preview.js").JoinLink} JoinLink */
/** @typedef {"audio" | "video"} Kind */

/** @type {Readonly<Record<Kind, {select: string, none: string, unnamed: string}>>} */
const PICKERS = Object.freeze({
  video: { select: "camera-select", none: "No camera available", unnamed: "Camera" },
  audio: { select: "mic-select", none: "No microphone available", unnamed: "Microphone" },
});

/** Runs the pre-join screen until the person clicks Join. */
export class PreJoin {
  #media;
  #link;
  #peerName;
  #meter = new LevelMeter(byId("mic-meter"));
  #video = /** @type {HTMLVideoElement} */ (byId("preview-video"));
  #placeholder = byId("preview-placeholder");
  #muteButton = byId("prejoin-mute");
  #cameraButton = byId("prejoin-camera");
  #join = /** @type {HTMLButtonElement} */ (byId("join"));
  /** @type {MediaStreamTrack | null} */
  #metered = null;
  /** @type {AbortController} */
  #listening = new AbortController();

  /**
   * @param {LocalMedia} media
   * @param {Preview} preview
   * @param {JoinLink} link  `link.check`: the check page, which tests but does not join.
   */
  constructor(media, preview, link) {
    this.#media = media;
    this.#link = link;
    this.#peerName = preview.peer.name;
    byId("prejoin-room-title").textContent = preview.room.title;
    byId("prejoin-heading").textContent = link.check
      ? `Check your set-up for your session with ${preview.peer.name}`
      : `Your session with ${preview.peer.name}`;
    byId("prejoin-you").textContent = preview.you.name;
    byId("preview-initials").textContent = initials(preview.you.name);
    const start = preview.room.starts_at ? new Date(preview.room.starts_at) : null;
    if (start && !Number.isNaN(start.getTime()) && start.getTime() > Date.now()) {
      byId("prejoin-when-text").textContent = startsAt(start, new Date());
      byId("prejoin-when").hidden = false;
    }
    const plan = readBackupPlan(preview.backup);
    if (plan) renderBackupPlan(byId("backup-plan-text"), plan, preview.peer.name);
    byId("backup-plan").hidden = plan === null;
  }

  /**
   * Show the screen, start the camera and microphone, resolve on Join (on the
   * check page, its button opens the session's page instead, so it never resolves).
   * @returns {Promise<void>}
   */
  async run() {
    const signal = this.#listening.signal;
    showView("prejoin");
    new PrecallPanel(this.#link, this.#media, signal);
    this.#render();
    this.#media.addEventListener("change", () => this.#render(), { signal });
    this.#media.addEventListener("devices", () => this.#fillPickers(), { signal });
    this.#muteButton.addEventListener("click", () => this.#toggleMic(), { signal });
    this.#cameraButton.addEventListener("click", () => this.#toggleCamera(), { signal });
    for (const kind of /** @type {Kind[]} */ (["audio", "video"])) {
      const select = /** @type {HTMLSelectElement} */ (byId(PICKERS[kind].select));
      select.addEventListener("change", () => this.#pick(kind, select.value), { signal });
    }
    const joined = new Promise((resolve) => {
      this.#join.addEventListener("click", resolve, { signal, once: true });
    });
    this.#join.disabled = true;
    this.#join.textContent = "Getting your devices ready…";
    await this.#media.start();
    this.#join.disabled = false;
    this.#join.textContent = this.#link.check ? "Go to the session" : "Join now";
    if (this.#link.check) {
      joined.then(() => window.location.assign(joinPath(this.#link)));
      await this.#fillPickers();
      return new Promise(() => {}); // the check page stays until the person leaves it
    }
    await this.#fillPickers();
    await joined;
    this.#listening.abort();
    this.#meter.detach();
    this.#metered = null;
    this.#video.srcObject = null;
  }

  async #toggleMic() {
    await this.#media.setMic(!this.#media.micOn);
    this.#render();
  }

  async #toggleCamera() {
    await this.#media.setCamera(!this.#media.cameraOn);
    this.#render();
  }

  /**
   * @param {Kind} kind
   * @param {string} deviceId
   */
  async #pick(kind, deviceId) {
    await this.#media.setDevice(kind, deviceId || null);
    await this.#fillPickers(); // labels appear once a first device was allowed
  }

  #render() {
    const media = this.#media;
    showLocalVideo(this.#video, this.#placeholder, media.stream);
    byId("preview-placeholder-text").textContent = media.cameraOn
      ? media.problems.video
        ? "Camera unavailable"
        : "Starting camera…"
      : "Your camera is off";
    setPressed(this.#muteButton, !media.micOn, "Unmute microphone");
    setPressed(this.#cameraButton, !media.cameraOn, "Turn camera on");
    const audio = media.track("audio");
    const metered = audio && media.micOn ? audio : null;
    if (metered !== this.#metered) this.#meter.attach(metered);
    this.#metered = metered;
    byId("mic-meter-label").textContent = !audio
      ? "No microphone"
      : media.micOn
        ? "Speak to test your mic"
        : "Your microphone is muted";
    const problems = byId("media-problems");
    problems.replaceChildren(
      ...[media.problems.video, media.problems.audio]
        .filter((text) => text !== null)
        .map((text) => Object.assign(document.createElement("li"), { textContent: text })),
    );
    const hint = joinHint(
      { camera: media.problems.video !== null, microphone: media.problems.audio !== null },
      this.#peerName,
    );
    byId("join-hint").textContent = hint ?? "";
    byId("join-hint").hidden = hint === null;
  }

  async #fillPickers() {
    const devices = await this.#media.devices();
    for (const kind of /** @type {Kind[]} */ (["audio", "video"])) {
      const { select: id, none, unnamed } = PICKERS[kind];
      const select = /** @type {HTMLSelectElement} */ (byId(id));
      const current = this.#media.currentDeviceId(kind);
      const options = devices[kind].map((device, index) => {
        const option = new Option(device.label || `${unnamed} ${index + 1}`, device.deviceId);
        option.selected = device.deviceId === current;
        return option;
      });
      if (options.length === 0) options.push(new Option(none, ""));
      select.replaceChildren(...options);
      select.disabled = devices[kind].length === 0;
    }
  }
}
