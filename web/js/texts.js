// Every sentence the page shows, in one place. Tests match some of them exactly
// (the status line texts), so change them here and in tests/e2e together.

/** Status line texts, keyed by the page's call state. */
export const status = Object.freeze({
  /** @param {string} peer */
  waiting: (peer) => `Waiting for ${peer} to join…`,
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  /** @param {string} peer */
  peerReconnecting: (peer) => `${peer} is reconnecting…`,
  /** @param {string} peer */
  peerLeft: (peer) => `${peer} left the session.`,
  ended: "The session has ended.",
  left: "You left the session.",
});

/**
 * What to tell the person when the server closed the socket for good, keyed
 * by the `error` frame's `code` (docs/protocol.md, "Rules the server enforces").
 * @type {Readonly<Record<string, string>>}
 */
export const closeReasons = Object.freeze({
  room_ended: status.ended,
  room_expired: "This session has expired.",
  replaced: "You joined from another tab or device.",
  unauthorized: "This join link is not valid. Ask for a new link.",
  room_not_found: "This session does not exist. Check the link you were sent.",
  too_early: "It is too early to join. The session opens 10 minutes before it starts.",
  unsupported_version: "This page is out of date. Reload it to join.",
});

/** Close codes (when no `error` frame said why) to the same words. */
export const closeCodeReasons = Object.freeze({
  4001: closeReasons.unauthorized,
  4004: closeReasons.room_not_found,
  4009: closeReasons.replaced,
  4010: closeReasons.room_ended,
  4011: closeReasons.room_expired,
  4013: closeReasons.too_early,
  4014: closeReasons.unsupported_version,
});

export const lostConnection = "Lost the connection to the server. Check your internet connection.";

/**
 * Message pages shown instead of the pre-join screen, keyed by what went wrong.
 * @type {Readonly<Record<string, {title: string, text: string}>>}
 */
export const messagePages = Object.freeze({
  no_token: {
    title: "This link is incomplete",
    text: "Open the full join link you were sent; it ends with “#t=” and a long code.",
  },
  unauthorized: {
    title: "This join link is not valid",
    text: "The link may have been copied only in part, or replaced by a newer one. Ask for a new link.",
  },
  room_not_found: {
    title: "Session not found",
    text: "There is no session at this address. Check the link you were sent.",
  },
  ended: {
    title: "This session has ended",
    text: "Ask for a new link if you need to meet again.",
  },
  expired: {
    title: "This session has expired",
    text: "Its join links no longer work. Ask for a new link if you need to meet again.",
  },
  network: {
    title: "Can’t reach duet",
    text: "Check your internet connection, then reload the page.",
  },
  unexpected: {
    title: "Something went wrong",
    text: "The session could not be loaded. Reload the page to try again.",
  },
});

/**
 * Why a camera or microphone is not available, in words, by `DOMException.name`.
 * @param {"audio" | "video"} kind
 * @param {string} errorName  `NotAllowedError`, `NotFoundError`, `NotReadableError`…
 */
export function mediaProblem(kind, errorName) {
  const device = kind === "video" ? "camera" : "microphone";
  const Device = kind === "video" ? "Camera" : "Microphone";
  switch (errorName) {
    case "NotAllowedError":
    case "SecurityError":
      return `${Device} access is blocked. Allow it in your browser’s site settings, then reload the page.`;
    case "NotFoundError":
    case "OverconstrainedError":
      return `No ${device} was found.`;
    case "NotReadableError":
    case "AbortError":
      return `Your ${device} is in use by another app or tab. Close it, then pick the ${device} again.`;
    case "Ended":
      return `Your ${device} was disconnected. Pick another one.`;
    case "Unsupported":
      return `This browser can’t use a ${device} on this page. Open the link in a current Chrome, Firefox or Safari.`;
    default:
      return `Your ${device} could not be started.`;
  }
}

/**
 * What joining without a camera or microphone means, or `null` when both work.
 * @param {{camera: boolean, microphone: boolean}} unavailable  What failed (not what was turned off).
 * @param {string} peer  The other person's name.
 */
export function joinHint({ camera, microphone }, peer) {
  if (camera && microphone) return `You can still join to see and hear ${peer}.`;
  if (camera) return `You can still join with audio only.`;
  if (microphone) return `You can still join: ${peer} will see you but not hear you.`;
  return null;
}

/**
 * "Ana Lima" → "AL", "ben" → "B": what stands in for a face with no video.
 * @param {string} name
 */
export function initials(name) {
  const words = name.trim().split(/\s+/u).filter(Boolean);
  if (words.length === 0) return "?";
  const first = Array.from(words[0])[0] ?? "";
  const last = words.length > 1 ? Array.from(words[words.length - 1])[0] ?? "" : "";
  return (first + last).toLocaleUpperCase();
}

/**
 * "Starts today at 14:30", "Starts on Tue 3 Jun at 09:00", in the reader's locale.
 * @param {Date} when
 * @param {Date} now
 */
export function startsAt(when, now) {
  const time = when.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (when.toDateString() === now.toDateString()) return `Starts today at ${time}`;
  const day = when.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" });
  return `Starts on ${day} at ${time}`;
}

/**
 * What a signal indicator says, for an aria-label and a tooltip: "Your connection is good.",
 * "Ana's connection is poor: video at 2 frames/s." The `problems` are the server's words.
 * @param {string} level  A level of `linkLevel` in quality.js.
 * @param {string[]} problems
 * @param {string | null} peer  The other person's name, or `null` for my own connection.
 */
export function connectionLabel(level, problems, peer) {
  const whose = peer === null ? "your" : `${peer}'s`;
  if (level === "unknown" && problems.length === 0) return `Checking ${whose} connection…`;
  const Whose = whose.charAt(0).toLocaleUpperCase() + whose.slice(1);
  const word = level === "unknown" ? "unclear" : level;
  return problems.length > 0 ? `${Whose} connection is ${word}: ${problems.join("; ")}.` : `${Whose} connection is ${word}.`;
}

/** The prompt's answers, by the suggested mode (docs/protocol.md, "Fallback"). */
export const promptAnswers = Object.freeze({
  "audio-only": { accept: "Switch to audio", decline: "Keep video" },
  video: { accept: "Turn camera on", decline: "Not now" },
  phone: { accept: "Continue by phone", decline: "Keep trying" },
});

/** @param {string} peer */
export const callPeer = (peer) => `Call ${peer}`;

/** @param {string | null | undefined} pin */
export const dialIn = (pin) => (pin ? `Dial in (PIN ${pin})` : "Dial in");

/** The label over the stage while video is off for the call. */
export const modeLabels = Object.freeze({ "audio-only": "Audio only", phone: "On the phone" });

/** What the stage says of a mode the page found on joining (the `mode` frame brings its own words). */
export const modeNotices = Object.freeze({
  "audio-only": "This call is audio only.",
  phone: "This call continues by phone.",
});

/** Tooltips of the call controls while the call's mode holds a device back. */
export const modeControls = Object.freeze({
  audioOnly: "Switch to audio only",
  videoBack: "Turn video back on",
  internetAudio: "Talk over the internet again",
});

/**
 * "+14155550123" → "+1 415 555 0123"; other countries' numbers stay in E.164, which any phone dials.
 * @param {string} number
 */
export function formatPhone(number) {
  const nanp = /^\+1(\d{3})(\d{3})(\d{4})$/u.exec(number);
  return nanp ? `+1 ${nanp[1]} ${nanp[2]} ${nanp[3]}` : number;
}

/**
 * The backup plan as a sentence whose numbers are links:
 * "If the internet fails: call Ana at +1 415 555 0123, or dial in at +1 415 555 0100 (PIN 123456)."
 * @param {object} plan
 * @param {string} plan.peer  The other person's name.
 * @param {{href: string, text: string} | null} plan.peerPhone  Their number, as a link.
 * @param {{href: string, text: string} | null} plan.dialIn  The bridge's number, as a link.
 * @param {string | null} plan.pin
 * @param {string} [lead]  What comes first; with none the sentence starts "Call Ana at …".
 * @returns {(string | {href: string, text: string})[]}  Text and links, in reading order.
 */
export function backupSentence({ peer, peerPhone, dialIn: bridge, pin }, lead = "If the internet fails: ") {
  /** @param {string} text */
  const first = (text) => (lead ? lead + text : text.charAt(0).toLocaleUpperCase() + text.slice(1));
  const parts = [];
  if (peerPhone) parts.push(first(`call ${peer} at `), peerPhone);
  if (bridge) parts.push(peerPhone ? ", or dial in at " : first("dial in at "), bridge, pin ? ` (PIN ${pin})` : "");
  if (parts.length > 0) parts.push(".");
  return parts;
}

/**
 * "+*********23" (a masked number, as the server shows it) or "+447700900123" → "…23": enough for
 * a person to recognise their own phone, never the whole number.
 * @param {string} number
 */
export function phoneEnding(number) {
  const digits = number.replace(/\D/gu, "");
  return `…${digits.slice(-2)}`;
}

/** "Call me" (`POST /s/{room_id}/call-me`): duet rings the person's phone. */
export const callMe = Object.freeze({
  /** @param {string | null} number  Masked or E.164; `null` when the person must type one. */
  label: (number) => (number ? `Call me at ${phoneEnding(number)}` : "Call me"),
  /** @param {string} number  The number being called, masked. */
  calling: (number) => `Calling ${phoneEnding(number)}`,
  intro: (/** @type {string} */ peer) => `duet rings your phone and puts you through to ${peer}.`,
  invalidNumber: "Enter the number with its country code: a + and the digits, like +1 415 555 0123.",
  /** @param {number} seconds  From `Retry-After`. */
  tooMany: (seconds) => `duet called too often for this session. Try again in ${waitWords(seconds)}.`,
  unavailable: "Phone calls are not available for this session.",
  network: "duet could not be reached. Check your internet connection and try again.",
  failed: "duet could not call your phone. Try again.",
  noNumber: "duet has no phone number for you in this session. Dial in instead.",
  onPhone: "You're on the phone. Hang up your phone to leave the phone call.",
  orDialIn: "Or ",
});

/**
 * "45 s", "10 min": a wait, in the unit a person reads best.
 * @param {number} seconds
 */
export function waitWords(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  return s < 120 ? `${s} s` : `${Math.ceil(s / 60)} min`;
}

/** What `#phone-status` says of a `phone` frame (docs/protocol.md, "The phone bridge"). */
export const phone = Object.freeze({
  both: "You're both on the phone",
  you: Object.freeze({
    calling: "Calling your phone…",
    joined: "You joined by phone",
    left: "You left the phone call",
    failed: "Your phone did not answer",
  }),
  /** A `joined` frame with `unknownNumber`: the call is not from the number given for that person. */
  unknown: Object.freeze({
    you: "Joined by phone as you, from a number duet does not know",
    /** @param {string} peer */
    peer: (peer) => `${peer} joined by phone from a number duet does not know`,
  }),
  peer: Object.freeze({
    /** @param {string} peer */
    calling: (peer) => `Calling ${peer}'s phone…`,
    /** @param {string} peer */
    joined: (peer) => `${peer} joined by phone`,
    /** @param {string} peer */
    left: (peer) => `${peer} left the phone call`,
    /** @param {string} peer */
    failed: (peer) => `${peer}'s phone did not answer`,
  }),
  /** Under the status while I am on the phone: why this page went quiet. */
  quiet: "This page's microphone and sound are off while you talk by phone.",
  /** @param {string} peer */
  joinToTalk: (peer) => `Join by phone to talk with ${peer}.`,
  join: "Join by phone",
  retry: "Try again",
  micHeld: "You're talking by phone, so this microphone stays off. Hang up your phone to use it again.",
  micHeldTitle: "You're on the phone: this microphone is off",
});

/** The pre-call connection test: what each phase and each verdict says (media/precall_verdict.py). */
export const precall = Object.freeze({
  run: "Test my connection",
  again: "Test again",
  phases: Object.freeze({
    config: "Starting the test…",
    gathering: "Looking for a route to duet…",
    connecting: "Connecting to duet…",
    measuring: "Measuring your connection…",
    judging: "Almost done…",
  }),
  /** @type {Readonly<Record<string, {title: string, advice: string}>>} */
  verdicts: Object.freeze({
    video: { title: "Video will work", advice: "Your connection can carry a video call." },
    "audio-only": {
      title: "Audio only recommended",
      advice: "Video may stall on this connection. Join anyway: duet offers audio only if video lags.",
    },
    phone: {
      title: "Phone recommended",
      advice: "This connection may not carry even audio well. Keep the backup plan's numbers at hand.",
    },
    "cannot-connect": {
      title: "Cannot connect",
      advice: "A call would not connect from this network. Try another network, or use the backup plan.",
    },
  }),
});

/**
 * A figure of the connection test for people: "42 ms", "1.5 %", "820 kbit/s", or "–".
 * @param {"rtt" | "loss" | "jitter" | "bitrate"} what
 * @param {number | null} value  Seconds, a fraction, or bits per second.
 */
export function precallFigure(what, value) {
  if (value === null || !Number.isFinite(value)) return "–";
  switch (what) {
    case "loss":
      return `${(value * 100).toFixed(1)} %`;
    case "bitrate":
      return value >= 1e6 ? `${(value / 1e6).toFixed(1)} Mbit/s` : `${Math.round(value / 1000)} kbit/s`;
    default:
      return value < 0.0005 ? "< 1 ms" : `${Math.round(value * 1000)} ms`;
  }
}
