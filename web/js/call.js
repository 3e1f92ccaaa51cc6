// One RTCPeerConnection with the other participant, negotiated with the
// perfect-negotiation pattern (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example).
//
// A `Call` lives for one pairing: docs/protocol.md says a fresh peer connection
// starts each time the other participant (re)joins, so the page makes a new
// `Call` on `peer-joined` (as the offerer) or on a `welcome` that finds the
// other participant present (as the answerer), and closes it on `peer-left`.
//
// The page always negotiates one audio and one video transceiver. Switching a
// device is `replaceTrack` (no renegotiation); turning the camera off or on
// flips the video transceiver between `recvonly` and `sendrecv`, which
// renegotiates and mutes/unmutes the other side's remote track, so the other
// page knows to show initials instead of a frozen frame.
//
// The call's audio-only and phone modes are different: both pages switch at the
// same moment, so renegotiating would make both offer at once, every time. On
// that glare the polite side rolls its offer back, and Chromium then leaves the
// remote video track muted for good even when video comes back (w3c/webrtc-pc
// issue 3081). So a mode only takes the camera track off the sender
// (`replaceTrack(null)`: nothing is sent) and puts it back; the transceiver stays
// `sendrecv` and nothing is renegotiated. Both pages know the mode from the server.

import { candidateToWire } from "./protocol.js";

/** @typedef {import("./protocol.js").DescriptionFrame} DescriptionFrame */
/** @typedef {import("./protocol.js").CandidateFrame} CandidateFrame */
/** @typedef {"audio" | "video"} Kind */

/**
 * What a call needs from the local media: the track to send for each kind, or
 * `null` when there is none (no device, permission refused, camera turned off,
 * or held back by the call's mode: `held`).
 * @typedef {object} LocalTracks
 * @property {(kind: Kind) => MediaStreamTrack | null} trackToSend
 * @property {(kind: Kind) => boolean} held  Switched on, but held back by the call's mode.
 * @property {MediaStream} stream
 */

/**
 * The call's connection state, in the words the page shows.
 * @typedef {"connecting" | "connected" | "reconnecting" | "closed"} CallState
 */

/**
 * The `a=ice-ufrag` of a session description (its ICE credentials' name); `null` without one.
 * @param {string | undefined} sdp
 */
function iceUfrag(sdp) {
  return sdp ? (/^a=ice-ufrag:(\S+)/mu.exec(sdp)?.[1] ?? null) : null;
}

/**
 * After this long in ICE `disconnected`, restart ICE instead of waiting for
 * `failed` (Chromium takes about 30 s to give up on a dead candidate pair).
 * Each restart gathers again and renegotiates through perfect negotiation.
 */
const DISCONNECTED_RESTART_MS = 2000;

/** @type {readonly Kind[]} */
const KINDS = Object.freeze(["audio", "video"]);

/**
 * One peer connection. Events: `state` (detail {@link CallState}, fired only on a
 * change), `remote-stream` (detail `MediaStream`, fired when its tracks change),
 * `remote-video` (detail `{live: boolean}`: whether the other camera sends).
 */
export class Call extends EventTarget {
  /** @type {RTCPeerConnection} */
  #pc;
  #polite;
  #send;
  #local;
  #makingOffer = false;
  #ignoreOffer = false;
  #settingRemoteAnswerPending = false;
  /** Candidates gathered before our first description went out (the server refuses them). */
  /** @type {(RTCIceCandidateInit | null)[] | null} */
  #heldCandidates = [];
  /** @type {Partial<Record<Kind, RTCRtpTransceiver>>} */
  #transceivers = {};
  #remoteStream = new MediaStream();
  /** @type {CallState} */
  #state = "connecting";
  /** @type {number | undefined} */
  #restartTimer = undefined;

  /**
   * @param {object} options
   * @param {(frame: object) => void} options.send  Sends a frame to the signaling server.
   * @param {boolean} options.polite      From `welcome.polite`: yield on glare.
   * @param {RTCIceServer[]} options.iceServers  From `welcome.iceServers`, unchanged.
   * @param {LocalTracks} options.local
   */
  constructor({ send, polite, iceServers, local }) {
    super();
    this.#send = send;
    this.#polite = polite;
    this.#local = local;
    this.#pc = new RTCPeerConnection({ iceServers });
    const pc = this.#pc;
    pc.addEventListener("negotiationneeded", () => this.#onNegotiationNeeded());
    pc.addEventListener("icecandidate", (event) => this.#onLocalCandidate(event.candidate));
    pc.addEventListener("track", (event) => this.#onTrack(event.track));
    if (/** @type {any} */ (pc).connectionState !== undefined) {
      pc.addEventListener("connectionstatechange", () => this.#onConnectionState(pc.connectionState));
    } else {
      pc.addEventListener("iceconnectionstatechange", () => this.#onConnectionState(pc.iceConnectionState));
    }
  }

  /**
   * Fresh ICE servers (new TURN credentials, from `ice-servers` or a resumed
   * `welcome`): the running connection keeps its relay, the next ICE restart
   * gathers with these.
   * @param {RTCIceServer[]} iceServers
   */
  setIceServers(iceServers) {
    if (this.#pc.signalingState === "closed") return;
    try {
      this.#pc.setConfiguration({ ...this.#pc.getConfiguration(), iceServers });
    } catch (error) {
      console.warn("duet: could not take the new ICE servers", error); // the old ones stay in use
    }
  }

  /** The underlying peer connection (for the test hook and debugging). */
  get pc() {
    return this.#pc;
  }

  /** @returns {CallState} */
  get state() {
    return this.#state;
  }

  /** Whether my camera's picture goes out: a live track on a video transceiver that sends. */
  get sendingVideo() {
    const transceiver = this.#transceivers.video;
    const track = transceiver?.sender.track;
    const sends = transceiver?.direction === "sendrecv" || transceiver?.direction === "sendonly";
    return Boolean(track && track.readyState === "live" && sends);
  }

  /**
   * Offer: add the audio and video transceivers; `negotiationneeded` sends the offer.
   * The answerer never calls this: it waits for the other side's offer.
   */
  startOffer() {
    for (const kind of KINDS) {
      const track = this.#local.trackToSend(kind);
      this.#transceivers[kind] = this.#pc.addTransceiver(track ?? kind, {
        direction: this.#direction(kind, track),
        streams: [this.#local.stream],
      });
    }
  }

  /**
   * An `offer` or `answer` frame from the other participant.
   * @param {DescriptionFrame} frame
   */
  async handleDescription({ type, sdp }) {
    const pc = this.#pc;
    try {
      const readyForOffer =
        !this.#makingOffer && (pc.signalingState === "stable" || this.#settingRemoteAnswerPending);
      const collision = type === "offer" && !readyForOffer;
      this.#ignoreOffer = !this.#polite && collision;
      if (this.#ignoreOffer) return;
      // The other side restarted ICE (new credentials): answering restarts ours too.
      const restarted = type === "offer" && iceUfrag(sdp) !== iceUfrag(pc.remoteDescription?.sdp);
      this.#settingRemoteAnswerPending = type === "answer";
      await pc.setRemoteDescription({ type, sdp }); // rolls back our own offer on glare
      this.#settingRemoteAnswerPending = false;
      if (type === "offer") {
        this.#adoptOfferedTransceivers();
        await pc.setLocalDescription();
        this.#sendDescription();
        if (restarted) {
          // Our own restart, still pending from `disconnected`, would only be a second one.
          clearTimeout(this.#restartTimer);
          this.#restartTimer = undefined;
        }
      }
    } catch (error) {
      if (pc.signalingState !== "closed") console.error("duet: negotiation failed", error);
    }
  }

  /**
   * A `candidate` frame from the other participant (`null` = end of candidates).
   * @param {CandidateFrame} frame
   */
  async handleCandidate({ candidate }) {
    try {
      if (candidate === null) {
        await this.#pc.addIceCandidate();
      } else {
        await this.#pc.addIceCandidate(candidate);
      }
    } catch (error) {
      // A candidate for an offer we ignored on glare fails by design; an
      // end-of-candidates marker is optional and older browsers reject it.
      if (!this.#ignoreOffer && candidate !== null && this.#pc.signalingState !== "closed") {
        console.warn("duet: could not add a remote candidate", error);
      }
    }
  }

  /**
   * The local track of `kind` changed (device switched, camera turned off/on).
   * @param {Kind} kind
   */
  async updateTrack(kind) {
    const transceiver = this.#transceivers[kind];
    if (!transceiver || this.#pc.signalingState === "closed") return; // the answer will pick it up
    const track = this.#local.trackToSend(kind);
    try {
      await transceiver.sender.replaceTrack(track);
    } catch (error) {
      console.warn(`duet: could not switch the ${kind} track`, error);
    }
    const direction = this.#direction(kind, track);
    if (transceiver.direction !== direction && transceiver.currentDirection !== "stopped") {
      transceiver.direction = direction; // fires negotiationneeded
    }
  }

  /** Close the peer connection; no events follow. */
  close() {
    clearTimeout(this.#restartTimer);
    this.#state = "closed";
    this.#pc.close();
    for (const track of this.#remoteStream.getTracks()) track.stop();
  }

  async #onNegotiationNeeded() {
    // The answerer waits for the first offer (docs/protocol.md, "Who offers").
    if (!this.#transceivers.audio && !this.#transceivers.video) return;
    try {
      this.#makingOffer = true;
      await this.#pc.setLocalDescription();
      this.#sendDescription();
    } catch (error) {
      if (this.#pc.signalingState !== "closed") console.error("duet: could not make an offer", error);
    } finally {
      this.#makingOffer = false;
    }
  }

  #sendDescription() {
    const description = this.#pc.localDescription;
    if (!description || (description.type !== "offer" && description.type !== "answer")) return;
    this.#send({ type: description.type, sdp: description.sdp });
    const held = this.#heldCandidates;
    this.#heldCandidates = null;
    for (const candidate of held ?? []) this.#send({ type: "candidate", candidate });
  }

  /** @param {RTCIceCandidate | null} candidate */
  #onLocalCandidate(candidate) {
    const wire = candidateToWire(candidate);
    if (this.#heldCandidates) {
      this.#heldCandidates.push(wire);
    } else {
      this.#send({ type: "candidate", candidate: wire });
    }
  }

  /** After the first remote offer: send our tracks on the transceivers it created. */
  #adoptOfferedTransceivers() {
    for (const kind of KINDS) {
      if (this.#transceivers[kind]) continue;
      const transceiver = this.#pc
        .getTransceivers()
        .find((t) => t.currentDirection !== "stopped" && t.mid !== null && t.receiver.track.kind === kind);
      if (!transceiver) continue; // the offer has no such section (an audio-only peer)
      this.#transceivers[kind] = transceiver;
      const track = this.#local.trackToSend(kind);
      transceiver.direction = this.#direction(kind, track);
      transceiver.sender.replaceTrack(track).catch((error) => {
        console.warn(`duet: could not attach the ${kind} track`, error);
      });
    }
  }

  /**
   * `sendrecv` while there is a track to send, or one the call's mode holds back; else `recvonly`.
   * @param {Kind} kind
   * @param {MediaStreamTrack | null} track
   * @returns {RTCRtpTransceiverDirection}
   */
  #direction(kind, track) {
    return track || this.#local.held(kind) ? "sendrecv" : "recvonly";
  }

  /** @param {MediaStreamTrack} track */
  #onTrack(track) {
    // `track` fires again for a known track when the other side resumes sending.
    if (this.#remoteStream.getTracks().includes(track)) return;
    // A new MediaStream object makes the video element reload with every track.
    this.#remoteStream = new MediaStream([...this.#remoteStream.getTracks(), track]);
    this.dispatchEvent(new CustomEvent("remote-stream", { detail: this.#remoteStream }));
    if (track.kind !== "video") return;
    const report = () => {
      if (this.#state !== "closed") {
        this.dispatchEvent(new CustomEvent("remote-video", { detail: { live: !track.muted } }));
      }
    };
    track.addEventListener("mute", report);
    track.addEventListener("unmute", report);
    track.addEventListener("ended", report);
    report();
  }

  /** @param {string} state  `connectionState` or, in older browsers, `iceConnectionState`. */
  #onConnectionState(state) {
    clearTimeout(this.#restartTimer);
    switch (state) {
      case "new":
      case "checking":
      case "connecting":
        return this.#setState(this.#state === "connected" ? "reconnecting" : "connecting");
      case "connected":
      case "completed":
        return this.#setState("connected");
      case "disconnected":
        // Restart 2 s into `disconnected` (Chromium 156 says so 5.6-6.0 s into a total outage,
        // tests/e2e/test_browser_path_outage.py), and again on `failed`.
        this.#restartTimer = window.setTimeout(() => this.#restartIce(), DISCONNECTED_RESTART_MS);
        return this.#setState("reconnecting");
      case "failed":
        this.#restartIce();
        return this.#setState("reconnecting");
      default:
        return undefined; // "closed": close() already said so
    }
  }

  /**
   * Signaling is back after a drop and the pairing resumed. Frames sent while the
   * socket was down are lost, so a connection that is not up restarts ICE: an
   * offer left without an answer is rolled back, and `negotiationneeded` offers anew.
   */
  async recover() {
    const pc = this.#pc;
    if (this.#state === "connected" || pc.signalingState === "closed") return;
    try {
      if (pc.signalingState === "have-local-offer") await pc.setLocalDescription({ type: "rollback" });
    } catch (error) {
      console.warn("duet: could not roll back an unanswered offer", error);
    }
    this.#restartIce();
  }

  /** Whether the peer connection is worth keeping across a signaling reconnect. */
  get alive() {
    const pc = this.#pc;
    return (
      pc.remoteDescription !== null &&
      ["connecting", "connected", "disconnected"].includes(pc.connectionState ?? pc.iceConnectionState)
    );
  }

  #restartIce() {
    if (this.#pc.signalingState !== "closed") this.#pc.restartIce();
  }

  /** @param {CallState} state */
  #setState(state) {
    if (state === this.#state || this.#state === "closed") return;
    this.#state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }
}
