// The fallback prompt: the server's `suggest` question ("Your video is lagging.
// Switch to audio only?") with its answers, over the call without blocking it.
// One at a time: a newer suggestion replaces an older one; `withdraw` hides it.

import { dialInHref, readBackupPlan, telHref } from "./backup.js";
import { callPeer, dialIn, formatPhone, promptAnswers } from "./texts.js";
import { byId } from "./ui.js";

/** @typedef {import("./protocol.js").SuggestFrame} SuggestFrame */
/** @typedef {import("./protocol.js").CallMode} CallMode */

/**
 * "Call me", as the prompt offers it: the label (`null` when duet cannot call) and the action.
 * @typedef {object} CallMeOffer
 * @property {() => string | null} label
 * @property {() => void} start
 */

/**
 * The prompt (`#fallback-prompt`): the reason verbatim, `#prompt-accept` and
 * `#prompt-decline`. For the phone, the accepting answers are "Call me" (duet rings
 * this person's phone, when the deployment can) and `tel:` links (the other
 * person's number, the bridge's one-tap dial-in), so one tap both answers and dials.
 */
export class FallbackPrompt {
  #root = byId("fallback-prompt");
  #reason = byId("prompt-reason");
  #actions = byId("prompt-actions");
  /** @type {SuggestFrame | null} */
  #shown = null;
  #answer;
  #callMe;

  /**
   * @param {(suggestion: SuggestFrame, accept: boolean) => void} answer  Sends `decide`.
   * @param {CallMeOffer | null} [callMe]
   */
  constructor(answer, callMe = null) {
    this.#answer = answer;
    this.#callMe = callMe;
  }

  /** The suggestion on screen, if any. */
  get shown() {
    return this.#shown;
  }

  /**
   * Show a suggestion, replacing any other.
   * @param {SuggestFrame} suggestion
   * @param {string} peer  The other person's name.
   */
  show(suggestion, peer) {
    this.#shown = suggestion;
    this.#root.dataset.mode = suggestion.mode;
    this.#reason.textContent = suggestion.reason;
    this.#actions.replaceChildren(...this.#answers(suggestion, peer));
    this.#root.hidden = false;
  }

  /**
   * The server withdrew suggestion `id`: hide it if it is the one shown.
   * @param {string} id
   */
  withdraw(id) {
    if (this.#shown?.id === id) this.hide();
  }

  hide() {
    // The answers stay in the (hidden) card: a tapped tel: link must still be in the page to dial.
    this.#shown = null;
    this.#root.hidden = true;
  }

  /**
   * @param {SuggestFrame} suggestion
   * @param {string} peer
   * @returns {HTMLElement[]}
   */
  #answers(suggestion, peer) {
    const words = promptAnswers[suggestion.mode] ?? promptAnswers["audio-only"];
    /** @type {HTMLElement[]} */
    const accepting = [];
    const plan = suggestion.mode === "phone" ? readBackupPlan(/** @type {any} */ (suggestion.backup)) : null;
    const callMe = suggestion.mode === "phone" ? this.#callMe : null;
    const callMeLabel = callMe?.label() ?? null;
    if (callMe && callMeLabel) {
      // It works on any device (a tel: link needs a phone): first.
      accepting.push(this.#button(callMeLabel, suggestion, true, () => callMe.start()));
    }
    if (plan?.peerPhone) {
      const link = this.#link(telHref(plan.peerPhone), callPeer(peer), suggestion);
      link.title = formatPhone(plan.peerPhone);
      link.setAttribute("aria-label", `${callPeer(peer)}, ${formatPhone(plan.peerPhone)}`);
      accepting.push(link);
    }
    const bridge = plan ? dialInHref(plan) : null;
    if (plan && bridge) accepting.push(this.#link(bridge, dialIn(plan.pin), suggestion));
    if (accepting.length === 0) accepting.push(this.#button(words.accept, suggestion, true));
    accepting[0].id = "prompt-accept";
    accepting[0].classList.add("primary-button");
    for (const other of accepting.slice(1)) other.classList.add("secondary-button");
    const decline = this.#button(words.decline, suggestion, false);
    decline.id = "prompt-decline";
    decline.classList.add("ghost-button");
    return [...accepting, decline];
  }

  /**
   * @param {string} text
   * @param {SuggestFrame} suggestion
   * @param {boolean} accept
   * @param {() => void} [then]  What else the answer does, once it is sent.
   */
  #button(text, suggestion, accept, then) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = text;
    button.addEventListener("click", () => {
      if (this.#decide(suggestion, accept)) then?.();
    });
    return button;
  }

  /**
   * A `tel:` link that also accepts (the browser hands the number to the phone app).
   * @param {string} href
   * @param {string} text
   * @param {SuggestFrame} suggestion
   */
  #link(href, text, suggestion) {
    const link = document.createElement("a");
    link.href = href;
    link.textContent = text;
    link.addEventListener("click", () => this.#decide(suggestion, true));
    return link;
  }

  /**
   * @param {SuggestFrame} suggestion
   * @param {boolean} accept
   * @returns {boolean}  Whether the answer went out (the suggestion was still the one shown).
   */
  #decide(suggestion, accept) {
    if (this.#shown !== suggestion) return false; // replaced or withdrawn meanwhile
    this.hide();
    this.#answer(suggestion, accept);
    return true;
  }
}
