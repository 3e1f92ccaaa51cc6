// The stats reporter (docs/protocol.md, "Stats reports"): every `statsIntervalS`
// seconds while a peer connection exists, the cumulative counters of its
// `getStats()` go to the server in a `stats` frame, with the webrtc-stats field
// names and units (seconds, bits per second). The server scores the link from
// them (media/quality_score.py); the page does not judge the link itself.

import { MAX_STATS_BYTES } from "./protocol.js";

/** @typedef {"audio" | "video"} Kind */

/**
 * How a field is checked before it goes out: the server refuses a whole frame
 * for one bad value (signaling/stats.py), so anything odd is left out instead.
 * `count`: an integer ≥ 0; `signed`: any integer (`packetsLost` goes negative
 * with duplicates); `amount`: a number ≥ 0; `fraction`: 0-1; `word`: a short string.
 * @typedef {"count" | "signed" | "amount" | "fraction" | "word"} FieldKind
 */

/** @type {Readonly<Record<string, FieldKind>>} */
const INBOUND_AUDIO = Object.freeze({
  packetsReceived: "count",
  packetsLost: "signed",
  jitter: "amount",
  bytesReceived: "count",
  jitterBufferDelay: "amount",
  jitterBufferEmittedCount: "count",
  concealedSamples: "count",
  totalSamplesReceived: "count",
});

/** @type {Readonly<Record<string, FieldKind>>} */
const INBOUND_VIDEO = Object.freeze({
  packetsReceived: "count",
  packetsLost: "signed",
  bytesReceived: "count",
  framesDecoded: "count",
  framesPerSecond: "amount",
  freezeCount: "count",
  totalFreezesDuration: "amount",
});

/** @type {Readonly<Record<Kind, Readonly<Record<string, FieldKind>>>>} */
const INBOUND = Object.freeze({ audio: INBOUND_AUDIO, video: INBOUND_VIDEO });

/** @type {Readonly<Record<Kind, Readonly<Record<string, FieldKind>>>>} */
const OUTBOUND = Object.freeze({
  audio: Object.freeze({ bytesSent: "count" }),
  video: Object.freeze({
    bytesSent: "count",
    framesSent: "count",
    qualityLimitationReason: "word",
    targetBitrate: "amount",
  }),
});

/** @type {Readonly<Record<string, FieldKind>>} */
const REMOTE_INBOUND = Object.freeze({ roundTripTime: "amount", fractionLost: "fraction" });

/** @type {Readonly<Record<string, FieldKind>>} */
const CANDIDATE_PAIR = Object.freeze({ currentRoundTripTime: "amount", availableOutgoingBitrate: "amount" });

/** The frame's section for each webrtc-stats type. */
/** @type {Readonly<Record<string, string>>} */
const SECTION = Object.freeze({
  "inbound-rtp": "inbound",
  "outbound-rtp": "outbound",
  "remote-inbound-rtp": "remoteInbound",
});

/** JavaScript's largest safe integer, the server's bound on counters. */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** The server's bound on short strings (`Short` in signaling/stats.py). */
const MAX_WORD_CHARS = 32;

/** Reports closer together than this are pointless (and would flood a misconfigured server). */
const MIN_INTERVAL_S = 0.1;

/**
 * @param {unknown} value
 * @param {FieldKind} kind
 * @returns {boolean}
 */
function acceptable(value, kind) {
  if (kind === "word") return typeof value === "string" && value.length > 0 && value.length <= MAX_WORD_CHARS;
  if (typeof value !== "number" || !Number.isFinite(value)) return false;
  switch (kind) {
    case "count":
      return Number.isInteger(value) && value >= 0 && value <= MAX_COUNT;
    case "signed":
      return Number.isInteger(value) && Math.abs(value) <= MAX_COUNT;
    case "fraction":
      return value >= 0 && value <= 1;
    default:
      return value >= 0;
  }
}

/**
 * The listed fields of one stats object, leaving out those it lacks.
 * @param {Record<string, unknown> | undefined} report
 * @param {Readonly<Record<string, FieldKind>>} fields
 * @returns {Record<string, number | string> | undefined}  `undefined` when nothing is left.
 */
function pick(report, fields) {
  if (!report) return undefined;
  /** @type {Record<string, number | string>} */
  const out = {};
  for (const [name, kind] of Object.entries(fields)) {
    const value = report[name];
    if (acceptable(value, kind)) out[name] = /** @type {number | string} */ (value);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The busiest stats object of `type` and `kind` (a call has one of each; if a
 * renegotiation left a second, the one that carried the most wins).
 * @param {RTCStatsReport} stats
 * @param {string} type
 * @param {Kind} kind
 * @param {string} volume  The counter that says which one carried the most.
 * @returns {Record<string, any> | undefined}
 */
function busiest(stats, type, kind, volume) {
  /** @type {Record<string, any> | undefined} */
  let best;
  stats.forEach((report) => {
    if (report.type !== type || (report.kind ?? report.mediaType) !== kind) return;
    if (!best || (report[volume] ?? 0) > (best[volume] ?? 0)) best = report;
  });
  return best;
}

/**
 * The candidate pair ICE is using: the transport's `selectedCandidatePairId`,
 * or (Firefox, older Safari) the pair marked `selected`, or else a nominated one that succeeded.
 * @param {RTCStatsReport} stats
 * @returns {Record<string, any> | undefined}
 */
export function selectedCandidatePair(stats) {
  /** @type {Record<string, any>[]} */
  const pairs = [];
  let selectedId = null;
  stats.forEach((report) => {
    if (report.type === "transport" && report.selectedCandidatePairId) selectedId ??= report.selectedCandidatePairId;
    if (report.type === "candidate-pair") pairs.push(report);
  });
  if (selectedId !== null && stats.has(selectedId)) return stats.get(selectedId);
  return (
    pairs.find((pair) => pair.selected === true) ??
    pairs.find((pair) => pair.nominated === true && pair.state === "succeeded")
  );
}

/**
 * @param {Record<Kind, Record<string, unknown> | undefined>} byKind
 * @returns {Partial<Record<Kind, Record<string, unknown>>> | undefined}
 */
function dropEmpty(byKind) {
  /** @type {Partial<Record<Kind, Record<string, unknown>>>} */
  const out = {};
  if (byKind.audio) out.audio = byKind.audio;
  if (byKind.video) out.video = byKind.video;
  return out.audio || out.video ? out : undefined;
}

/**
 * The `stats` frame for one `getStats()` result: exactly the documented fields, none it lacks.
 * @param {RTCStatsReport} stats
 * @param {{iceState?: string, connectionState?: string, sendingVideo: boolean}} state
 * @returns {{type: "stats", [key: string]: unknown}}
 */
export function statsFrame(stats, { iceState, connectionState, sendingVideo }) {
  /** @type {{type: "stats", [key: string]: unknown}} */
  const frame = { type: "stats" };
  /** @type {(type: string, volume: string, fields: (kind: Kind) => Readonly<Record<string, FieldKind>>) => void} */
  const section = (type, volume, fields) => {
    const kept = dropEmpty({
      audio: pick(busiest(stats, type, "audio", volume), fields("audio")),
      video: pick(busiest(stats, type, "video", volume), fields("video")),
    });
    if (kept) frame[SECTION[type]] = kept;
  };
  section("inbound-rtp", "bytesReceived", (kind) => INBOUND[kind]);
  section("outbound-rtp", "bytesSent", (kind) => OUTBOUND[kind]);
  section("remote-inbound-rtp", "roundTripTimeMeasurements", () => REMOTE_INBOUND);
  const pair = selectedCandidatePair(stats);
  if (pair) {
    /** @type {Record<string, unknown>} */
    const out = pick(pair, CANDIDATE_PAIR) ?? {};
    const local = stats.get(pair.localCandidateId)?.candidateType;
    const remote = stats.get(pair.remoteCandidateId)?.candidateType;
    if (acceptable(local, "word")) out.localCandidateType = local;
    if (acceptable(remote, "word")) out.remoteCandidateType = remote;
    if (Object.keys(out).length > 0) frame.candidatePair = out;
  }
  if (acceptable(iceState, "word")) frame.iceState = iceState;
  if (acceptable(connectionState, "word")) frame.connectionState = connectionState;
  frame.sendingVideo = sendingVideo;
  return frame;
}

/**
 * Sends a `stats` frame for one peer connection every interval until stopped
 * (or until the peer connection closes).
 */
export class StatsReporter {
  #pc;
  #send;
  #sendingVideo;
  #intervalMs;
  /** @type {number | undefined} */
  #timer = undefined;
  #busy = false;
  /** The last frame sent (for the test hook and debugging). */
  /** @type {object | null} */
  last = null;

  /**
   * @param {object} options
   * @param {RTCPeerConnection} options.pc
   * @param {(frame: {type: "stats", [key: string]: unknown}) => void} options.send
   * @param {number} options.intervalS  From `welcome.statsIntervalS`.
   * @param {() => boolean} options.sendingVideo  Whether my camera's picture goes out.
   */
  constructor({ pc, send, intervalS, sendingVideo }) {
    this.#pc = pc;
    this.#send = send;
    this.#sendingVideo = sendingVideo;
    this.#intervalMs = Math.max(MIN_INTERVAL_S, intervalS) * 1000;
  }

  start() {
    this.stop();
    this.#timer = window.setInterval(() => this.#report(), this.#intervalMs);
  }

  stop() {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #report() {
    const pc = this.#pc;
    if (pc.signalingState === "closed") return this.stop();
    if (this.#busy) return undefined; // a slow getStats(): skip a beat rather than pile up
    this.#busy = true;
    try {
      const stats = await pc.getStats();
      if (this.#timer === undefined) return undefined;
      let frame = statsFrame(stats, {
        iceState: pc.iceConnectionState,
        connectionState: pc.connectionState,
        sendingVideo: this.#sendingVideo(),
      });
      if (new TextEncoder().encode(JSON.stringify(frame)).length > MAX_STATS_BYTES) {
        // Cannot happen with the documented fields (about 1 KB); keep the states at least.
        const { iceState, connectionState, sendingVideo } = frame;
        frame = { type: "stats", iceState, connectionState, sendingVideo };
      }
      this.last = frame;
      this.#send(frame);
    } catch (error) {
      if (pc.signalingState !== "closed") console.warn("duet: could not read the call's statistics", error);
    } finally {
      this.#busy = false;
    }
    return undefined;
  }
}
