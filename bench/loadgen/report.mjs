// @ts-check
// The generator's readable summary (stderr); the driver reads the JSON `RESULT` line instead.

/** @typedef {import("./metrics.mjs").Summary} Summary */
/** @typedef {{cpu: number, lagP99Ms: number, lagMaxMs: number}} PhaseHealth */

/**
 * @typedef {object} Result
 * @property {{planned: number, opened: number, welcomed: number, roomsNegotiated: number, rooms: number}}
 *   sockets
 * @property {Record<string, number>} unexpectedCloses  By close code and "before/after welcome".
 * @property {Record<string, number>} errors  Socket errors (handshake timeouts, resets), by message.
 * @property {Record<string, number>} errorFrames  duet's `error` frames, by code.
 * @property {{seconds: number, sent: Record<string, number>, unanswered: {stats: number, pings: number}}}
 *   steady
 * @property {Record<string, Summary>} latencyMs
 * @property {{thresholdMs: number, seconds: Array<{second: number, wallS: number, maxMs: number}>}} stalls
 * @property {{steady: PhaseHealth, ramp: PhaseHealth, rssMiB: number}} self
 */

/**
 * @param {Result} r
 * @param {(line: string) => void} say
 */
export function printSummary(r, say) {
  const ms = (/** @type {number | null} */ v) => (v === null ? "-" : v.toFixed(1)).padStart(8);
  const json = JSON.stringify;
  const { sockets, steady, self } = r;
  say(`\nsockets: ${sockets.welcomed}/${sockets.planned} welcomed, `
    + `${sockets.roomsNegotiated}/${sockets.rooms} rooms negotiated`);
  say(`unexpected closes: ${json(r.unexpectedCloses)}; errors: ${json(r.errors)}; `
    + `error frames: ${json(r.errorFrames)}`);
  say(`steady ${steady.seconds} s: sent ${json(steady.sent)}, unanswered ${json(steady.unanswered)}`);
  const heads = ["p50", "p90", "p99", "max"].map((h) => h.padStart(8)).join(" ");
  say(`${"latency ms".padEnd(32)} ${"n".padStart(6)} ${heads}`);
  for (const [name, s] of Object.entries(r.latencyMs).sort()) {
    say(`  ${name.padEnd(30)} ${String(s.n).padStart(6)} ${[s.p50, s.p90, s.p99, s.max].map(ms).join(" ")}`);
  }
  const stalls = r.stalls.seconds.map((s) => `+${s.second} s ${s.maxMs} ms`).join(", ");
  const over = `over ${r.stalls.thresholdMs} ms`;
  say(`stalls (seconds whose slowest stats/ping reply took ${over}, from the schedule): `
    + `${r.stalls.seconds.length}${stalls ? `: ${stalls}` : ""}`);
  say(`generator: CPU ${self.steady.cpu} s/s steady (${self.ramp.cpu} in the ramp), loop lag p99/max `
    + `${self.steady.lagP99Ms}/${self.steady.lagMaxMs} ms steady `
    + `(ramp ${self.ramp.lagP99Ms}/${self.ramp.lagMaxMs}), RSS ${self.rssMiB} MiB`);
}
