// "Call me" on the wire: `POST /s/{room_id}/call-me` (docs/protocol.md, "The phone bridge") and the
// phone number a person types for it. The token goes in the request body, never in the URL.

import { postJson } from "./http.js";
import { callMe as words } from "./texts.js";

/**
 * E.164: a plus and up to 15 digits, no leading zero (`is_e164` in app/phone/numbers.py).
 * The server checks it again and refuses anything else with 422.
 */
const E164 = /^\+[1-9]\d{6,14}$/u;

/** What people put between digits when they write a number: spaces, dots, dashes, slashes, brackets. */
const SEPARATORS = /[\s().\-/]/gu;

/**
 * What the server answered.
 * @typedef {{ok: true, to: string}
 *   | {ok: false, status: number, code: string, message: string, retryAfterS: number | null}} CallMeResult
 *   `to`: the number being called, masked (`+*********23`). `status` 0: the server was not reached.
 */

/**
 * A typed phone number in E.164 form, or `null` when it is not one. Separators are dropped and
 * an international `00` prefix becomes `+` ("0044 7700 900123" → "+447700900123"); a number
 * without its country code is not guessed at.
 * @param {string} text
 * @returns {string | null}
 */
export function readPhoneNumber(text) {
  let number = text.trim().replace(SEPARATORS, "");
  if (number.startsWith("00")) number = `+${number.slice(2)}`;
  return E164.test(number) ? number : null;
}

/**
 * Ask duet to ring this person's phone. Never throws.
 * @param {object} request
 * @param {string} request.roomId  As in the page's path (already URL-encoded).
 * @param {string} request.token   The join token, from the URL fragment.
 * @param {string | null} request.phone  E.164; `null` for the number given at room creation.
 * @returns {Promise<CallMeResult>}
 */
export async function requestCallMe({ roomId, token, phone }) {
  const { response, body } = await postJson(`/s/${roomId}/call-me`, phone ? { token, phone } : { token });
  if (response === null) {
    return { ok: false, status: 0, code: "network", message: words.network, retryAfterS: null };
  }
  if (response.status === 202 && typeof body?.to === "string") return { ok: true, to: body.to };
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return {
    ok: false,
    status: response.status,
    code: typeof body?.code === "string" ? body.code : "unexpected",
    message: typeof body?.message === "string" && body.message ? body.message : words.failed,
    retryAfterS: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
  };
}
