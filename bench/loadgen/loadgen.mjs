#!/usr/bin/env node
// @ts-check
// duet's signaling under load, from outside: one Node process (the `ws` library) speaks duet's
// protocol (docs/protocol.md) for N sessions, two sockets each, and times the server's answers.
//
//   node bench/loadgen/loadgen.mjs --plan plan.json [--rate 200] [--duration 40] [--deflate]
//
// plan.json: {"url": "ws://127.0.0.1:8000", "sessions": [{"room": "...", "host": "TOKEN",
// "guest": "TOKEN"}, ...]} (bench/signaling_node.py makes the rooms through duet's REST API).
//
// Sockets open on an absolute timetable at --rate per second, host then guest of each room:
// `join` → `welcome`; whoever gets `peer-joined` offers (an SDP of --sdp-bytes and --candidates
// trickled candidates) and the other answers the same way, as the page does. Once negotiated, each
// socket sends a browser-shaped `stats` frame every --stats-every s (random phase; duet answers each
// with `quality`), and from `welcome` on a `ping` with an id every --ping-every s. Once every
// socket is negotiated or has failed (a socket welcomed but not negotiated within --negotiate-timeout
// s counts as failed), --settle s pass, then --duration s of steady state are measured.
// Every send is due at a time fixed in advance; latencies are timed from the actual send and from
// the due time (`*_from_schedule`): if this process falls behind, the second shows it. Seconds of
// the steady period whose slowest reply took over --stall-ms (50) are listed with their wall-clock
// time, so a driver can match them with the server's GC pauses.
//
// stdout: `PHASE steady-start`, `PHASE steady-end` (so a driver can sample the server), then one
// `RESULT {...}` JSON line. stderr: progress and a readable summary.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { candidate, sdp, statsFrame } from "./frames.mjs";
import { Health } from "./health.mjs";
import { Metrics, SlowestPerSecond } from "./metrics.mjs";
import { parseOptions } from "./options.mjs";
import { printSummary } from "./report.mjs";
import { Timetable } from "./timetable.mjs";

/** How long after the steady period replies to its frames may still arrive. */
const REPLY_GRACE_MS = 5_000;

const opts = (() => {
  try {
    return parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : error}\n`);
    return process.exit(2);
  }
})();
const { rate, durationMs, settleMs, statsEveryMs, pingEveryMs, sdpBytes, candidates } = opts;

/** @type {{url: string, sessions: Array<{room: string, host: string, guest: string}>}} */
const plan = JSON.parse(readFileSync(opts.plan, "utf8"));

const now = () => performance.now();
const timetable = new Timetable(now);
const metrics = new Metrics();
const health = new Health();
const slowest = new SlowestPerSecond();

/** The run's phases, on `now()`'s clock; Infinity until decided. */
const phase = { start: now() + 500, settled: Infinity, steadyFrom: Infinity, steadyTo: Infinity };

/** @param {number} due */
const inSteady = (due) => due >= phase.steadyFrom && due < phase.steadyTo;

/** One socket: a participant of one room. */
class Client {
  /** @type {WebSocket | undefined} */
  ws = undefined;
  startedAt = NaN;
  joinSentAt = NaN;
  welcomedAt = NaN;
  negotiatedAt = NaN;
  offerSentAt = NaN;
  failed = false;
  closing = false;
  closed = false;
  pingId = 0;
  /** The first frames' types (and `welcome`'s peer.present), for rooms that do not negotiate. */
  /** @type {string[]} */
  seen = [];
  /** Stats sent and not yet answered, oldest first: [due, sent]. @type {Array<[number, number]>} */
  stats = [];
  /** Pings sent and not yet answered, by id: [due, sent]. @type {Map<number, [number, number]>} */
  pings = new Map();

  /**
   * @param {number} index
   * @param {string} room
   * @param {"host" | "guest"} role
   * @param {string} token
   */
  constructor(index, room, role, token) {
    this.index = index;
    this.room = room;
    this.role = role;
    this.token = token;
    this.ufrag = `u${index.toString(36)}`;
  }

  /** The other participant of the room. @type {Client | undefined} */
  partner = undefined;

  /** One of the --stalled pairs: not timed; its host stops reading in the steady period. */
  get stalled() {
    return this.index < 2 * opts.stalled;
  }

  /** A stalled pair's guest: ms from the stall to `peer-reconnecting`/`peer-left`, bytes it sent. */
  stall = { toldMs: NaN, told: "", offersSent: 0 };

  /** Done setting up: negotiated, or it (or its partner, whom it waits for) failed. */
  get settled() {
    return this.failed || this.closed || !Number.isNaN(this.negotiatedAt) || Boolean(this.partner?.failed);
  }
}

const clients = plan.sessions.flatMap(({ room, host, guest }, n) => {
  const pair = [new Client(2 * n, room, "host", host), new Client(2 * n + 1, room, "guest", guest)];
  [pair[0].partner, pair[1].partner] = [pair[1], pair[0]];
  return pair;
});

/** @param {Client} client @param {string} why */
function fail(client, why) {
  if (client.failed) return;
  client.failed = true;
  metrics.count("failures", why);
}

/** @param {Client} client @param {object | string} frame */
function send(client, frame) {
  client.ws?.send(typeof frame === "string" ? frame : JSON.stringify(frame));
}

/** @param {Client} client @param {number} due */
function open(client, due) {
  client.startedAt = now();
  const ws = new WebSocket(`${plan.url}/s/${client.room}/ws`, {
    perMessageDeflate: opts.deflate,
    handshakeTimeout: opts.handshakeTimeoutMs,
    maxPayload: 1 << 20,
  });
  client.ws = ws;
  ws.on("open", () => {
    const at = now();
    metrics.add("handshake", at - client.startedAt);
    metrics.add("handshake_from_schedule", at - due);
    client.joinSentAt = now();
    send(client, { type: "join", v: 1, token: client.token });
  });
  ws.on("message", (data) => onFrame(client, due, String(data)));
  ws.on("error", (error) => {
    metrics.count("errors", String(error.message).replace(/\d+\.\d+\.\d+\.\d+:\d+/, "ADDR").slice(0, 80));
    fail(client, Number.isNaN(client.welcomedAt) ? "error before welcome" : "error after welcome");
  });
  ws.on("close", (code) => {
    client.closed = true;
    if (client.closing) return;
    if (client.stalled) return void metrics.count("stalled_closes", `${code} ${client.role}`);
    const when = Number.isNaN(client.welcomedAt) ? "before welcome" : "after welcome";
    metrics.count("unexpected_closes", `${code} ${when}`);
    fail(client, `closed ${when}`);
  });
}

/** @param {Client} client @param {number} openDue @param {string} text */
function onFrame(client, openDue, text) {
  const at = now();
  /** @type {{type?: string, id?: number, code?: string, peer?: {present?: boolean}}} */
  let frame;
  try {
    frame = JSON.parse(text);
  } catch {
    metrics.count("error_frames", "not JSON");
    return;
  }
  metrics.count("frames_in", String(frame.type));
  if (client.seen.length < 12 && frame.type !== "quality" && frame.type !== "pong") {
    const present = frame.peer?.present;
    client.seen.push(frame.type === "welcome" ? `welcome(present=${present})` : String(frame.type));
  }
  switch (frame.type) {
    case "welcome":
      client.welcomedAt = at;
      metrics.add("join_welcome", at - client.joinSentAt);
      metrics.add("connect_welcome", at - client.startedAt);
      metrics.add("connect_welcome_from_schedule", at - openDue);
      schedulePing(client, at + Math.random() * pingEveryMs); // a stalled pair pings too: it is alive
      break;
    case "peer-joined": // the one already in the room offers
      client.offerSentAt = now();
      send(client, { type: "offer", sdp: sdp("offer", client.ufrag, sdpBytes) });
      trickle(client);
      break;
    case "offer":
      send(client, { type: "answer", sdp: sdp("answer", client.ufrag, sdpBytes) });
      trickle(client);
      negotiated(client, now());
      break;
    case "answer":
      metrics.add("offer_answer", at - client.offerSentAt);
      negotiated(client, at);
      break;
    case "quality": {
      const pending = client.stats.shift();
      if (pending === undefined) metrics.count("unmatched", "quality");
      else timeReply("stats_quality", pending, at);
      break;
    }
    case "pong": {
      if (client.stalled) break; // not timed
      const pending = client.pings.get(Number(frame.id));
      if (pending === undefined) metrics.count("unmatched", "pong");
      else {
        client.pings.delete(Number(frame.id));
        timeReply("ping_pong", pending, at);
      }
      break;
    }
    case "error":
      metrics.count("error_frames", String(frame.code));
      break;
    case "peer-reconnecting":
    case "peer-left":
      if (client.stalled && client.role === "guest" && now() >= phase.steadyFrom && !client.stall.told) {
        client.stall.toldMs = now() - phase.steadyFrom;
        client.stall.told = String(frame.type);
      }
      break;
  }
}

/** A stalled pair: the host stops reading; the guest sends it ~58 KB offers at 15/s till told. */
function stall(/** @type {Client} */ host) {
  const guest = host.partner;
  // @ts-ignore: ws keeps the net.Socket here; pausing it stops reading, as a stuck client would
  host.ws?._socket?.pause();
  if (guest === undefined) return;
  const offer = { type: "offer", sdp: sdp("offer", guest.ufrag, 56_000) };
  const text = JSON.stringify(offer);
  const each = (/** @type {number} */ due) => {
    if (due >= phase.steadyTo || guest.stall.told || guest.ws?.readyState !== WebSocket.OPEN) return;
    send(guest, text);
    guest.stall.offersSent += 1;
    timetable.at(due + 1000 / 15, each);
  };
  timetable.at(now(), each);
}

/** @param {string} name @param {[number, number]} pending @param {number} at */
function timeReply(name, [due, sent], at) {
  if (inSteady(due)) {
    metrics.add(name, at - sent);
    metrics.add(`${name}_from_schedule`, at - due);
    slowest.add(Math.floor((due - phase.steadyFrom) / 1000), at - due);
  } else {
    metrics.add(`ramp_${name}`, at - sent);
  }
}

/** @param {Client} client */
function trickle(client) {
  for (let n = 0; n < candidates; n++) {
    send(client, { type: "candidate", candidate: candidate(n, client.ufrag) });
  }
}

/** @param {Client} client @param {number} at */
function negotiated(client, at) {
  if (!Number.isNaN(client.negotiatedAt)) return; // a renegotiation: the reports go on
  client.negotiatedAt = at;
  if (client.stalled) return;
  scheduleStats(client, at + Math.random() * statsEveryMs);
}

/** @param {Client} client @param {number} due */
function scheduleStats(client, due) {
  timetable.at(due, (when) => {
    if (when >= phase.steadyTo || client.closed || client.ws?.readyState !== WebSocket.OPEN) return;
    const sent = now();
    send(client, statsFrame((sent - client.negotiatedAt) / 1000));
    client.stats.push([when, sent]);
    if (inSteady(when)) {
      metrics.add("send_late", sent - when);
      metrics.count("steady_sent", "stats");
    }
    scheduleStats(client, when + statsEveryMs);
  });
}

/** @param {Client} client @param {number} due */
function schedulePing(client, due) {
  timetable.at(due, (when) => {
    if (when >= phase.steadyTo || client.closed || client.ws?.readyState !== WebSocket.OPEN) return;
    const id = ++client.pingId;
    const sent = now();
    send(client, { type: "ping", id });
    if (!client.stalled) client.pings.set(id, [when, sent]); // a stalled pair's pings are not timed
    if (inSteady(when) && !client.stalled) metrics.count("steady_sent", "ping");
    schedulePing(client, when + pingEveryMs);
  });
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** @param {() => boolean} done @param {number} until @param {() => void} [each] */
async function waitFor(done, until, each) {
  for (let tick = 0; !done() && now() < until; tick++) {
    if (each && tick % 50 === 0) each();
    await sleep(100);
  }
}

/** @param {string} text */
const say = (text) => process.stderr.write(`${text}\n`);
/** @param {string} line */
const emit = (line) => new Promise((resolve) => process.stdout.write(`${line}\n`, () => resolve(undefined)));

async function main() {
  const rampMs = (1000 * clients.length) / rate;
  const offering = opts.deflate ? "offering" : "not offering";
  const sockets = `${clients.length} sockets (${plan.sessions.length} sessions)`;
  say(`loadgen: ${sockets} at ${rate}/s, ${offering} permessage-deflate`);
  clients.forEach((client, n) => timetable.at(phase.start + (n * 1000) / rate, (due) => open(client, due)));
  // Set up: every socket negotiated or failed, or welcomed --negotiate-timeout s ago and still not
  // negotiated (a room the server lost track of must not hold the steady period back).
  const given = (/** @type {Client} */ c) => now() - c.welcomedAt > opts.negotiateTimeoutMs;
  const setUp = () => clients.every((c) => c.settled || given(c));
  await waitFor(setUp, phase.start + rampMs + opts.setupTimeoutMs, () => {
    const welcomed = clients.filter((c) => !Number.isNaN(c.welcomedAt)).length;
    const at = Math.max(0, (now() - phase.start) / 1000).toFixed(0);
    say(`  ${at} s: ${welcomed} welcomed, ${metrics.total("failures")} failed`);
  });
  for (const c of clients) {
    if (c.settled) continue;
    fail(c, Number.isNaN(c.welcomedAt) ? "no welcome in time" : "welcomed, not negotiated in time");
  }
  const ramp = health.read();
  phase.settled = now();
  phase.steadyFrom = phase.settled + settleMs;
  phase.steadyTo = phase.steadyFrom + durationMs;
  const settledS = (phase.settled - phase.start) / 1000;
  const ramping = `the ramp alone is ${(rampMs / 1000).toFixed(1)} s`;
  say(`  settled ${settledS.toFixed(1)} s after the first socket (${ramping})`);
  await sleep(phase.steadyFrom - now());
  await emit("PHASE steady-start");
  health.start();
  for (const c of clients) if (c.stalled && c.role === "host") stall(c);
  await sleep(phase.steadyTo - now());
  const steady = health.read();
  await emit("PHASE steady-end");
  /** @param {[number, number]} sent */
  const steadyFrame = ([due]) => inSteady(due);
  const timed = clients.filter((c) => !c.stalled);
  const unanswered = () => ({
    stats: timed.reduce((n, c) => n + c.stats.filter(steadyFrame).length, 0),
    pings: timed.reduce((n, c) => n + [...c.pings.values()].filter(steadyFrame).length, 0),
  });
  await waitFor(() => unanswered().stats + unanswered().pings === 0, now() + REPLY_GRACE_MS);
  const left = unanswered();
  timetable.clear();
  for (const c of clients) {
    c.closing = true;
    c.ws?.close(1000);
  }
  await waitFor(() => clients.every((c) => c.closed || c.ws === undefined), now() + 5_000);
  for (const c of clients) if (!c.closed) c.ws?.terminate();
  const result = summary({ rampMs, settledS, ramp, steady, unanswered: left });
  printSummary(result, say);
  await emit(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
}

/**
 * @param {object} m
 * @param {number} m.rampMs
 * @param {number} m.settledS
 * @param {import("./report.mjs").PhaseHealth} m.ramp
 * @param {import("./report.mjs").PhaseHealth} m.steady
 * @param {{stats: number, pings: number}} m.unanswered
 */
function summary(m) {
  const counters = metrics.counters();
  const latencyMs = metrics.summaries();
  const negotiated = new Map();
  for (const c of clients) {
    negotiated.set(c.room, (negotiated.get(c.room) ?? 0) + (Number.isNaN(c.negotiatedAt) ? 0 : 1));
  }
  return {
    generator: "node-ws",
    versions: { node: process.version, ws: createRequire(import.meta.url)("ws/package.json").version },
    options: {
      rate,
      durationS: durationMs / 1000,
      settleS: settleMs / 1000,
      statsEveryS: statsEveryMs / 1000,
      pingEveryS: pingEveryMs / 1000,
      sdpBytes,
      candidates,
      deflateOffered: opts.deflate,
    },
    sockets: {
      planned: clients.length,
      opened: latencyMs.handshake?.n ?? 0,
      welcomed: clients.filter((c) => !Number.isNaN(c.welcomedAt)).length,
      roomsNegotiated: [...negotiated.values()].filter((n) => n === 2).length,
      rooms: negotiated.size,
    },
    unexpectedCloses: counters.unexpected_closes ?? {},
    stalledCloses: counters.stalled_closes ?? {},
    failures: counters.failures ?? {},
    errors: counters.errors ?? {},
    errorFrames: counters.error_frames ?? {},
    unmatched: counters.unmatched ?? {},
    stalled: clients
      .filter((c) => c.stalled && c.role === "guest")
      .map((c) => ({ toldS: Math.round(c.stall.toldMs) / 1000, told: c.stall.told, offersSent: c.stall.offersSent })),
    notNegotiated: clients
      .filter((c) => Number.isNaN(c.negotiatedAt))
      .slice(0, 6)
      .map((c) => `${c.room.slice(0, 8)} ${c.role}: got ${c.seen.join(" ")}; `
        + `${c.pings.size} pings unanswered`),
    framesIn: counters.frames_in ?? {},
    steady: { seconds: durationMs / 1000, sent: counters.steady_sent ?? {}, unanswered: m.unanswered },
    timeline: { rampS: m.rampMs / 1000, settledS: Math.round(m.settledS * 10) / 10 },
    stalls: {
      thresholdMs: opts.stallMs,
      seconds: slowest.over(opts.stallMs).map(([second, ms]) => ({
        second,
        wallS: Math.round(performance.timeOrigin + phase.steadyFrom + 1000 * second) / 1000,
        maxMs: Math.round(ms),
      })),
    },
    latencyMs,
    self: { steady: m.steady, ramp: m.ramp, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) },
  };
}

await main();
