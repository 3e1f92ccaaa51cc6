// The join link and the room preview (`POST /s/{room_id}/preview`, docs/protocol.md).
//
// The token lives in the URL fragment, which the browser never sends to a
// server; it leaves the page only in the preview request body and the `join`
// frame. It is never put in a query string.

import { postJson } from "./http.js";

/**
 * @typedef {object} JoinLink
 * @property {string} roomId  The path segment, as in the address (URL-encoded).
 * @property {string} token
 * @property {boolean} check  The link opens the connection test page, not the call.
 *
 * @typedef {object} PreviewPerson
 * @property {"host" | "guest"} role
 * @property {string} name
 *
 * @typedef {object} Preview
 * @property {{id: string, title: string, state: string, starts_at: string | null,
 *   expires_at: string | null}} room  REST bodies are snake_case.
 * @property {PreviewPerson} you
 * @property {PreviewPerson} peer
 * @property {{peer_phone: string | null, dial_in: string | null, pin: string | null,
 *   dial_in_link: string | null} | null} [backup]  "Our backup plan" (docs/protocol.md, `backup`).
 * @property {{phone: string | null, typed?: boolean} | null} [call_me]  Present when duet can ring this
 *   person's phone ("Call me"): `phone` is the number on file, masked (`+*********23`), or `null` to ask
 *   for one; `typed`: the person may type a number (otherwise only `phone` is ever called).
 *
 * @typedef {"unauthorized" | "room_not_found" | "ended" | "expired" | "network" | "unexpected"}
 *   PreviewFailure
 */

/**
 * Read `/s/{room_id}#t={token}` (the call) or `/s/{room_id}/check#t={token}`
 * (the connection test page); `null` when the path or the token is missing.
 * @param {{pathname: string, hash: string}} location
 * @returns {JoinLink | null}
 */
export function readJoinLink(location) {
  const path = /^\/s\/([^/]+)(\/check)?\/?$/u.exec(location.pathname);
  if (!path) return null;
  let token = null;
  for (const part of location.hash.replace(/^#/u, "").split("&")) {
    if (part.startsWith("t=")) {
      try {
        token = decodeURIComponent(part.slice(2));
      } catch {
        return null; // a mangled %-escape: the link was cut or altered
      }
    }
  }
  if (!token) return null;
  return { roomId: path[1], token, check: path[2] !== undefined };
}

/**
 * The address of the call for `link` (`/s/{room_id}#t=…`), or of its check page.
 * @param {JoinLink} link
 * @param {boolean} [check]
 */
export function joinPath(link, check = false) {
  return `/s/${link.roomId}${check ? "/check" : ""}#t=${encodeURIComponent(link.token)}`;
}

/**
 * Ask the server who is in the room. Never throws.
 * @param {string} roomId
 * @param {string} token
 * @returns {Promise<{ok: true, preview: Preview} | {ok: false, failure: PreviewFailure}>}
 */
export async function fetchPreview(roomId, token) {
  const { response, body } = await postJson(`/s/${roomId}/preview`, { token });
  if (response === null) return { ok: false, failure: "network" };
  if (response.ok) return body === null ? { ok: false, failure: "unexpected" } : { ok: true, preview: body };
  switch (response.status) {
    case 401:
    case 403:
    case 422: // a token the server cannot even parse: a cut or altered link
      return { ok: false, failure: "unauthorized" };
    case 404:
      return { ok: false, failure: "room_not_found" };
    case 410:
      return { ok: false, failure: body?.code === "room_expired" ? "expired" : "ended" };
    default:
      return { ok: false, failure: "unexpected" };
  }
}
