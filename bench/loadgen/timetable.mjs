// @ts-check
// An absolute timetable: every send is due at a time fixed in advance (start + k × interval), and
// its callback is told that time. A generator that falls behind sends late but keeps the timetable
// (it does not drift), and the caller can time a reply from the due time as well as from the
// actual send: the difference is the coordinated omission a relative `setTimeout` loop hides.

/** @typedef {(due: number) => void} Job */

/**
 * Jobs ordered by due time (milliseconds on `performance.now()`'s clock) in a binary heap, run by
 * one timer armed for the earliest. Jobs due at the same time run in the order they were added.
 */
export class Timetable {
  /** @type {Array<{due: number, seq: number, job: Job}>} */
  #heap = [];
  #seq = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer = undefined;
  #armedFor = Infinity;
  #now;

  /** @param {() => number} now  The clock, in milliseconds. */
  constructor(now) {
    this.#now = now;
  }

  /** Jobs waiting. */
  get size() {
    return this.#heap.length;
  }

  /**
   * Run `job(due)` at `due` (or as soon after as the event loop allows).
   * @param {number} due
   * @param {Job} job
   */
  at(due, job) {
    this.#push({ due, seq: this.#seq++, job });
    if (due < this.#armedFor) this.#arm();
  }

  /** Drop every job and the timer. */
  clear() {
    this.#heap = [];
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  /** Run every job due by now (for tests and for the timer). */
  runDue() {
    while (this.#heap.length > 0 && this.#heap[0].due <= this.#now()) {
      const { due, job } = this.#pop();
      job(due);
    }
  }

  #arm() {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
    if (this.#heap.length === 0) return;
    const due = this.#heap[0].due;
    this.#armedFor = due;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#armedFor = Infinity;
        this.runDue();
        this.#arm();
      },
      Math.max(0, due - this.#now()),
    );
  }

  /** @param {{due: number, seq: number, job: Job}} item */
  #push(item) {
    const heap = this.#heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  #pop() {
    const heap = this.#heap;
    const top = heap[0];
    const last = /** @type {{due: number, seq: number, job: Job}} */ (heap.pop());
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let least = i;
        if (left < heap.length && before(heap[left], heap[least])) least = left;
        if (right < heap.length && before(heap[right], heap[least])) least = right;
        if (least === i) break;
        [heap[i], heap[least]] = [heap[least], heap[i]];
        i = least;
      }
    }
    return top;
  }
}

/**
 * @param {{due: number, seq: number}} a
 * @param {{due: number, seq: number}} b
 */
function before(a, b) {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}
