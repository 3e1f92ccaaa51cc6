// The phone bridge on the call screen: `#phone-status` (who is on the phone), "Call me" (the
// `#phone-sheet` card, opened from the controls' phone button, the phone prompt, the phone-mode
// panel or "Join by phone"), and the number form when duet has none for this person and the
// deployment lets people type one (the preview's `call_me.typed`; otherwise there is no form).
// The server is the authority on who is on the phone: a "Call me" request only rings; the
// `phone` frames say what happened.

import { dialInHref, readBackupPlan, renderBackupPlan } from "./backup.js";
import { readPhoneNumber, requestCallMe } from "./callme.js";
import { PhoneLine } from "./phone.js";
import { callMe as callWords, formatPhone, phone as words } from "./texts.js";
import { byId } from "./ui.js";

/** @typedef {import("./protocol.js").Role} Role */
/** @typedef {import("./protocol.js").CallMode} CallMode */
/** @typedef {import("./protocol.js").PhoneFrame} PhoneFrame */
/** @typedef {import("./phone.js").PhoneStatus} PhoneStatus */
/** @typedef {import("./backup.js").BackupPlan} BackupPlan */
/** @typedef {import("./preview.js").JoinLink} JoinLink */

/** How long a notice about the past ("Ana left the phone call") stays, in milliseconds. */
const PHONE_NOTICE_MS = 8000;

/**
 * How long a "Call me" request counts as ringing without news, in milliseconds: the server's own
 * limit (`CALLING_TIMEOUT_S` in app/phone/legs.py), after which it lets the person ask again.
 */
const CALLING_TIMEOUT_MS = 90_000;

/**
 * The phone bridge's part of the call screen. Events: `you` (I joined or left the phone
 * conference: read {@link PhonePanel#status}).
 */
export class PhonePanel extends EventTarget {
  #link;
  #line;
  #peerName;
  /** @type {BackupPlan | null} */
  #backup;
  /** @type {CallMode} */
  #mode = "video";
  /** The deployment can call phones (the preview's `call_me`, until a 503 says otherwise). */
  #available;
  /** The number on file for me, masked (`+*********23`); `null`: duet must be told one. */
  #onFile;
  /** I may type a number for duet to call (the preview's `call_me.typed`). */
  #typedAllowed;
  /** @type {string | null}  A number I typed (E.164): "Try again" calls it again. */
  #typed = null;
  /** A request is out, or duet is ringing my phone and no frame has said how it went. */
  #pending = false;
  /** When duet lets this room call again after a 429 (`Date.now()` milliseconds). */
  #retryAt = 0;
  /** @type {number | undefined} */
  #fadeTimer = undefined;
  /** @type {number | undefined} */
  #pendingTimer = undefined;
  /** @type {number | undefined} */
  #retryTimer = undefined;
  /** The person asked to type a number although duet has one ("Use another number"). */
  #formWanted = false;
  /** @type {PhoneStatus | null}  What `#phone-bar` shows; `null` once a notice faded. */
  #shown = null;
  #bar = byId("phone-bar");
  #sheet = byId("phone-sheet");
  #callButton = /** @type {HTMLButtonElement} */ (byId("call-me"));
  #otherButton = byId("call-me-other");
  #form = /** @type {HTMLFormElement} */ (byId("call-me-form"));
  #numberInput = /** @type {HTMLInputElement} */ (byId("call-me-number"));
  #controlButton = byId("phone-button");
  #modeButton = /** @type {HTMLButtonElement} */ (byId("mode-call-me"));

  /**
   * @param {object} options
   * @param {JoinLink} options.link  Where the token comes from (it goes in the request body only).
   * @param {{phone: string | null, typed?: boolean} | null | undefined} options.callMe  The preview's `call_me`.
   * @param {Role} options.you
   * @param {string} options.peerName
   * @param {BackupPlan | null} options.backup
   */
  constructor({ link, callMe, you, peerName, backup }) {
    super();
    this.#link = link;
    this.#available = Boolean(callMe);
    this.#onFile = callMe?.phone ?? null;
    this.#typedAllowed = callMe?.typed === true;
    this.#peerName = peerName;
    this.#backup = backup;
    this.#line = new PhoneLine(you, peerName);
    this.#controlButton.addEventListener("click", () => (this.#sheet.hidden ? this.open() : this.close()));
    byId("phone-sheet-close").addEventListener("click", () => this.close());
    this.#callButton.addEventListener("click", () => this.#call());
    this.#modeButton.addEventListener("click", () => this.callMe());
    this.#otherButton.addEventListener("click", () => this.#showForm(true));
    this.#form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#submit();
    });
    this.#numberInput.addEventListener("input", () => this.#numberInput.removeAttribute("aria-invalid"));
    this.#sheet.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.close();
    });
    this.#render();
  }

  /** @returns {PhoneStatus} */
  get status() {
    return this.#line.status;
  }

  /**
   * The backup plan as it stands: nothing to call while I am on the phone bridge; while only the
   * other person is, their own phone is busy, so only the bridge is worth calling.
   * @returns {BackupPlan | null}
   */
  get plan() {
    const plan = this.#backup;
    if (!plan || this.status.you) return null;
    return this.status.peer ? readBackupPlan({ ...plan, peerPhone: null }) : plan;
  }

  /** What a "Call me" answer elsewhere (the phone prompt) says, or `null` when there is none to offer. */
  get callMeLabel() {
    return this.#canOffer ? callWords.label(this.#target) : null;
  }

  /**
   * Joined (again): the server re-sends who is on the phone right after `welcome`.
   * @param {Role} you
   * @param {string} peerName
   */
  reset(you, peerName) {
    const wasOnPhone = this.status.you;
    this.#peerName = peerName;
    this.#showStatus(this.#line.reset(you, peerName));
    this.#render();
    if (wasOnPhone) this.dispatchEvent(new Event("you"));
  }

  /** @param {PhoneFrame} frame */
  follow(frame) {
    const wasOnPhone = this.status.you;
    const status = this.#line.follow(frame);
    const mine = frame.role === this.#line.role;
    if (!mine) this.#peerName = frame.name;
    if (mine && frame.state !== "calling") {
      this.#settle();
      this.#setMessage(null); // "Calling …23" is over: the status line says how it went
    }
    if (status.you && !wasOnPhone) this.close(); // done: the status line says so
    this.#showStatus(status);
    this.#render();
    if (status.you !== wasOnPhone) this.dispatchEvent(new Event("you"));
  }

  /** @param {BackupPlan | null} plan */
  setBackup(plan) {
    this.#backup = plan;
    this.#render();
  }

  /** @param {CallMode} mode  The phone-mode panel offers "Call me" too. */
  setMode(mode) {
    this.#mode = mode;
    this.#render();
  }

  /** "Call me" from elsewhere (the prompt, the phone-mode panel, "Try again"): open the card and ring. */
  callMe() {
    this.open();
    this.#call();
  }

  open() {
    const waitS = (this.#retryAt - Date.now()) / 1000;
    if (!this.#pending) this.#setMessage(waitS > 0 ? callWords.tooMany(waitS) : null, "error");
    this.#sheet.hidden = false;
    this.#controlButton.setAttribute("aria-expanded", "true");
    this.#render();
    const first = !this.#form.hidden ? this.#numberInput : !this.#callButton.hidden ? this.#callButton : null;
    (first ?? byId("phone-sheet-close")).focus();
  }

  close() {
    if (this.#sheet.contains(document.activeElement) && !this.#controlButton.hidden) {
      this.#controlButton.focus(); // back where the person opened it
    }
    this.#sheet.hidden = true;
    this.#controlButton.setAttribute("aria-expanded", "false");
    this.#numberInput.removeAttribute("aria-invalid");
    this.#formWanted = false;
  }

  /** The call is over for this tab (hung up, ended): nothing about the phone stays on screen. */
  clear() {
    this.close();
    this.#showStatus(null);
  }

  /** The number a call goes to, as far as the page knows it (masked, or as typed); `null`: ask. */
  get #target() {
    return this.#typed ?? this.#onFile;
  }

  /**
   * "Call me" makes sense: the deployment calls phones, it has a number to call (mine on file, or
   * one I may type) and I am not on the phone already.
   */
  get #canOffer() {
    return this.#available && !this.status.you && (this.#onFile !== null || this.#typedAllowed);
  }

  async #submit() {
    const number = readPhoneNumber(this.#numberInput.value);
    if (number === null) {
      this.#numberInput.setAttribute("aria-invalid", "true");
      this.#setMessage(callWords.invalidNumber, "error");
      this.#numberInput.focus();
      return;
    }
    this.#typed = number;
    this.#formWanted = false;
    await this.#call();
  }

  /** Ask duet to ring my phone; the form first when duet has no number for me. */
  async #call() {
    if (!this.#canOffer || this.#pending) return;
    const waitS = (this.#retryAt - Date.now()) / 1000;
    if (waitS > 0) {
      this.#setMessage(callWords.tooMany(waitS), "error");
      return;
    }
    if (this.#target === null) {
      if (this.#typedAllowed) this.#showForm(true);
      return;
    }
    this.#pending = true;
    this.#setMessage(null);
    this.#render();
    const result = await requestCallMe({ roomId: this.#link.roomId, token: this.#link.token, phone: this.#typed });
    if (result.ok) {
      // The `calling` and even the `joined` frame may come first: then the call is settled already.
      this.#setMessage(callWords.calling(result.to), "info");
      if (this.#pending) {
        clearTimeout(this.#pendingTimer);
        this.#pendingTimer = window.setTimeout(() => this.#settle(), CALLING_TIMEOUT_MS);
      }
      this.#render();
      return;
    }
    this.#pending = false;
    if (result.status === 503) {
      this.#available = false; // this deployment has no phone bridge after all
      this.#setMessage(callWords.unavailable, "error");
    } else if (result.code === "phone_required" || result.code === "phone_not_on_file") {
      this.#onFile = null;
      this.#typed = null;
      this.#typedAllowed = result.code === "phone_required";
      this.#setMessage(this.#typedAllowed ? result.message : callWords.noNumber, "error");
      this.#showForm(this.#typedAllowed);
    } else if (result.status === 429) {
      const retryS = result.retryAfterS ?? 60;
      this.#retryAt = Date.now() + retryS * 1000;
      clearTimeout(this.#retryTimer);
      this.#retryTimer = window.setTimeout(() => this.#render(), retryS * 1000);
      this.#setMessage(callWords.tooMany(retryS), "error");
    } else {
      this.#setMessage(result.message, "error");
      // A typed number duet may not call: the form again, unless typing is off after all.
      if (result.code === "phone_not_allowed" && !this.#typedAllowed) this.#typed = null;
      else if (result.status === 422 && this.#typed !== null) this.#showForm(true);
    }
    this.#render();
  }

  /** My phone leg has news (joined, failed, left), or none came in time: a new "Call me" may go out. */
  #settle() {
    clearTimeout(this.#pendingTimer);
    this.#pending = false;
    this.#render();
  }

  /** @param {boolean} shown */
  #showForm(shown) {
    this.#formWanted = shown;
    this.#render();
    if (shown && !this.#form.hidden) {
      if (!this.#numberInput.value && this.#typed) this.#numberInput.value = this.#typed;
      this.#numberInput.focus();
    }
  }

  /**
   * @param {string | null} text
   * @param {"info" | "error"} [tone]
   */
  #setMessage(text, tone = "info") {
    const message = byId("call-me-message");
    message.textContent = text ?? "";
    message.dataset.tone = tone;
  }

  /** The "Call me" buttons, the form and the dial-in line, after any change. */
  #render() {
    const you = this.status.you;
    const offer = this.#canOffer;
    const target = this.#target;
    const typing = offer && this.#typedAllowed && (target === null || this.#formWanted);
    const waiting = this.#pending || this.#retryAt > Date.now();
    this.#controlButton.hidden = !this.#available;
    this.#controlButton.dataset.onPhone = String(you);
    byId("phone-sheet-intro").textContent = you ? callWords.onPhone : callWords.intro(this.#peerName);
    this.#callButton.hidden = !offer || typing;
    this.#callButton.disabled = waiting;
    this.#callButton.textContent = callWords.label(target);
    this.#otherButton.hidden = !offer || typing || !this.#typedAllowed;
    this.#form.hidden = !typing;
    /** @type {HTMLButtonElement} */ (byId("call-me-submit")).disabled = waiting;
    this.#modeButton.hidden = !offer || this.#mode !== "phone";
    this.#modeButton.disabled = waiting;
    this.#modeButton.textContent = callWords.label(target);
    const plan = byId("phone-sheet-plan");
    const bridge = this.#backup ? dialInHref(this.#backup) : null;
    plan.hidden = bridge === null || you;
    if (this.#backup && bridge) {
      renderBackupPlan(plan, { ...this.#backup, peerPhone: null }, this.#peerName, callWords.orDialIn);
    }
    this.#renderBar();
  }

  /**
   * Show a status in `#phone-bar`; a notice about the past fades after {@link PHONE_NOTICE_MS}.
   * @param {PhoneStatus | null} status
   */
  #showStatus(status) {
    clearTimeout(this.#fadeTimer);
    this.#shown = status?.text ? status : null;
    if (this.#shown && !this.#shown.lasting) {
      this.#fadeTimer = window.setTimeout(() => this.#showStatus(null), PHONE_NOTICE_MS);
    }
    this.#renderBar();
  }

  #renderBar() {
    const status = this.#shown;
    this.#bar.toggleAttribute("data-empty", status === null);
    this.#bar.dataset.onPhone = String(Boolean(status?.you));
    byId("phone-status").textContent = status?.text ?? "";
    byId("phone-detail").textContent = status?.detail ?? "";
    byId("phone-actions").replaceChildren(...(status ? this.#actions(status) : []));
  }

  /**
   * "Join by phone" while only the other person is on it; "Try again" after my phone did not answer.
   * @param {PhoneStatus} status
   * @returns {HTMLElement[]}
   */
  #actions(status) {
    if (status.offer === "retry" && this.#canOffer) {
      return [this.#button(words.retry, () => this.callMe())];
    }
    if (status.offer !== "join") return [];
    if (this.#canOffer) return [this.#button(words.join, () => this.open())];
    const plan = this.#backup;
    const bridge = plan ? dialInHref(plan) : null;
    if (!plan || !bridge) return [];
    const link = document.createElement("a");
    link.href = bridge;
    link.className = "secondary-button";
    link.textContent = words.join;
    if (plan.dialIn) link.title = `Dial in at ${formatPhone(plan.dialIn)}${plan.pin ? ` (PIN ${plan.pin})` : ""}`;
    return [link];
  }

  /**
   * @param {string} text
   * @param {() => void} action
   */
  #button(text, action) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary-button";
    button.textContent = text;
    button.addEventListener("click", action);
    return button;
  }
}
