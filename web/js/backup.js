// "Our backup plan": how the two people reach each other by phone if the
// internet fails (docs/protocol.md, `backup`). The same plan comes as snake_case
// in the REST preview and as camelCase in `welcome` and phone suggestions; the
// page turns both into one shape and only ever links real `tel:` numbers.

import { backupSentence, formatPhone } from "./texts.js";

/**
 * The plan, checked: each field `null` when absent or unusable.
 * @typedef {object} BackupPlan
 * @property {string | null} peerPhone   The other person's number (E.164).
 * @property {string | null} dialIn      The phone bridge's number (E.164).
 * @property {string | null} pin         The room's PIN on the bridge (digits).
 * @property {string | null} dialInLink  A `tel:` link that dials in and enters the PIN.
 */

/** E.164: a plus and up to 15 digits (the server checks the same, app/config.py). */
const E164 = /^\+[1-9]\d{6,14}$/u;
const PIN = /^\d{1,12}$/u;
/** A one-tap dial-in link: the number, pauses (`,`), the PIN, and `#` (or `%23`, its URL spelling). */
const DIAL_LINK = /^tel:\+[1-9]\d{6,14}[,;]*[0-9*#,;]*(%23)?$/u;

/**
 * @param {unknown} value
 * @param {RegExp} pattern
 * @returns {string | null}
 */
function valid(value, pattern) {
  return typeof value === "string" && pattern.test(value) ? value : null;
}

/**
 * The plan from the REST preview (snake_case) or a signaling frame (camelCase); `null`
 * when it holds nothing to call.
 * @param {Record<string, unknown> | null | undefined} raw
 * @returns {BackupPlan | null}
 */
export function readBackupPlan(raw) {
  if (!raw || typeof raw !== "object") return null;
  const plan = {
    peerPhone: valid(raw.peerPhone ?? raw.peer_phone, E164),
    dialIn: valid(raw.dialIn ?? raw.dial_in, E164),
    pin: valid(raw.pin, PIN),
    dialInLink: valid(raw.dialInLink ?? raw.dial_in_link, DIAL_LINK),
  };
  return plan.peerPhone || plan.dialIn || plan.dialInLink ? plan : null;
}

/**
 * A `tel:` link for `number`. A `#` in a URL starts the fragment, so the one in a
 * dial-in link (`…,,123456#`) is written `%23`, or phones would drop it (RFC 3966).
 * @param {string} link  `tel:…` or a bare E.164 number.
 */
export function telHref(link) {
  const href = link.startsWith("tel:") ? link : `tel:${link}`;
  return href.replaceAll("#", "%23");
}

/**
 * The one-tap link into the bridge, or a plain call to its number.
 * @param {BackupPlan} plan
 * @returns {string | null}
 */
export function dialInHref(plan) {
  if (plan.dialInLink) return telHref(plan.dialInLink);
  return plan.dialIn ? telHref(plan.dialIn) : null;
}

/**
 * Fill `element` with the plan as a sentence whose numbers are `tel:` links.
 * @param {HTMLElement} element
 * @param {BackupPlan} plan
 * @param {string} peer  The other person's name.
 * @param {string} [lead]  What comes first ("If the internet fails: ").
 */
export function renderBackupPlan(element, plan, peer, lead) {
  const bridge = dialInHref(plan);
  const bridgeNumber = plan.dialIn ?? /^tel:(\+\d+)/u.exec(plan.dialInLink ?? "")?.[1] ?? null;
  const parts = backupSentence(
    {
      peer,
      peerPhone: plan.peerPhone ? { href: telHref(plan.peerPhone), text: formatPhone(plan.peerPhone) } : null,
      dialIn: bridge && bridgeNumber ? { href: bridge, text: formatPhone(bridgeNumber) } : null,
      pin: plan.pin,
    },
    lead,
  );
  element.replaceChildren(
    ...parts.map((part) => {
      if (typeof part === "string") return document.createTextNode(part);
      const link = document.createElement("a");
      link.href = part.href;
      link.textContent = part.text;
      link.className = "tel-link";
      return link;
    }),
  );
}
