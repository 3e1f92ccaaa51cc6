// A microphone level meter: Web Audio's AnalyserNode feeding a row of segments.
//
// The segments are plain elements whose `on` class is toggled, so the meter
// needs no inline style (the page's Content-Security-Policy forbids them).

/**
 * The meter spans -60 dBFS (quiet room) to -6 dBFS (loud speech close to the
 * microphone); speech at a normal distance sits around -30 to -20 dBFS.
 */
const FLOOR_DB = -60;
const CEILING_DB = -6;

/** How fast the bar falls back, per animation frame (about 60 per second). */
const DECAY_PER_FRAME = 0.04;

/** Samples per analysis window: 2048 at 48 kHz is about 43 ms. */
const FFT_SIZE = 2048;

/** Shows the level of one audio track in a container of segment elements. */
export class LevelMeter {
  /** @type {AudioContext | null} */
  #context = null;
  /** @type {MediaStreamAudioSourceNode | null} */
  #source = null;
  /** @type {AnalyserNode | null} */
  #analyser = null;
  /** @type {Float32Array<ArrayBuffer> | null} */
  #samples = null;
  #frame = 0;
  #level = 0;
  #segments;

  /** @param {HTMLElement} container  Its children are the segments, quietest first. */
  constructor(container) {
    this.#segments = Array.from(container.children);
    // Browsers start an AudioContext suspended until the person interacts with the page.
    const resume = () => {
      if (this.#context?.state === "suspended") this.#context.resume().catch(() => {});
    };
    for (const type of ["pointerdown", "keydown", "touchend"]) {
      document.addEventListener(type, resume, { capture: true, passive: true });
    }
  }

  /**
   * Measure `track` (or nothing: the meter shows silence).
   * @param {MediaStreamTrack | null} track
   */
  attach(track) {
    this.#disconnect();
    if (!track || typeof AudioContext === "undefined") {
      this.#render(0);
      return;
    }
    this.#context ??= new AudioContext();
    if (this.#context.state === "suspended") this.#context.resume().catch(() => {});
    this.#source = this.#context.createMediaStreamSource(new MediaStream([track]));
    this.#analyser = this.#context.createAnalyser();
    this.#analyser.fftSize = FFT_SIZE;
    this.#samples = new Float32Array(this.#analyser.fftSize);
    this.#source.connect(this.#analyser);
    this.#frame = requestAnimationFrame(() => this.#tick());
  }

  /** Stop measuring and release the audio graph. */
  detach() {
    this.#disconnect();
    this.#render(0);
  }

  #tick() {
    const analyser = this.#analyser;
    const samples = this.#samples;
    if (!analyser || !samples) return;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    const rms = Math.sqrt(sum / samples.length);
    const db = rms > 0 ? 20 * Math.log10(rms) : FLOOR_DB;
    const target = Math.min(1, Math.max(0, (db - FLOOR_DB) / (CEILING_DB - FLOOR_DB)));
    this.#level = Math.max(target, this.#level - DECAY_PER_FRAME);
    this.#render(this.#level);
    this.#frame = requestAnimationFrame(() => this.#tick());
  }

  /** @param {number} level  0 to 1. */
  #render(level) {
    const lit = Math.round(level * this.#segments.length);
    this.#segments.forEach((segment, index) => segment.classList.toggle("on", index < lit));
  }

  #disconnect() {
    cancelAnimationFrame(this.#frame);
    this.#source?.disconnect();
    this.#source = null;
    this.#analyser = null;
    this.#samples = null;
    this.#level = 0;
  }
}
