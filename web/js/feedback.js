// @ts-check
// After the call: 1-5 stars and, below five, what went wrong (a fixed vocabulary)
// and a comment. `reduceFeedback` is the form's whole state machine (pure, tested
// with `node --test web/js/tests`); `FeedbackForm` renders it into its root element
// and sends it to `POST /s/{room}/feedback` with the join token (in the body).

import { postJson } from "./http.js";

/** @typedef {"video_froze" | "audio_choppy" | "could_not_hear" | "could_not_see" | "echo" | "dropped" | "other"} Chip */

/** The chips, in the order shown, with their words. @type {ReadonlyArray<[Chip, string]>} */
export const CHIPS = [
  ["video_froze", "Video froze"],
  ["audio_choppy", "Audio was choppy"],
  ["could_not_hear", "Could not hear"],
  ["could_not_see", "Could not see"],
  ["echo", "Echo"],
  ["dropped", "Call dropped"],
  ["other", "Something else"],
];

/**
 * @typedef {object} FeedbackState
 * @property {number} rating  0 until chosen, then 1-5.
 * @property {Chip[]} chips  In the order ticked; none at five stars.
 * @property {string} comment
 * @property {"editing" | "sending" | "sent"} status
 * @property {string | null} error  Why the last send did not go through, in words.
 * @property {boolean} replaced  The server already had a rating from this person (it now has this one).
 */

/**
 * @typedef {{type: "rate", rating: number} | {type: "chip", chip: Chip} | {type: "comment", text: string}
 *   | {type: "send"} | {type: "sent", replaced: boolean} | {type: "failed", error: string} | {type: "edit"}} FeedbackEvent
 */

/** @type {FeedbackState} */
export const initialFeedback = Object.freeze({
  rating: 0,
  chips: [],
  comment: "",
  status: "editing",
  error: null,
  replaced: false,
});

export const MAX_COMMENT = 1000;

/**
 * @param {FeedbackState} state
 * @param {FeedbackEvent} event
 * @returns {FeedbackState}
 */
export function reduceFeedback(state, event) {
  switch (event.type) {
    case "rate": {
      const rating = Math.min(5, Math.max(1, Math.round(event.rating)));
      return { ...state, rating, chips: rating === 5 ? [] : state.chips, error: null };
    }
    case "chip": {
      if (state.rating === 5 || state.status !== "editing") return state;
      const chips = state.chips.includes(event.chip)
        ? state.chips.filter((chip) => chip !== event.chip)
        : [...state.chips, event.chip];
      return { ...state, chips };
    }
    case "comment":
      return { ...state, comment: event.text.slice(0, MAX_COMMENT) };
    case "send":
      if (state.status !== "editing") return state;
      if (state.rating === 0) return { ...state, error: "Choose how many stars first." };
      return { ...state, status: "sending", error: null };
    case "sent":
      return { ...state, status: "sent", replaced: event.replaced, error: null };
    case "failed":
      return { ...state, status: "editing", error: event.error };
    case "edit":
      return state.status === "sent" ? { ...state, status: "editing" } : state;
    default:
      return state;
  }
}

/**
 * The request body for a state ready to send.
 * @param {FeedbackState} state
 * @param {string} token
 */
export function feedbackBody(state, token) {
  return { token, rating: state.rating, chips: state.rating < 5 ? state.chips : [], comment: state.comment.trim() };
}

/** The form in `root` (see room.html's `#feedback`), for one join link. */
export class FeedbackForm {
  /** @type {FeedbackState} */
  state = initialFeedback;

  /**
   * @param {HTMLElement} root
   * @param {{roomId: string, token: string}} link
   */
  constructor(root, link) {
    this.root = root;
    this.link = link;
    const stars = /** @type {HTMLElement} */ (root.querySelector(".feedback-stars"));
    for (let n = 1; n <= 5; n++) {
      const star = document.createElement("button");
      star.type = "button";
      star.className = "feedback-star";
      star.dataset.rating = String(n);
      star.setAttribute("aria-label", `${n} star${n > 1 ? "s" : ""}`);
      star.textContent = "★";
      star.addEventListener("click", () => this.dispatch({ type: "rate", rating: n }));
      stars.append(star);
    }
    const chips = /** @type {HTMLElement} */ (root.querySelector(".feedback-chips"));
    for (const [chip, words] of CHIPS) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "chip";
      button.dataset.chip = chip;
      button.textContent = words;
      button.addEventListener("click", () => this.dispatch({ type: "chip", chip }));
      chips.append(button);
    }
    const comment = /** @type {HTMLTextAreaElement} */ (root.querySelector("textarea"));
    comment.maxLength = MAX_COMMENT;
    comment.addEventListener("input", () => this.dispatch({ type: "comment", text: comment.value }));
    root.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    /** @type {HTMLButtonElement} */ (root.querySelector(".feedback-again")).addEventListener("click", () =>
      this.dispatch({ type: "edit" }),
    );
    this.render();
  }

  /** @param {FeedbackEvent} event */
  dispatch(event) {
    this.state = reduceFeedback(this.state, event);
    this.render();
  }

  async send() {
    this.dispatch({ type: "send" });
    if (this.state.status !== "sending") return;
    const path = `/s/${encodeURIComponent(this.link.roomId)}/feedback`;
    const { response, body } = await postJson(path, feedbackBody(this.state, this.link.token));
    if (response?.ok) {
      this.dispatch({ type: "sent", replaced: Boolean(body?.replaced) });
    } else {
      const error = response === null ? "duet could not be reached. Try again." : body?.message ?? "That did not work. Try again.";
      this.dispatch({ type: "failed", error });
    }
  }

  render() {
    const { rating, chips, status, error, replaced } = this.state;
    const root = this.root;
    root.dataset.status = status;
    for (const star of root.querySelectorAll(".feedback-star")) {
      const n = Number(/** @type {HTMLElement} */ (star).dataset.rating);
      star.classList.toggle("on", n <= rating);
      star.setAttribute("aria-pressed", String(n === rating));
    }
    /** @type {HTMLElement} */ (root.querySelector(".feedback-what")).hidden = rating === 0 || rating === 5;
    for (const chip of root.querySelectorAll(".chip")) {
      const on = chips.includes(/** @type {Chip} */ (/** @type {HTMLElement} */ (chip).dataset.chip));
      chip.classList.toggle("on", on);
      chip.setAttribute("aria-pressed", String(on));
    }
    const sending = status === "sending";
    /** @type {HTMLButtonElement} */ (root.querySelector(".feedback-send")).disabled = sending;
    /** @type {HTMLElement} */ (root.querySelector(".feedback-fields")).hidden = status === "sent";
    const done = /** @type {HTMLElement} */ (root.querySelector(".feedback-done"));
    done.hidden = status !== "sent";
    /** @type {HTMLElement} */ (done.querySelector("p")).textContent = replaced
      ? "Thank you: this replaces your earlier rating."
      : "Thank you for your feedback.";
    const problem = /** @type {HTMLElement} */ (root.querySelector(".feedback-error"));
    problem.hidden = error === null;
    problem.textContent = error ?? "";
  }
}
