// The WebSocket client of the signaling protocol (docs/protocol.md, version 1).
//
// It joins, keeps the socket alive with `ping`, turns each server frame into a
// typed event and reconnects by itself after a drop it can recover from. It
// knows nothing about RTCPeerConnection or the page.

import {
  CloseCode,
  FATAL_ERROR_CODES,
  PROTOCOL_VERSION,
  TERMINAL_CLOSE_CODES,
} from "./protocol.js";

/** @typedef {import("./protocol.js").ServerFrame} ServerFrame */

/**
 * Delays before reconnect attempts, in milliseconds; the last one repeats.
 * Starts fast (a blip on Wi-Fi) and backs off so a server restart is not stormed;
 * each wait is drawn from the upper half of its step ("equal jitter"), so the
 * pages a restart cut off do not all come back at once. Capped at 4 s: back
 * within 5 s of the server listening again.
 */
const RECONNECT_DELAYS_MS = [250, 500, 1000, 2000, 4000];

/** Give up after this many failed reconnects in a row (about 1.5 minutes of delays). */
const MAX_RECONNECT_ATTEMPTS = 25;

/**
 * The server considers a socket dead after 3 silent ping intervals
 * (docs/protocol.md); the page applies the same rule to the server, whose
 * `pong` answers every `ping`.
 */
const SILENT_INTERVALS = 3;

/**
 * Why the socket closed for good.
 * @typedef {object} ClosedDetail
 * @property {number} code     WebSocket close code (1006 when the network dropped it).
 * @property {string | null} errorCode  `code` of the last fatal `error` frame, if any.
 * @property {string} message  The server's own words, when it sent any.
 */

/**
 * Signaling client. Events (all `CustomEvent`s, `detail` is the frame unless said):
 * `welcome`, `peer-joined`, `peer-left`, `offer`, `answer`, `candidate`, `quality`, `suggest`,
 * `withdraw`, `mode`, `phone`,
 * `server-error` (a refused frame; the socket stays open), any other frame type by its name,
 * `reconnecting` (detail `{attempt, delayMs}`), `closed` (detail {@link ClosedDetail}).
 */
export class SignalingClient extends EventTarget {
  /** @type {WebSocket | null} */
  #ws = null;
  #url;
  #token;
  /** @type {number | undefined} */
  #pingTimer = undefined;
  /** @type {number | undefined} */
  #reconnectTimer = undefined;
  #pingId = 0;
  #lastHeardMs = 0;
  #pingIntervalMs = 0;
  #attempt = 0;
  #stopped = false;
  /** @type {() => boolean} */
  #canResume;
  /** @type {{code: string, message: string} | null} */
  #fatal = null;

  /**
   * @param {object} options
   * @param {string} options.url    `ws(s)://host/s/{room_id}/ws`.
   * @param {string} options.token  The join token; it travels only in the `join` frame.
   * @param {() => boolean} [options.canResume]  Whether the peer connection is still alive: a
   *   rejoin then asks the server to `resume` the pairing instead of starting over.
   */
  constructor({ url, token, canResume = () => false }) {
    super();
    this.#url = url;
    this.#token = token;
    this.#canResume = canResume;
    this.onOnline = this.onOnline.bind(this);
  }

  /**
   * The signaling URL for a room, on the page's own host (wss: under https).
   * @param {Location} location
   * @param {string} roomId  As it appears in the page's path (already URL-encoded).
   */
  static urlFor(location, roomId) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/s/${roomId}/ws`;
  }

  /** True while a socket is open and joined (a `welcome` arrived). */
  get joined() {
    return this.#pingIntervalMs > 0 && this.#ws?.readyState === WebSocket.OPEN;
  }

  /** Open the socket and join. Safe to call once; reconnects happen by themselves. */
  connect() {
    this.#stopped = false;
    window.addEventListener("online", this.onOnline);
    this.#open();
  }

  /**
   * Send one client frame. Frames sent while the socket is down are dropped:
   * negotiation restarts from scratch after a reconnect anyway.
   * @param {{type: string, [key: string]: unknown}} frame
   * @returns {boolean} whether the frame went out.
   */
  send(frame) {
    if (this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify(frame));
    return true;
  }

  /** Hang up: send `bye`; the server closes with 1000 and the peer hears `peer-left`. */
  hangUp() {
    this.send({ type: "bye" });
    this.#stop(CloseCode.NORMAL);
  }

  /** Close without `bye` (page teardown); no events follow. */
  close() {
    this.#stop(CloseCode.NORMAL);
  }

  /** The browser came back online: skip the rest of the back-off wait. */
  onOnline() {
    if (this.#reconnectTimer === undefined || this.#stopped) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#open();
  }

  #open() {
    const ws = new WebSocket(this.#url);
    this.#ws = ws;
    this.#fatal = null;
    this.#pingIntervalMs = 0;
    ws.addEventListener("open", () => {
      if (ws !== this.#ws) return;
      this.#lastHeardMs = performance.now();
      const resume = this.#attempt > 0 && this.#canResume();
      this.send({ type: "join", v: PROTOCOL_VERSION, token: this.#token, resume });
    });
    ws.addEventListener("message", (event) => {
      if (ws === this.#ws) this.#onFrame(event.data);
    });
    ws.addEventListener("close", (event) => {
      if (ws === this.#ws) this.#onClose(event.code);
    });
  }

  /** @param {unknown} data */
  #onFrame(data) {
    this.#lastHeardMs = performance.now();
    /** @type {ServerFrame} */
    let frame;
    try {
      frame = JSON.parse(String(data));
    } catch {
      console.warn("duet: ignoring a frame that is not JSON");
      return;
    }
    switch (frame.type) {
      case "welcome":
        this.#attempt = 0;
        this.#startPings(frame.pingIntervalS);
        this.#emit("welcome", frame);
        break;
      case "peer-joined":
      case "peer-left":
      case "offer":
      case "answer":
      case "candidate":
      case "quality":
      case "suggest":
      case "withdraw":
      case "mode":
      case "phone":
      case "ice-servers":
        this.#emit(frame.type, frame);
        break;
      case "pong":
        break;
      case "error":
        if (FATAL_ERROR_CODES.has(frame.code)) {
          this.#fatal = { code: frame.code, message: frame.message };
        } else {
          console.warn(`duet: server refused a frame: ${frame.code}: ${frame.message}`);
          this.#emit("server-error", frame);
        }
        break;
      default:
        // A frame type this page does not know yet (the protocol grows): offered
        // as an event of its own name, so a newer module can listen without a change here.
        this.#emit(String(/** @type {any} */ (frame).type), frame);
    }
  }

  /** @param {number} code */
  #onClose(code) {
    this.#stopPings();
    this.#ws = null;
    if (this.#stopped) return;
    const fatal = this.#fatal;
    const terminalError =
      fatal !== null && fatal.code !== "join_timeout" && fatal.code !== "heartbeat_timeout";
    if (TERMINAL_CLOSE_CODES.has(code) || terminalError) {
      this.#stop(code);
      this.#emit("closed", { code, errorCode: fatal?.code ?? null, message: fatal?.message ?? "" });
      return;
    }
    this.#attempt += 1;
    if (this.#attempt > MAX_RECONNECT_ATTEMPTS) {
      this.#stop(code);
      this.#emit("closed", { code, errorCode: fatal?.code ?? null, message: fatal?.message ?? "" });
      return;
    }
    const stepMs = RECONNECT_DELAYS_MS[Math.min(this.#attempt, RECONNECT_DELAYS_MS.length) - 1];
    const delayMs = Math.round(stepMs / 2 + (Math.random() * stepMs) / 2);
    this.#emit("reconnecting", { attempt: this.#attempt, delayMs });
    this.#reconnectTimer = window.setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (!this.#stopped) this.#open();
    }, delayMs);
  }

  /** @param {number} intervalS */
  #startPings(intervalS) {
    this.#stopPings();
    this.#pingIntervalMs = Math.max(1, intervalS) * 1000;
    this.#pingTimer = window.setInterval(() => {
      const silentMs = performance.now() - this.#lastHeardMs;
      if (silentMs > SILENT_INTERVALS * this.#pingIntervalMs) {
        // A socket can hang without closing (a phone switching networks):
        // drop it ourselves instead of waiting for TCP to notice.
        const ws = this.#ws;
        this.#ws = null; // its late `close` event is ignored
        ws?.close();
        this.#onClose(1006);
        return;
      }
      this.#pingId += 1;
      this.send({ type: "ping", id: this.#pingId });
    }, this.#pingIntervalMs);
  }

  #stopPings() {
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
    this.#pingIntervalMs = 0;
  }

  /** @param {number} code */
  #stop(code) {
    this.#stopped = true;
    this.#stopPings();
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    window.removeEventListener("online", this.onOnline);
    const ws = this.#ws;
    this.#ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(code === CloseCode.NORMAL ? 1000 : undefined);
  }

  /**
   * @param {string} type
   * @param {unknown} detail
   */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
