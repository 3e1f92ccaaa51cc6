// The person's own camera and microphone: acquiring them, the reasons they
// fail (in words), device choice and the camera/microphone switches.
//
// Failures are per kind: a refused camera does not stop the microphone, so the
// person can still join with what works (audio only, or even nothing).

import { mediaProblem } from "./texts.js";

/** @typedef {"audio" | "video"} Kind */

/** @type {Readonly<Record<Kind, MediaDeviceKind>>} */
const DEVICE_KIND = Object.freeze({ audio: "audioinput", video: "videoinput" });

/**
 * 720p at up to 30 fps is what a one-to-one call can use; the browser scales
 * down on its own when the network cannot carry it.
 * @type {MediaTrackConstraints}
 */
const VIDEO_CONSTRAINTS = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 30, max: 30 },
};

/** @type {MediaTrackConstraints} */
const AUDIO_CONSTRAINTS = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/**
 * Local camera and microphone. Events: `change` (detail `{kind}`: a track came,
 * went or was replaced; read {@link LocalMedia#stream}), `devices` (the list of
 * devices changed).
 */
export class LocalMedia extends EventTarget {
  /** @type {Record<Kind, MediaStreamTrack | null>} */
  #tracks = { audio: null, video: null };
  /** The device the person picked, `null` for the browser's default. */
  /** @type {Record<Kind, string | null>} */
  deviceIds = { audio: null, video: null };
  /** Why each kind is unavailable, in words (`null` when it works or is off on purpose). */
  /** @type {Record<Kind, string | null>} */
  problems = { audio: null, video: null };
  /** The person's switches: the microphone unmuted, the camera on. */
  micOn = true;
  cameraOn = true;
  /**
   * What the call's mode allows, whatever the switches say (docs/protocol.md, "Fallback"):
   * no camera in audio-only and phone, no microphone in phone.
   * @type {Record<Kind, boolean>}
   */
  #allowed = { audio: true, video: true };
  #stream = new MediaStream();
  #devicesWatched = false;

  /** A stream holding the current tracks; a new object whenever they change. */
  get stream() {
    return this.#stream;
  }

  /**
   * The live track of `kind`, if any (the microphone's may be muted, see `micOn`).
   * @param {Kind} kind
   */
  track(kind) {
    return this.#tracks[kind];
  }

  /**
   * What a call should send: the microphone even when muted (it sends silence,
   * so unmuting is instant), the camera only when it is on.
   * @param {Kind} kind
   */
  trackToSend(kind) {
    return this.#tracks[kind];
  }

  /** Acquire what the switches ask for, asking for both at once (one permission prompt). */
  async start() {
    this.#watchDevices();
    if (!navigator.mediaDevices?.getUserMedia) {
      this.problems = { audio: mediaProblem("audio", "Unsupported"), video: mediaProblem("video", "Unsupported") };
      return;
    }
    /** @type {Kind[]} */
    const wanted = ["audio"];
    if (this.#wantsCamera) wanted.push("video");
    const missing = wanted.filter((kind) => this.#tracks[kind] === null);
    if (missing.length === 2) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({
          audio: this.#constraints("audio"),
          video: this.#constraints("video"),
        });
        for (const track of stream.getTracks()) this.#adopt(/** @type {Kind} */ (track.kind), track);
        return;
      } catch {
        // One of the two may still work (a blocked camera, a missing microphone): try each.
      }
    }
    for (const kind of missing) await this.#acquire(kind);
  }

  /**
   * Use another device for `kind`; the old track stops first (a phone cannot
   * open two cameras).
   * @param {Kind} kind
   * @param {string | null} deviceId
   */
  async setDevice(kind, deviceId) {
    this.deviceIds[kind] = deviceId;
    if (kind === "video" && !this.#wantsCamera) return;
    this.#drop(kind);
    await this.#acquire(kind);
  }

  /**
   * Turn the camera on or off. Off stops the track, so the camera light goes out.
   * @param {boolean} on
   */
  async setCamera(on) {
    this.cameraOn = on;
    if (!on) this.problems.video = null;
    await this.#followCamera();
  }

  /**
   * Mute or unmute the microphone. Unmuting a microphone that failed tries again.
   * @param {boolean} on
   */
  async setMic(on) {
    this.micOn = on;
    const track = this.#tracks.audio;
    if (track) {
      track.enabled = on && this.#allowed.audio;
    } else if (on) {
      await this.#acquire("audio");
    }
  }

  /**
   * Follow the call's mode. A camera the call does not allow is released (its light goes out)
   * and comes back when allowed again, if the person's own switch is still on; a microphone
   * the call does not allow stays open but sends silence (`enabled = false`).
   * @param {{camera: boolean, mic: boolean}} allowed
   */
  async allow({ camera, mic }) {
    this.#allowed = { audio: mic, video: camera };
    const audio = this.#tracks.audio;
    if (audio) audio.enabled = this.micOn && mic;
    await this.#followCamera();
  }

  /**
   * Whether the call's mode holds `kind` back while the person has it switched on (the
   * camera in audio-only and phone). A held camera keeps its transceiver able to send, so
   * video comes back without a renegotiation (see call.js).
   * @param {Kind} kind
   */
  held(kind) {
    return kind === "video" && this.cameraOn && !this.#allowed.video && this.problems.video === null;
  }

  /** Whether the microphone's sound goes out (switched on, and allowed by the call). */
  get micLive() {
    return this.micOn && this.#allowed.audio;
  }

  /** The camera is wanted: switched on by the person and allowed by the call. */
  get #wantsCamera() {
    return this.cameraOn && this.#allowed.video;
  }

  /** Start or release the camera to match the switch and the call's mode. */
  async #followCamera() {
    if (!this.#wantsCamera) {
      this.#drop("video");
    } else if (this.#tracks.video === null) {
      await this.#acquire("video");
    }
  }

  /**
   * Cameras and microphones, with labels once permission was given.
   * @returns {Promise<Record<Kind, MediaDeviceInfo[]>>}
   */
  async devices() {
    /** @type {Record<Kind, MediaDeviceInfo[]>} */
    const found = { audio: [], video: [] };
    if (!navigator.mediaDevices?.enumerateDevices) return found;
    for (const device of await navigator.mediaDevices.enumerateDevices()) {
      for (const kind of /** @type {Kind[]} */ (["audio", "video"])) {
        if (device.kind === DEVICE_KIND[kind] && device.deviceId) found[kind].push(device);
      }
    }
    return found;
  }

  /**
   * The device a live track actually uses (the browser's pick when none was chosen).
   * @param {Kind} kind
   */
  currentDeviceId(kind) {
    return this.#tracks[kind]?.getSettings().deviceId ?? this.deviceIds[kind];
  }

  /** Release the camera and microphone. */
  stop() {
    this.#drop("audio");
    this.#drop("video");
  }

  /**
   * @param {Kind} kind
   * @returns {Promise<void>}
   */
  async #acquire(kind) {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ [kind]: this.#constraints(kind) });
    } catch (error) {
      const name = /** @type {Error} */ (error).name;
      if (this.deviceIds[kind] !== null && (name === "OverconstrainedError" || name === "NotFoundError")) {
        this.deviceIds[kind] = null; // the chosen device is gone: fall back to the default one
        return this.#acquire(kind);
      }
      this.problems[kind] = mediaProblem(kind, name);
      this.#emitChange(kind);
      return;
    }
    const [track] = stream.getTracks();
    if (kind === "video" && !this.#wantsCamera) {
      track.stop(); // turned off (or the call went audio-only) while the camera was starting
      return;
    }
    this.#drop(kind);
    this.#adopt(kind, track);
  }

  /**
   * @param {Kind} kind
   * @param {MediaStreamTrack} track
   */
  #adopt(kind, track) {
    this.#tracks[kind] = track;
    this.problems[kind] = null;
    if (kind === "audio") track.enabled = this.micOn && this.#allowed.audio;
    track.addEventListener("ended", () => {
      if (this.#tracks[kind] !== track) return;
      this.#tracks[kind] = null; // unplugged, or revoked by the browser
      this.problems[kind] = mediaProblem(kind, "Ended");
      this.#emitChange(kind);
    });
    this.#emitChange(kind);
  }

  /** @param {Kind} kind */
  #drop(kind) {
    const track = this.#tracks[kind];
    if (!track) return;
    this.#tracks[kind] = null;
    track.stop();
    this.#emitChange(kind);
  }

  /**
   * @param {Kind} kind
   * @returns {MediaTrackConstraints}
   */
  #constraints(kind) {
    const base = kind === "video" ? VIDEO_CONSTRAINTS : AUDIO_CONSTRAINTS;
    const deviceId = this.deviceIds[kind];
    if (deviceId) return { ...base, deviceId: { exact: deviceId } };
    return kind === "video" ? { ...base, facingMode: "user" } : { ...base };
  }

  /** @param {Kind} kind */
  #emitChange(kind) {
    const tracks = [this.#tracks.audio, this.#tracks.video].filter((t) => t !== null);
    this.#stream = new MediaStream(/** @type {MediaStreamTrack[]} */ (tracks));
    this.dispatchEvent(new CustomEvent("change", { detail: { kind } }));
  }

  #watchDevices() {
    if (this.#devicesWatched || !navigator.mediaDevices) return;
    this.#devicesWatched = true;
    navigator.mediaDevices.addEventListener("devicechange", () => {
      this.dispatchEvent(new Event("devices"));
    });
  }
}
