// @ts-check
// Latency samples and counters, and their summaries (milliseconds; nearest-rank percentiles).

/**
 * @typedef {object} Summary
 * @property {number} n  Samples.
 * @property {number | null} p50  Milliseconds (null without samples).
 * @property {number | null} p90
 * @property {number | null} p99
 * @property {number | null} max
 */

/**
 * Nearest-rank percentiles and the maximum of `values` (milliseconds), rounded to 0.01 ms.
 * @param {ArrayLike<number>} values
 * @returns {Summary}
 */
export function summarize(values) {
  const n = values.length;
  if (n === 0) return { n, p50: null, p90: null, p99: null, max: null };
  const sorted = Float64Array.from(values).sort();
  /** @param {number} q */
  const rank = (q) => round(sorted[Math.max(0, Math.ceil(q * n) - 1)]);
  return { n, p50: rank(0.5), p90: rank(0.9), p99: rank(0.99), max: round(sorted[n - 1]) };
}

/** @param {number} ms */
function round(ms) {
  return Math.round(ms * 100) / 100;
}

/** Named latency series (milliseconds) and named counters. */
export class Metrics {
  /** @type {Map<string, number[]>} */
  #series = new Map();
  /** @type {Map<string, Map<string, number>>} */
  #counters = new Map();

  /**
   * @param {string} name
   * @param {number} ms
   */
  add(name, ms) {
    let values = this.#series.get(name);
    if (values === undefined) this.#series.set(name, (values = []));
    values.push(ms);
  }

  /**
   * @param {string} group  e.g. "closes"
   * @param {string} key  e.g. "1006 after welcome"
   * @param {number} [by]
   */
  count(group, key, by = 1) {
    let counts = this.#counters.get(group);
    if (counts === undefined) this.#counters.set(group, (counts = new Map()));
    counts.set(key, (counts.get(key) ?? 0) + by);
  }

  /**
   * @param {string} group
   * @returns {number}  The group's total.
   */
  total(group) {
    let sum = 0;
    for (const n of this.#counters.get(group)?.values() ?? []) sum += n;
    return sum;
  }

  /** @returns {Record<string, Summary>} */
  summaries() {
    return Object.fromEntries([...this.#series].map(([name, values]) => [name, summarize(values)]));
  }

  /** @returns {Record<string, Record<string, number>>} */
  counters() {
    const groups = [...this.#counters].map(([group, counts]) => [group, Object.fromEntries(counts)]);
    return Object.fromEntries(groups);
  }
}

/** The slowest reply of each second of a period: where the stalls were, and when. */
export class SlowestPerSecond {
  /** @type {Map<number, number>} */
  #max = new Map();

  /**
   * @param {number} second  Whole seconds since the period began.
   * @param {number} ms
   */
  add(second, ms) {
    if (ms > (this.#max.get(second) ?? -Infinity)) this.#max.set(second, ms);
  }

  /**
   * Seconds whose slowest reply took longer than `thresholdMs`, in time order.
   * @param {number} thresholdMs
   * @returns {Array<[number, number]>}  [second, ms]
   */
  over(thresholdMs) {
    return [...this.#max].filter(([, ms]) => ms > thresholdMs).sort((a, b) => a[0] - b[0]);
  }
}
