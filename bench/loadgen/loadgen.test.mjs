// @ts-check
// The load generator's pure parts: node --test bench/loadgen
import assert from "node:assert/strict";
import { test } from "node:test";
import { candidate, sdp, statsFrame } from "./frames.mjs";
import { SlowestPerSecond, summarize } from "./metrics.mjs";
import { Timetable } from "./timetable.mjs";

test("summarize: nearest-rank percentiles and the maximum", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  const cases = [
    { values: [], want: { n: 0, p50: null, p90: null, p99: null, max: null } },
    { values: [7], want: { n: 1, p50: 7, p90: 7, p99: 7, max: 7 } },
    { values: [3, 1, 2], want: { n: 3, p50: 2, p90: 3, p99: 3, max: 3 } },
    { values: hundred, want: { n: 100, p50: 50, p90: 90, p99: 99, max: 100 } },
    { values: [0.123456], want: { n: 1, p50: 0.12, p90: 0.12, p99: 0.12, max: 0.12 } },
  ];
  for (const { values, want } of cases) assert.deepEqual(summarize(values), want);
});

test("slowest per second: the seconds whose slowest reply was over the threshold, in time order", () => {
  const slowest = new SlowestPerSecond();
  for (const [second, ms] of [[3, 10], [1, 80], [3, 120], [1, 20], [0, 5], [2, 50]]) slowest.add(second, ms);
  assert.deepEqual(slowest.over(50), [[1, 80], [3, 120]]);
  assert.deepEqual(slowest.over(200), []);
});

test("timetable: jobs run in due order, told their due time, ties in the order added", () => {
  let clock = 0;
  const table = new Timetable(() => clock);
  /** @type {Array<[string, number]>} */
  const ran = [];
  table.at(30, (due) => ran.push(["c", due]));
  table.at(10, (due) => ran.push(["a", due]));
  table.at(20, (due) => ran.push(["b1", due]));
  table.at(20, (due) => ran.push(["b2", due]));
  clock = 25; // late: everything due by now runs, each with its own due time
  table.runDue();
  assert.deepEqual(ran, [["a", 10], ["b1", 20], ["b2", 20]]);
  assert.equal(table.size, 1);
  table.clear();
  assert.equal(table.size, 0);
});

test("timetable: a job may add the next one on the same timetable (no drift when late)", async () => {
  const start = performance.now();
  const table = new Timetable(() => performance.now());
  /** @type {number[]} */
  const dues = [];
  await new Promise((resolve) => {
    /** @param {number} due */
    const tick = (due) => {
      dues.push(due - start);
      if (dues.length === 3) resolve(undefined);
      else table.at(due + 5, tick);
    };
    table.at(start + 5, tick);
  });
  assert.deepEqual(dues, [5, 10, 15]);
});

test("frames: browser-shaped stats, an SDP of the size asked for, benchmarking-range candidates", () => {
  const stats = JSON.parse(statsFrame(10));
  assert.equal(stats.type, "stats");
  assert.equal(stats.inbound.video.framesDecoded, 300);
  assert.ok(statsFrame(3600).length < 8 * 1024, "under duet's 8 KiB stats limit");
  const offer = sdp("offer", "abc", 3000);
  assert.ok(offer.length >= 3000 && offer.length < 3100, String(offer.length));
  assert.match(offer, /^v=0\r\n/);
  assert.match(offer, /a=ice-ufrag:abc\r\n/);
  assert.match(offer, /a=setup:actpass/);
  assert.match(sdp("answer", "abc", 3000), /a=setup:active/);
  const c = candidate(3, "abc");
  assert.match(c.candidate, /^candidate:\d+ 1 udp \d+ 198\.18\.0\.4 50003 typ host .*ufrag abc/);
  assert.deepEqual([c.sdpMid, c.sdpMLineIndex, c.usernameFragment], ["0", 0, "abc"]);
});
