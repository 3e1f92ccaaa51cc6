// The pre-call network test (docs/protocol.md, "Pre-call test"): a WebRTC
// connection to the server's own echo peer for a few seconds. The page reads
// round trip, loss, jitter and its sending bitrate from getStats as the test
// runs; the server turns the figures into a verdict (one verdict function,
// media/precall_verdict.py, for this page and `duet check`).

import { postJson } from "./http.js";
import { selectedCandidatePair } from "./stats.js";

/** Wait at most this long for ICE gathering: an unreachable TURN server stalls it for many seconds. */
const GATHER_MS = 3000;
/** Read the figures this often while the test runs. */
const SAMPLE_MS = 1000;
/** Measure at least this long once connected, even if connecting took most of the test. */
const MIN_MEASURE_MS = 3000;

/**
 * @typedef {object} Figures  What the test measured so far; `null` where nothing was measured yet.
 * @property {number | null} rttS  Round trip, seconds.
 * @property {number | null} loss  Fraction of packets lost (0-1), the worse of the two directions.
 * @property {number | null} jitterS  Interarrival jitter of the audio, seconds, the worse of the two directions.
 * @property {number | null} bitrateBps  Sending bitrate, bits per second, since the connection came up.
 * @property {number | null} availableBps  The browser's estimate of what it could send
 *   (`availableOutgoingBitrate`, its congestion controller's), bits per second.
 *
 * @typedef {"video" | "audio-only" | "phone" | "cannot-connect"} VerdictName
 *
 * @typedef {object} CheckResult
 * @property {VerdictName} verdict
 * @property {string} words  "video will work", "audio only recommended"…
 * @property {string[]} reasons  Why, when it is not "video will work".
 * @property {Figures} figures
 * @property {number} elapsedMs  From starting the test to the verdict.
 *
 * @typedef {"config" | "gathering" | "connecting" | "measuring" | "judging"} Phase
 */

/** @type {Figures} */
const NO_FIGURES = Object.freeze({ rttS: null, loss: null, jitterS: null, bitrateBps: null, availableBps: null });

class TestRefused extends Error {}

/**
 * POST JSON to the room's check API; the parsed body, or {@link TestRefused} with the server's message.
 * @param {string} url
 * @param {object} body
 * @returns {Promise<any>}
 */
async function post(url, body) {
  const { response, body: answer } = await postJson(url, body);
  if (response === null) throw new TestRefused("the server could not be reached");
  if (!response.ok) {
    const message = typeof answer?.message === "string" && answer.message ? `: ${answer.message}` : "";
    throw new TestRefused(`the server refused the test (HTTP ${response.status}${message})`);
  }
  return answer;
}

/**
 * The figures in `stats`, with sending bitrate counted from `since` (bytes sent at a time).
 * @param {RTCStatsReport} stats
 * @param {{bytes: number, atMs: number} | null} since
 * @param {number} nowMs
 * @returns {{figures: Figures, bytesSent: number}}
 */
export function figuresFrom(stats, since, nowMs) {
  let sent = 0;
  let bytesSent = 0;
  let lostUp = 0;
  let received = 0;
  let lostDown = 0;
  /** @type {number[]} */
  const jitters = [];
  /** @type {number[]} */
  const rtts = [];
  stats.forEach((report) => {
    switch (report.type) {
      case "outbound-rtp":
        sent += report.packetsSent ?? 0;
        bytesSent += report.bytesSent ?? 0;
        break;
      case "remote-inbound-rtp": // how the echo peer received what we sent
        lostUp += Math.max(0, report.packetsLost ?? 0);
        if (report.kind === "audio" && typeof report.jitter === "number") jitters.push(report.jitter);
        if (typeof report.roundTripTime === "number") rtts.push(report.roundTripTime);
        break;
      case "inbound-rtp": // what came back
        received += report.packetsReceived ?? 0;
        lostDown += Math.max(0, report.packetsLost ?? 0);
        if (report.kind === "audio" && typeof report.jitter === "number") jitters.push(report.jitter);
        break;
      default:
    }
  });
  const pair = selectedCandidatePair(stats);
  const pairRtt = typeof pair?.currentRoundTripTime === "number" ? pair.currentRoundTripTime : null;
  const losses = [];
  if (sent > 0) losses.push(Math.min(1, lostUp / sent));
  if (received + lostDown > 0) losses.push(lostDown / (received + lostDown));
  const seconds = since ? (nowMs - since.atMs) / 1000 : 0;
  return {
    bytesSent,
    figures: {
      rttS: pairRtt ?? (rtts.length ? Math.max(...rtts) : null),
      loss: losses.length ? Math.max(...losses) : null,
      jitterS: jitters.length ? Math.max(...jitters) : null,
      bitrateBps: since && seconds > 0.5 ? ((bytesSent - since.bytes) * 8) / seconds : null,
      availableBps: typeof pair?.availableOutgoingBitrate === "number" ? pair.availableOutgoingBitrate : null,
    },
  };
}

/**
 * @param {number} ms
 * @returns {Promise<void>}
 */
const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

/**
 * Run the test: resolves with the verdict, never rejects.
 * @param {object} options
 * @param {string} options.roomId  As in the join link (URL-encoded).
 * @param {string} options.token
 * @param {MediaStreamTrack[]} options.tracks  What to send; the test stops none of them.
 * @param {(phase: Phase, figures: Figures) => void} [options.onProgress]
 * @param {AbortSignal} [options.signal]  Ends the test early (the person joined): resolves `null`.
 * @returns {Promise<CheckResult | null>}
 */
export async function runNetworkTest({ roomId, token, tracks, onProgress = () => {}, signal }) {
  const started = performance.now();
  const base = `/s/${roomId}/check`;
  /** @type {Set<string>} */
  const gathered = new Set();
  /** @type {RTCPeerConnection | null} */
  let pc = null;
  let figures = NO_FIGURES;
  let connected = false;
  try {
    onProgress("config", figures);
    const config = await post(`${base}/config`, { token });
    const iceServers = config.ice_servers.map(
      (/** @type {{urls: string[], username: string | null, credential: string | null}} */ server) => ({
        urls: server.urls,
        ...(server.username ? { username: server.username, credential: server.credential ?? "" } : {}),
      }),
    );
    const durationMs = config.duration_s * 1000;
    pc = new RTCPeerConnection({ iceServers });
    const peer = pc;
    peer.addEventListener("icecandidate", (event) => {
      if (event.candidate?.type) gathered.add(event.candidate.type);
    });
    for (const track of tracks) peer.addTrack(track);

    onProgress("gathering", figures);
    await peer.setLocalDescription(await peer.createOffer());
    await new Promise((resolve) => {
      if (peer.iceGatheringState === "complete") resolve(undefined);
      peer.addEventListener("icegatheringstatechange", () => {
        if (peer.iceGatheringState === "complete") resolve(undefined);
      });
      window.setTimeout(resolve, GATHER_MS);
    });
    const offer = /** @type {RTCSessionDescription} */ (peer.localDescription);
    const answer = await post(base, { token, sdp: offer.sdp, type: "offer" });
    onProgress("connecting", figures);
    await peer.setRemoteDescription(answer);

    const deadline = started + durationMs;
    /** @type {{bytes: number, atMs: number} | null} */
    let since = null;
    let measureUntil = deadline;
    while (performance.now() < measureUntil) {
      await sleep(Math.min(SAMPLE_MS, Math.max(0, measureUntil - performance.now())));
      if (signal?.aborted) return null; // the finally below closes the connection
      const state = peer.connectionState;
      if (state === "failed" || state === "closed") break;
      if (!connected && state === "connected") {
        connected = true;
        const now = performance.now();
        measureUntil = Math.max(deadline, now + MIN_MEASURE_MS);
        since = { bytes: figuresFrom(await peer.getStats(), null, now).bytesSent, atMs: now };
      }
      if (connected) {
        figures = figuresFrom(await peer.getStats(), since, performance.now()).figures;
        onProgress("measuring", figures);
      }
    }
    onProgress("judging", figures);
    peer.close();
    return await judge(base, token, { connected, figures, gathered }, started);
  } catch (error) {
    const reason = error instanceof TestRefused ? error.message : "the test could not run in this browser";
    if (!(error instanceof TestRefused)) console.error("duet: the connection test failed", error);
    const elapsedMs = performance.now() - started;
    return { verdict: "cannot-connect", words: "cannot connect", reasons: [reason], figures, elapsedMs };
  } finally {
    pc?.close();
  }
}

/**
 * @param {number | null} a
 * @param {number | null} b
 */
const maxOrNull = (a, b) => (a === null ? b : b === null ? a : Math.max(a, b));

/**
 * Ask the server for the verdict on what was measured.
 * @param {string} base
 * @param {string} token
 * @param {{connected: boolean, figures: Figures, gathered: Set<string>}} outcome
 * @param {number} started
 * @returns {Promise<CheckResult>}
 */
async function judge(base, token, { connected, figures, gathered }, started) {
  const body = {
    token,
    connected,
    rtt_s: figures.rttS,
    loss: figures.loss,
    jitter_s: figures.jitterS,
    // What the link can carry: a short test mostly sees the sender ramping up from its start
    // bitrate (Chromium: 300 kbit/s), so its congestion controller's estimate counts too.
    bitrate_bps: maxOrNull(figures.bitrateBps, figures.availableBps),
    gathered: [...gathered].filter((type) => ["host", "srflx", "prflx", "relay"].includes(type)),
  };
  const answer = await post(`${base}/verdict`, body);
  return {
    verdict: answer.verdict,
    words: answer.words,
    reasons: answer.reasons,
    figures,
    elapsedMs: performance.now() - started,
  };
}
