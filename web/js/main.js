// The room page: read the join link, ask the server who is in the room, run the
// pre-join screen, then the call. See docs/protocol.md for the wire side.

import { downloadInvite } from "./calendar.js";
import { FeedbackForm } from "./feedback.js";
import { LocalMedia } from "./media.js";
import { PreJoin } from "./prejoin.js";
import { fetchPreview, joinPath, readJoinLink } from "./preview.js";
import { Session } from "./session.js";
import { messagePages } from "./texts.js";
import { byId, showMessage, showView } from "./ui.js";

/**
 * The test and debugging hook: the session's state and its current peer
 * connection. It holds no secret (never the token).
 * @type {import("./session.js").TestHook}
 */
const hook = { state: "loading", pc: null };
Object.defineProperty(window, "duet", { value: hook, enumerable: false });

/**
 * `/check` without a link: ask for one, then open its check page.
 * A link to another server is refused: its token is for that server only.
 */
function askForLink() {
  hook.state = "paste";
  showView("paste");
  const form = /** @type {HTMLFormElement} */ (byId("paste-form"));
  const input = /** @type {HTMLInputElement} */ (byId("paste-link"));
  const error = byId("paste-error");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    let link = null;
    let url = null;
    try {
      url = new URL(input.value.trim(), window.location.href);
      link = readJoinLink(url);
    } catch {
      // not a URL at all
    }
    if (!link || !url) {
      error.textContent = "That is not a complete join link. Paste the whole link; it ends with “#t=” and a code.";
    } else if (url.origin !== window.location.origin) {
      error.textContent = `That link is for ${url.host}. Open ${url.host}/check to test with it.`;
    } else {
      window.location.assign(joinPath(link, true));
      return;
    }
    error.hidden = false;
    input.focus();
  });
  input.focus();
}

async function main() {
  showView("loading");
  if (/^\/check\/?$/u.test(window.location.pathname)) {
    askForLink();
    return;
  }
  const link = readJoinLink(window.location);
  if (!link) {
    hook.state = "error";
    showMessage(messagePages.no_token);
    return;
  }
  const result = await fetchPreview(link.roomId, link.token);
  if (!result.ok) {
    hook.state = "error";
    showMessage(messagePages[result.failure]);
    return;
  }
  const { preview } = result;
  document.title = `${preview.room.title} · duet`;

  new FeedbackForm(byId("feedback"), link); // shown on the "left" screen after the call
  byId("add-to-calendar").addEventListener("click", async () => {
    const problem = await downloadInvite(link);
    byId("calendar-error").hidden = problem === null;
    byId("calendar-error").textContent = problem ?? "";
  });

  const media = new LocalMedia();
  hook.state = link.check ? "check" : "prejoin";
  await new PreJoin(media, preview, link).run();

  new Session({ link, preview, media, hook }).join();
}

main().catch((error) => {
  console.error("duet: the page failed", error);
  hook.state = "error";
  showMessage(messagePages.unexpected);
});
