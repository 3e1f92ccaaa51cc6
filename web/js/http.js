// The page's requests to its own server: a JSON body in, a JSON body out.
//
// Tokens travel in request bodies only, never in a URL, so every request is a
// POST without caching and without a Referer.

/**
 * POST `body` as JSON to this page's server. Never throws.
 * @param {string} url  A path on this origin.
 * @param {object} body
 * @returns {Promise<{response: Response | null, body: any}>}  `response` is `null` when the server
 *   could not be reached; `body` is `null` when the answer was not JSON (a proxy's error page).
 */
export async function postJson(url, body) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin",
      referrerPolicy: "no-referrer",
    });
  } catch {
    return { response: null, body: null };
  }
  try {
    return { response, body: await response.json() };
  } catch {
    return { response, body: null };
  }
}
