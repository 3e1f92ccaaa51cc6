// The in-call controller: joins over signaling, makes a fresh `Call` for each
// pairing as docs/protocol.md says, and keeps the status line and the test
// hook (`window.duet`) in step.

import { Call } from "./call.js";
import { SignalingClient } from "./signaling.js";
import * as texts from "./texts.js";
import { byId, CallView, setPressed, showView } from "./ui.js";

/** @typedef {import("./media.js").LocalMedia} LocalMedia */
/** @typedef {import("./preview.js").JoinLink} JoinLink */
/** @typedef {import("./preview.js").Preview} Preview */
/** @typedef {import("./protocol.js").Welcome} Welcome */

/**
 * Where the session is. `joining`: the socket opens; `waiting`: joined, the other
 * person is not there; `connecting`/`connected`/`reconnecting`: the peer
 * connection's state; `peer-left`: the other person left; `ended`: the server
 * closed the socket for good; `left`: this person hung up.
 * @typedef {"joining" | "waiting" | "connecting" | "connected" | "reconnecting" | "peer-left"
 *   | "ended" | "left"} SessionState
 */

/**
 * What the page exposes for tests and debugging: never the token.
 * @typedef {object} TestHook
 * @property {string} state
 * @property {RTCPeerConnection | null} pc
 */

/** How long a media problem stays on screen during a call, in milliseconds. */
const PROBLEM_NOTICE_MS = 6000;

/** One person's presence in the room, across hang-ups and rejoins. */
export class Session {
  #link;
  #media;
  #hook;
  #view = new CallView();
  /** @type {SignalingClient | null} */
  #signaling = null;
  /** @type {Call | null} */
  #call = null;
  /** @type {Welcome | null} */
  #welcome = null;
  #peerName;
  #youName;
  /** @type {SessionState} */
  #state = "joining";

  /**
   * @param {object} options
   * @param {JoinLink} options.link
   * @param {Preview} options.preview
   * @param {LocalMedia} options.media
   * @param {TestHook} options.hook
   */
  constructor({ link, preview, media, hook }) {
    this.#link = link;
    this.#media = media;
    this.#hook = hook;
    this.#peerName = preview.peer.name;
    this.#youName = preview.you.name;
    media.addEventListener("change", (event) => this.#onMediaChange(/** @type {CustomEvent} */ (event)));
    byId("mute").addEventListener("click", () => this.#toggleMic());
    byId("camera").addEventListener("click", () => this.#toggleCamera());
    byId("hangup").addEventListener("click", () => this.hangUp());
    byId("rejoin").addEventListener("click", () => this.rejoin());
    byId("call-retry").addEventListener("click", () => this.rejoin());
  }

  /** Enter the call screen and join the room. */
  join() {
    showView("call");
    this.#view.setNames({ you: this.#youName, peer: this.#peerName });
    this.#view.setEnded(null);
    this.#renderLocal();
    this.#setState("joining");
    const signaling = new SignalingClient({
      url: SignalingClient.urlFor(window.location, this.#link.roomId),
      token: this.#link.token,
    });
    this.#signaling = signaling;
    /** @type {Record<string, (detail: any) => void>} */
    const handlers = {
      welcome: (frame) => this.#onWelcome(frame),
      "peer-joined": (frame) => this.#onPeerJoined(frame),
      "peer-left": (frame) => this.#onPeerLeft(frame),
      offer: (frame) => this.#answerer().handleDescription(frame),
      answer: (frame) => this.#call?.handleDescription(frame),
      candidate: (frame) => this.#call?.handleCandidate(frame),
      reconnecting: () => this.#onReconnecting(),
      closed: (detail) => this.#onClosed(detail),
    };
    for (const [type, handle] of Object.entries(handlers)) {
      signaling.addEventListener(type, (event) => {
        if (this.#signaling === signaling) handle(/** @type {CustomEvent} */ (event).detail);
      });
    }
    signaling.connect();
  }

  /** Hang up: `bye` to the server, release the devices, show the "you left" screen. */
  hangUp() {
    this.#signaling?.hangUp();
    this.#signaling = null;
    this.#setState("left");
    this.#endCall();
    this.#media.stop();
    byId("left-text").textContent = `Your session with ${this.#peerName} is still open: you can rejoin while it lasts.`;
    showView("left");
  }

  /** Join again after hanging up (or from this tab after being replaced). */
  async rejoin() {
    this.#signaling?.close();
    this.#signaling = null;
    this.#endCall();
    const button = /** @type {HTMLButtonElement} */ (byId("rejoin"));
    button.disabled = true;
    try {
      await this.#media.start();
    } finally {
      button.disabled = false;
    }
    this.join();
  }

  /** @param {Welcome} welcome */
  #onWelcome(welcome) {
    this.#welcome = welcome;
    this.#peerName = welcome.peer.name;
    this.#youName = welcome.you.name;
    this.#view.setNames({ you: this.#youName, peer: this.#peerName });
    this.#endCall();
    if (welcome.peer.present) {
      // The other person is here: they get `peer-joined` and offer; we wait for it.
      this.#startCall({ offer: false });
    } else {
      this.#setState("waiting");
    }
  }

  /** @param {import("./protocol.js").PeerJoined} frame */
  #onPeerJoined(frame) {
    this.#peerName = frame.peer.name;
    this.#view.setNames({ you: this.#youName, peer: this.#peerName });
    this.#endCall(); // a rejoin means the old peer connection is dead: start fresh
    this.#startCall({ offer: true });
  }

  /** @param {import("./protocol.js").PeerLeft} frame */
  #onPeerLeft(frame) {
    this.#peerName = frame.peer.name;
    this.#endCall();
    this.#setState("peer-left");
  }

  #onReconnecting() {
    // The server tells the other side we left; its peer connection closes, so ours goes too.
    this.#endCall();
    this.#setState("reconnecting");
  }

  /** @param {import("./signaling.js").ClosedDetail} detail */
  #onClosed({ code, errorCode, message }) {
    this.#signaling = null;
    this.#endCall();
    const reason =
      (errorCode && texts.closeReasons[errorCode]) ||
      texts.closeCodeReasons[/** @type {keyof typeof texts.closeCodeReasons} */ (code)] ||
      message ||
      texts.lostConnection;
    this.#setState("ended", reason);
    this.#media.stop();
    this.#renderLocal();
    const canRetry = errorCode === "replaced" || errorCode === null || errorCode === "heartbeat_timeout";
    this.#view.setEnded(reason, canRetry ? (errorCode === "replaced" ? "Join from this tab" : "Try again") : null);
  }

  /** The call an incoming offer belongs to; one is made if the offer came first. */
  #answerer() {
    return this.#call ?? this.#startCall({ offer: false });
  }

  /**
   * @param {{offer: boolean}} options  `offer`: we were here first, so we offer.
   * @returns {Call}
   */
  #startCall({ offer }) {
    const welcome = /** @type {Welcome} */ (this.#welcome);
    const signaling = this.#signaling;
    const call = new Call({
      send: (frame) => signaling?.send(/** @type {any} */ (frame)),
      polite: welcome.polite,
      iceServers: welcome.iceServers,
      local: this.#media,
    });
    this.#call = call;
    this.#hook.pc = call.pc;
    call.addEventListener("state", (event) => {
      if (this.#call === call) this.#setState(/** @type {CustomEvent} */ (event).detail);
    });
    call.addEventListener("remote-stream", (event) => {
      if (this.#call === call) this.#view.setRemoteStream(/** @type {CustomEvent} */ (event).detail);
    });
    call.addEventListener("remote-video", (event) => {
      if (this.#call === call) this.#view.setRemoteVideoLive(/** @type {CustomEvent} */ (event).detail.live);
    });
    this.#setState("connecting");
    if (offer) call.startOffer();
    return call;
  }

  #endCall() {
    this.#call?.close();
    this.#call = null;
    this.#hook.pc = null;
    this.#view.setRemoteStream(null);
  }

  async #toggleMic() {
    await this.#media.setMic(!this.#media.micOn);
    this.#renderLocal();
  }

  async #toggleCamera() {
    await this.#media.setCamera(!this.#media.cameraOn);
    this.#renderLocal();
  }

  /** @param {CustomEvent<{kind: "audio" | "video"}>} event */
  #onMediaChange(event) {
    if (this.#state === "left" || this.#state === "ended") return;
    this.#call?.updateTrack(event.detail.kind);
    this.#renderLocal();
    const problem = this.#media.problems[event.detail.kind];
    if (problem && !byId("view-call").hidden) this.#view.flash(problem, PROBLEM_NOTICE_MS);
  }

  #renderLocal() {
    const media = this.#media;
    this.#view.setLocalStream(media.stream);
    setPressed(byId("mute"), !media.micOn, "Unmute microphone");
    setPressed(byId("camera"), !media.cameraOn, "Turn camera on");
  }


  /**
   * @param {SessionState} state
   * @param {string} [endedText]  The reason, for `ended`.
   */
  #setState(state, endedText) {
    this.#state = state;
    this.#hook.state = state;
    const peer = this.#peerName;
    /** @type {Record<SessionState, string>} */
    const words = {
      joining: texts.status.connecting,
      waiting: texts.status.waiting(peer),
      connecting: texts.status.connecting,
      connected: texts.status.connected,
      reconnecting: texts.status.reconnecting,
      "peer-left": texts.status.peerLeft(peer),
      ended: endedText ?? texts.status.ended,
      left: texts.status.left,
    };
    this.#view.setStatus(state, words[state]);
  }
}
