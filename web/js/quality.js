// The connection indicators: signal bars for my uplink and for the other
// person's, from the server's `quality` frames (docs/protocol.md). The server
// does the scoring (media/quality_score.py); this only turns its audio and video
// levels into one level, bars and words.

import { connectionLabel } from "./texts.js";

/** @typedef {import("./protocol.js").LinkReport} LinkReport */

/**
 * One word for a link, worst first: `lost` (no audio arrives), `bad`, `poor`,
 * `fair`, `good`, `excellent`; `unknown` until the server has judged it. The bars
 * (room.html, duet.css) light 0, 1, 1, 2, 3 and 4 of 4; `bad` and `lost` are red.
 * @typedef {"lost" | "bad" | "poor" | "fair" | "good" | "excellent" | "unknown"} LinkLevel
 */

/** @type {readonly LinkLevel[]} */
const WORST_FIRST = Object.freeze(["lost", "bad", "poor", "fair", "good", "excellent"]);

/**
 * Audio's level is the link's level: it is what keeps a conversation going.
 * @type {Readonly<Record<string, LinkLevel>>}
 */
const FROM_AUDIO = Object.freeze({ excellent: "excellent", good: "good", poor: "poor", bad: "bad", lost: "lost" });

/**
 * Video can only pull the level down: `fair` video caps it at fair, `poor` at poor.
 * Good video caps nothing; `off` and `unknown` say nothing about the link.
 * @type {Readonly<Record<string, LinkLevel>>}
 */
const VIDEO_CAP = Object.freeze({ good: "excellent", fair: "fair", poor: "poor" });

/**
 * The link's level from the server's audio and video levels: the worse of the two,
 * where video counts only when it says something is wrong.
 * @param {Pick<LinkReport, "audio" | "video">} report
 * @returns {LinkLevel}
 */
export function linkLevel({ audio, video }) {
  const fromAudio = FROM_AUDIO[audio];
  const cap = VIDEO_CAP[video];
  if (!fromAudio) return cap === undefined ? "unknown" : video === "good" ? "good" : cap;
  if (!cap) return fromAudio;
  return WORST_FIRST[Math.min(WORST_FIRST.indexOf(fromAudio), WORST_FIRST.indexOf(cap))];
}

/**
 * One signal indicator (a button: a tap shows its words on a phone, where there are no tooltips).
 * It stays hidden until the first report of a call.
 */
export class QualityIndicator {
  #element;
  /** @type {string | null} */
  #peer;
  #label = "";

  /**
   * @param {HTMLElement} element  Holds the bars; gets `data-level`, `aria-label` and `title`.
   * @param {(text: string) => void} explain  Shows the words for a moment (on click).
   */
  constructor(element, explain) {
    this.#element = element;
    this.#peer = null;
    element.addEventListener("click", () => explain(this.#label));
    this.reset();
  }

  /**
   * @param {LinkReport} report
   * @param {string | null} peer  The other person's name, or `null` for my own link.
   */
  show(report, peer) {
    this.#peer = peer;
    const level = linkLevel(report);
    const problems = Array.isArray(report.problems) ? report.problems.filter((p) => typeof p === "string") : [];
    this.#render(level, connectionLabel(level, problems, peer));
  }

  /** No call, or a new one: nothing is known yet. */
  reset() {
    this.#render("unknown", connectionLabel("unknown", [], this.#peer));
    this.#element.hidden = true;
  }

  /**
   * @param {LinkLevel} level
   * @param {string} label
   */
  #render(level, label) {
    this.#label = label;
    this.#element.hidden = false;
    this.#element.dataset.level = level;
    this.#element.setAttribute("aria-label", label);
    this.#element.title = label;
  }
}
