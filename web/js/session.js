// The in-call controller: joins over signaling, makes a fresh `Call` for each
// pairing as docs/protocol.md says, reports the call's statistics, follows the
// call's mode (video, audio only, phone) and who is on the phone bridge, and keeps the status
// line, the connection indicators, the fallback prompt and the test hook (`window.duet`) in step.

import { readBackupPlan } from "./backup.js";
import { Call } from "./call.js";
import { PhonePanel } from "./phonepanel.js";
import { FallbackPrompt } from "./prompt.js";
import { QualityIndicator } from "./quality.js";
import { SignalingClient } from "./signaling.js";
import { StatsReporter } from "./stats.js";
import * as texts from "./texts.js";
import { byId, CallView, setPressed, showView } from "./ui.js";

/** @typedef {import("./media.js").LocalMedia} LocalMedia */
/** @typedef {import("./preview.js").JoinLink} JoinLink */
/** @typedef {import("./preview.js").Preview} Preview */
/** @typedef {import("./protocol.js").Welcome} Welcome */
/** @typedef {import("./protocol.js").CallMode} CallMode */
/** @typedef {import("./protocol.js").ModeFrame} ModeFrame */
/** @typedef {import("./protocol.js").QualityFrame} QualityFrame */
/** @typedef {import("./protocol.js").SuggestFrame} SuggestFrame */
/** @typedef {import("./protocol.js").PhoneFrame} PhoneFrame */
/** @typedef {import("./backup.js").BackupPlan} BackupPlan */

/**
 * Where the session is. `joining`: the socket opens; `waiting`: joined, the other
 * person is not there; `connecting`/`connected`/`reconnecting`: the peer
 * connection's state (or our own signaling socket coming back); `peer-reconnecting`: the
 * other person's socket dropped and the server holds their seat; `peer-left`: the other
 * person left; `ended`: the server closed the socket for good; `left`: this person hung up.
 * @typedef {"joining" | "waiting" | "connecting" | "connected" | "reconnecting" | "peer-reconnecting"
 *   | "peer-left" | "ended" | "left"} SessionState
 */

/**
 * What the page exposes for tests and debugging: never the token.
 * @typedef {object} TestHook
 * @property {string} state
 * @property {RTCPeerConnection | null} pc
 * @property {CallMode} [mode]  The call's mode, as the server last said.
 * @property {object | null} [stats]  The last `stats` frame sent.
 * @property {string[]} [onPhone]  Who is on the room's phone bridge (roles), as the server last said.
 */

/** How long a media problem stays on screen during a call, in milliseconds. */
const PROBLEM_NOTICE_MS = 6000;

/** How long a tapped connection indicator shows its words, in milliseconds. */
const QUALITY_NOTICE_MS = 5000;

/** `welcome.statsIntervalS` when an older server leaves it out (docs/protocol.md). */
const DEFAULT_STATS_INTERVAL_S = 2;

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
  /** @type {StatsReporter | null} */
  #reporter = null;
  /** @type {CallMode} */
  #mode = "video";
  /** @type {BackupPlan | null} */
  #backup;
  #prompt = new FallbackPrompt((suggestion, accept) => this.#decide(suggestion, accept), {
    label: () => this.#phone.callMeLabel,
    start: () => this.#phone.callMe(),
  });
  /** @type {PhonePanel} */
  #phone;
  #myQuality;
  #peerQuality;
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
    this.#backup = readBackupPlan(preview.backup);
    hook.mode = this.#mode;
    hook.stats = null;
    hook.onPhone = [];
    this.#phone = new PhonePanel({
      link,
      callMe: preview.call_me,
      you: preview.you.role,
      peerName: preview.peer.name,
      backup: this.#backup,
    });
    this.#phone.addEventListener("you", () => this.#followPhone());
    const explain = (/** @type {string} */ text) => this.#view.flash(text, QUALITY_NOTICE_MS);
    this.#myQuality = new QualityIndicator(byId("my-quality"), explain);
    this.#peerQuality = new QualityIndicator(byId("peer-quality"), explain);
    media.addEventListener("change", (event) => this.#onMediaChange(/** @type {CustomEvent} */ (event)));
    byId("mute").addEventListener("click", () => this.#toggleMic());
    byId("camera").addEventListener("click", () => this.#toggleCamera());
    byId("audio-only").addEventListener("click", () => this.#toggleAudioOnly());
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
      canResume: () => this.#call?.alive ?? false,
    });
    this.#signaling = signaling;
    /** @type {Record<string, (detail: any) => void>} */
    const handlers = {
      welcome: (frame) => this.#onWelcome(frame),
      "peer-joined": (frame) => this.#onPeerJoined(frame),
      "peer-left": (frame) => this.#onPeerLeft(frame),
      "peer-reconnecting": (frame) => this.#onPeerReconnecting(frame),
      "peer-back": (frame) => this.#onPeerBack(frame),
      offer: (frame) => this.#answerer().handleDescription(frame),
      answer: (frame) => this.#call?.handleDescription(frame),
      candidate: (frame) => this.#call?.handleCandidate(frame),
      quality: (frame) => this.#onQuality(frame),
      suggest: (frame) => this.#onSuggest(frame),
      withdraw: (frame) => this.#prompt.withdraw(frame.id),
      mode: (frame) => this.#onMode(frame),
      phone: (frame) => this.#onPhone(frame),
      "ice-servers": (frame) => this.#onIceServers(frame.iceServers),
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
    this.#prompt.hide();
    this.#phone.clear();
    this.#signaling?.hangUp();
    this.#signaling = null;
    this.#setState("left");
    this.#endCall();
    this.#media.stop();
    byId("left-title").textContent = "You left the session";
    byId("left-text").textContent = `Your session with ${this.#peerName} is still open: you can rejoin while it lasts.`;
    byId("rejoin").hidden = false;
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

  /**
   * New TURN credentials before the old ones expire: for this call's next ICE
   * restart, and for any call started later from this `welcome`.
   * @param {RTCIceServer[]} iceServers
   */
  #onIceServers(iceServers) {
    if (!Array.isArray(iceServers)) return;
    if (this.#welcome) this.#welcome = { ...this.#welcome, iceServers };
    this.#call?.setIceServers(iceServers);
  }

  /** @param {Welcome} welcome */
  #onWelcome(welcome) {
    this.#welcome = welcome;
    this.#peerName = welcome.peer.name;
    this.#youName = welcome.you.name;
    this.#view.setNames({ you: this.#youName, peer: this.#peerName });
    // A resumed pairing keeps its peer connection: media never stopped (docs/protocol.md).
    const resumed = welcome.resumed === true && this.#call !== null && this.#call.alive;
    if (!resumed) this.#endCall();
    if ("backup" in welcome) this.#backup = readBackupPlan(/** @type {any} */ (welcome.backup));
    this.#phone.setBackup(this.#backup);
    this.#phone.reset(welcome.you.role, this.#peerName); // `phone` frames follow for whoever is on it
    this.#hook.onPhone = [];
    this.#applyMode(welcome.mode ?? "video", null); // a call that went audio-only stays so for a rejoin
    if (resumed && this.#call) {
      this.#call.setIceServers(welcome.iceServers); // fresh TURN credentials for a later restart
      this.#call.recover();
      this.#setState(welcome.peer.present ? this.#callState() : "peer-reconnecting");
      return;
    }
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
    this.#prompt.hide();
    this.#endCall();
    this.#setState("peer-left");
  }

  /** @param {import("./protocol.js").PeerReconnecting} frame */
  #onPeerReconnecting(frame) {
    this.#peerName = frame.peer.name;
    this.#setState("peer-reconnecting"); // the peer connection stays: media may well still flow
  }

  /** @param {import("./protocol.js").PeerBack} frame */
  #onPeerBack(frame) {
    this.#peerName = frame.peer.name;
    if (this.#call?.alive) {
      this.#setState(this.#callState());
    } else {
      this.#endCall(); // ours died while they were away: start fresh, as for `peer-joined`
      this.#startCall({ offer: true });
    }
  }

  /** @returns {SessionState} the status the current call's connection state calls for. */
  #callState() {
    return this.#call?.state === "connected" ? "connected" : "reconnecting";
  }

  #onReconnecting() {
    // Our socket dropped: the server holds our seat for a while and we rejoin asking to resume,
    // so the peer connection stays up (media goes peer to peer, not through the server).
    this.#setState("reconnecting");
  }

  /** @param {import("./signaling.js").ClosedDetail} detail */
  #onClosed({ code, errorCode, message }) {
    this.#signaling = null;
    this.#prompt.hide();
    this.#phone.clear();
    this.#endCall();
    const reason =
      (errorCode && texts.closeReasons[errorCode]) ||
      texts.closeCodeReasons[/** @type {keyof typeof texts.closeCodeReasons} */ (code)] ||
      message ||
      texts.lostConnection;
    this.#setState("ended", reason);
    this.#media.stop();
    this.#renderLocal();
    if (errorCode === "room_ended" || errorCode === "room_expired") {
      // Over for good: the card that asks how it went, with no way back in.
      byId("left-title").textContent = "This session has ended";
      byId("left-text").textContent = reason;
      byId("rejoin").hidden = true;
      showView("left");
      return;
    }
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
    this.#reporter = new StatsReporter({
      pc: call.pc,
      send: (frame) => {
        this.#hook.stats = frame;
        signaling?.send(frame);
      },
      intervalS: welcome.statsIntervalS ?? DEFAULT_STATS_INTERVAL_S,
      sendingVideo: () => call.sendingVideo,
    });
    this.#reporter.start();
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
    this.#reporter?.stop();
    this.#reporter = null;
    this.#call?.close();
    this.#call = null;
    this.#hook.pc = null;
    this.#view.setRemoteStream(null);
    this.#myQuality.reset();
    this.#peerQuality.reset();
  }

  async #toggleMic() {
    if (this.#phone.status.you) {
      // Talking by phone: this microphone would be heard twice. Hanging up the phone gives it back.
      this.#view.flash(texts.phone.micHeld, PROBLEM_NOTICE_MS);
      return;
    }
    if (this.#mode === "phone") {
      // The microphone is held back while the two talk by phone: unmuting means the internet again.
      await this.#media.setMic(true);
      this.#signaling?.send({ type: "set-mode", mode: "audio-only" });
    } else {
      await this.#media.setMic(!this.#media.micOn);
    }
    this.#renderLocal();
  }

  async #toggleCamera() {
    if (this.#mode !== "video") {
      // Camera on in an audio-only call: video back for both (it starts when the server says so).
      await this.#media.setCamera(true);
      this.#signaling?.send({ type: "set-mode", mode: "video" });
    } else {
      await this.#media.setCamera(!this.#media.cameraOn);
    }
    this.#renderLocal();
  }

  /** The "Audio only" button: the call goes audio-only, or back to video (the camera switch stays as it was). */
  #toggleAudioOnly() {
    this.#signaling?.send({ type: "set-mode", mode: this.#mode === "video" ? "audio-only" : "video" });
  }

  /** @param {QualityFrame} frame */
  #onQuality(frame) {
    if (!this.#call) return; // a report about a peer connection that is gone
    this.#myQuality.show(frame.you, null);
    this.#peerQuality.show(frame.peer, this.#peerName);
  }

  /** @param {SuggestFrame} frame */
  #onSuggest(frame) {
    const backup = frame.backup ?? (frame.mode === "phone" ? this.#backup : null);
    this.#prompt.show({ ...frame, backup }, this.#peerName);
  }

  /**
   * The person answered the prompt.
   * @param {SuggestFrame} suggestion
   * @param {boolean} accept
   */
  #decide(suggestion, accept) {
    this.#signaling?.send({ type: "decide", id: suggestion.id, accept });
    if (accept && suggestion.mode === "video" && !this.#media.cameraOn) {
      // "Turn camera on" said yes to the camera too; it starts once the call is in video again.
      this.#media.setCamera(true).then(() => this.#renderLocal());
    }
  }

  /** @param {PhoneFrame} frame */
  #onPhone(frame) {
    this.#phone.follow(frame);
    this.#hook.onPhone = [...this.#phone.status.onPhone];
    this.#view.setBackup(this.#phone.plan, this.#peerName);
  }

  /**
   * I joined or left the phone conference. On the phone this page goes quiet both ways (the
   * microphone sends silence, the other person's sound is muted), so nobody hears double; the
   * socket, its pings and the peer connection stay up (video may go on, and the server sees the link).
   */
  #followPhone() {
    this.#view.setRemoteAudio(!this.#phone.status.you);
    this.#followMedia();
  }

  /** @param {ModeFrame} frame */
  #onMode(frame) {
    this.#prompt.hide(); // the server dropped any open suggestion with the switch
    this.#applyMode(frame.mode, frame.reason);
  }

  /**
   * Follow the call's mode (docs/protocol.md, "Fallback"): out of video the camera is
   * released and its track leaves the video sender, so nothing is sent (without a
   * renegotiation: see call.js); on the phone the microphone sends silence too. The peer
   * connection stays up: its statistics are how the server sees the link heal.
   * @param {CallMode} mode
   * @param {string | null} reason  The server's words; `null` for a mode found on joining.
   */
  #applyMode(mode, reason) {
    const previous = this.#mode;
    this.#mode = mode;
    this.#hook.mode = mode;
    if (mode !== previous || reason !== null) {
      this.#view.setMode(mode, { reason, backup: this.#phone.plan, peer: this.#peerName });
    }
    if (mode === "video" && previous !== "video" && reason) this.#view.flash(reason, PROBLEM_NOTICE_MS);
    this.#phone.setMode(mode);
    this.#followMedia();
  }

  /** What the call's mode and the phone allow: no camera out of video, no microphone on the phone. */
  #followMedia() {
    const mode = this.#mode;
    this.#media
      .allow({ camera: mode === "video", mic: mode !== "phone" && !this.#phone.status.you })
      .catch((error) => console.warn("duet: could not follow the call's mode", error))
      .finally(() => this.#renderLocal());
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
    const mode = this.#mode;
    const { internetAudio, videoBack, audioOnly } = texts.modeControls;
    const muted = this.#phone.status.you ? texts.phone.micHeldTitle : mode === "phone" ? internetAudio : null;
    setPressed(byId("mute"), !media.micLive, muted ?? "Unmute microphone");
    setPressed(byId("camera"), !media.cameraOn || mode !== "video", mode === "video" ? "Turn camera on" : videoBack);
    setPressed(byId("audio-only"), mode !== "video", videoBack, audioOnly);
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
      "peer-reconnecting": texts.status.peerReconnecting(peer),
      "peer-left": texts.status.peerLeft(peer),
      ended: endedText ?? texts.status.ended,
      left: texts.status.left,
    };
    this.#view.setStatus(state, words[state]);
  }
}
