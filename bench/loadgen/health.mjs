// @ts-check
// The generator's own health, so a reader can tell whether it (rather than the server) was the
// limit: its CPU-seconds per second and its event-loop lag over a phase of the run.

import { monitorEventLoopDelay, performance } from "node:perf_hooks";

/** The lag histogram's sampling interval; what it records beyond this is lag. */
const RESOLUTION_MS = 10;

/** @param {number} x */
const round = (x, places = 1) => Math.round(x * 10 ** places) / 10 ** places;

/**
 * One phase's CPU and loop lag, from `start()` to `read()`.
 */
export class Health {
  #lag = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  #cpu = process.cpuUsage();
  #at = performance.now();

  constructor() {
    this.#lag.enable();
  }

  /** Start a new phase. */
  start() {
    this.#lag.reset();
    this.#cpu = process.cpuUsage();
    this.#at = performance.now();
  }

  /**
   * The phase so far: CPU-seconds per second, and loop lag p99 and max in ms beyond the sampling
   * interval (a timer due every 10 ms that fires after 13 ms counts 3 ms).
   * @returns {{cpu: number, lagP99Ms: number, lagMaxMs: number}}
   */
  read() {
    const used = process.cpuUsage(this.#cpu);
    const seconds = (performance.now() - this.#at) / 1000;
    const beyond = (/** @type {number} */ ns) => round(Math.max(0, ns / 1e6 - RESOLUTION_MS));
    return {
      cpu: round((used.user + used.system) / 1e6 / seconds, 3),
      lagP99Ms: beyond(this.#lag.percentile(99)),
      lagMaxMs: beyond(this.#lag.max),
    };
  }
}
