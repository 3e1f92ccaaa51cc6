// Who is on the room's phone bridge, as the server's `phone` frames say (docs/protocol.md, "The
// phone bridge"), and what the page makes of it: the sentence in `#phone-status`, whether this
// page must go quiet (I am on the phone: no double audio), and what to offer next.
// Plain state, no DOM: `PhonePanel` (phonepanel.js) shows it.

import { phone as words } from "./texts.js";

/** @typedef {import("./protocol.js").Role} Role */
/** @typedef {import("./protocol.js").PhoneFrame} PhoneFrame */

/**
 * What the page shows of the phone bridge.
 * @typedef {object} PhoneStatus
 * @property {Role[]} onPhone  Everyone in the phone conference, as the server last said.
 * @property {boolean} you     I am in it: this page's microphone and the other person's sound go quiet.
 * @property {boolean} peer    The other person is in it.
 * @property {boolean} calling duet is ringing my phone.
 * @property {string | null} text    For `#phone-status`; `null`: nothing to say.
 * @property {string | null} detail  A second line: why the page is quiet, or how to talk with them.
 * @property {"join" | "retry" | null} offer  `retry`: my phone did not answer; `join`: the other
 *   person is on the phone and I am not.
 * @property {boolean} lasting  `false` for a notice about the past (someone left, a phone did not
 *   answer) with nobody on the phone now: it may fade.
 */

/** @type {PhoneStatus} */
const NOBODY = Object.freeze({
  onPhone: [],
  you: false,
  peer: false,
  calling: false,
  text: null,
  detail: null,
  offer: null,
  lasting: false,
});

/** The phone legs of one room, seen by one person. */
export class PhoneLine {
  #you;
  #peerName;
  /** @type {PhoneStatus} */
  #status = NOBODY;

  /**
   * @param {Role} you  My role.
   * @param {string} peerName  The other person's name, until a frame brings it.
   */
  constructor(you, peerName) {
    this.#you = you;
    this.#peerName = peerName;
  }

  /** My role. */
  get role() {
    return this.#you;
  }

  /** @returns {PhoneStatus} */
  get status() {
    return this.#status;
  }

  /**
   * A `welcome` arrived: the server follows it with a `joined` frame for each person on the
   * phone, so what this page knew before may be stale.
   * @param {Role} you
   * @param {string} peerName
   * @returns {PhoneStatus}
   */
  reset(you, peerName) {
    this.#you = you;
    this.#peerName = peerName;
    this.#status = NOBODY;
    return this.#status;
  }

  /**
   * Follow one `phone` frame.
   * @param {PhoneFrame} frame
   * @returns {PhoneStatus}
   */
  follow(frame) {
    const mine = frame.role === this.#you;
    if (!mine) this.#peerName = frame.name;
    const onPhone = Array.isArray(frame.onPhone) ? [...frame.onPhone] : [];
    const you = onPhone.includes(this.#you);
    const peer = onPhone.some((role) => role !== this.#you);
    const calling = mine ? frame.state === "calling" : this.#status.calling && !you;
    const peerName = this.#peerName;
    let text;
    if (frame.state === "joined" && frame.unknownNumber === true) {
      text = mine ? words.unknown.you : words.unknown.peer(peerName); // said even when both are on
    } else if (you && peer) text = words.both;
    else if (mine) text = words.you[frame.state];
    else text = words.peer[frame.state](peerName);
    /** @type {PhoneStatus["offer"]} */
    let offer = null;
    if (mine && frame.state === "failed" && !you) offer = "retry";
    else if (peer && !you && !calling) offer = "join";
    this.#status = {
      onPhone,
      you,
      peer,
      calling,
      text: text ?? null,
      detail: you ? words.quiet : peer && !calling ? words.joinToTalk(peerName) : null,
      offer,
      lasting: you || peer || frame.state === "calling" || offer !== null,
    };
    return this.#status;
  }
}
