// @ts-check
// The load generator's command line, in milliseconds and counts.

import { parseArgs } from "node:util";

/**
 * @typedef {object} Options
 * @property {string} plan  The plan file: {"url": "ws://…", "sessions": [{room, host, guest}]}.
 * @property {number} rate  Sockets opened per second.
 * @property {number} durationMs  Steady period.
 * @property {number} settleMs  Between set-up and the steady period.
 * @property {number} statsEveryMs
 * @property {number} pingEveryMs
 * @property {number} sdpBytes  Size of each offer and answer.
 * @property {number} candidates  Trickled candidates per side.
 * @property {boolean} deflate  Offer permessage-deflate.
 * @property {number} handshakeTimeoutMs
 * @property {number} setupTimeoutMs  After the ramp, for every socket to be negotiated or failed.
 * @property {number} negotiateTimeoutMs  After `welcome`, for a socket's room to negotiate.
 * @property {number} stallMs  A second of the steady period whose slowest reply took longer is a stall.
 * @property {number} stalled  The first N sessions' hosts stop reading when the steady period starts
 *   while their guests send large offers to them; they are not timed.
 */

const USAGE = "usage: loadgen.mjs --plan plan.json [--rate 200] [--duration 40] [--deflate] ...";

/**
 * @param {string[]} argv
 * @returns {Options}
 */
export function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      plan: { type: "string" },
      rate: { type: "string", default: "200" },
      duration: { type: "string", default: "40" },
      settle: { type: "string", default: "5" },
      "stats-every": { type: "string", default: "2" },
      "ping-every": { type: "string", default: "10" },
      "sdp-bytes": { type: "string", default: "3000" },
      candidates: { type: "string", default: "8" },
      deflate: { type: "boolean", default: false },
      "handshake-timeout": { type: "string", default: "30" },
      "setup-timeout": { type: "string", default: "120" },
      "negotiate-timeout": { type: "string", default: "10" },
      "stall-ms": { type: "string", default: "50" },
      stalled: { type: "string", default: "0" },
    },
  });
  if (!values.plan) throw new Error(USAGE);
  const seconds = (/** @type {string | undefined} */ s) => 1000 * Number(s);
  return {
    plan: values.plan,
    rate: Number(values.rate),
    durationMs: seconds(values.duration),
    settleMs: seconds(values.settle),
    statsEveryMs: seconds(values["stats-every"]),
    pingEveryMs: seconds(values["ping-every"]),
    sdpBytes: Number(values["sdp-bytes"]),
    candidates: Number(values.candidates),
    deflate: Boolean(values.deflate),
    handshakeTimeoutMs: seconds(values["handshake-timeout"]),
    setupTimeoutMs: seconds(values["setup-timeout"]),
    negotiateTimeoutMs: seconds(values["negotiate-timeout"]),
    stallMs: Number(values["stall-ms"]),
    stalled: Number(values.stalled),
  };
}
