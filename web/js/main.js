// The room page: read the join link, ask the server who is in the room, run the
// pre-join screen, then the call. See docs/protocol.md for the wire side.

import { LocalMedia } from "./media.js";
import { PreJoin } from "./prejoin.js";
import { fetchPreview, readJoinLink } from "./preview.js";
import { Session } from "./session.js";
import { messagePages } from "./texts.js";
import { showMessage, showView } from "./ui.js";

/**
 * The test and debugging hook: the session's state and its current peer
 * connection. It holds no secret (never the token).
 * @type {import("./session.js").TestHook}
 */
const hook = { state: "loading", pc: null };
Object.defineProperty(window, "duet", { value: hook, enumerable: false });

async function main() {
  showView("loading");
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

  const media = new LocalMedia();
  hook.state = "prejoin";
  await new PreJoin(media, preview).run();

  new Session({ link, preview, media, hook }).join();
}

main().catch((error) => {
  console.error("duet: the page failed", error);
  hook.state = "error";
  showMessage(messagePages.unexpected);
});
