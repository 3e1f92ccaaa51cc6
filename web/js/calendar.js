// @ts-check
// "Add to calendar": the join link holder's own invite (.ics) from the server, with the token in
// the request body (never a URL), saved as a file the calendar app opens.

/**
 * Download this person's invite. Resolves to `null`, or to why it failed, in words.
 * @param {{roomId: string, token: string}} link
 * @returns {Promise<string | null>}
 */
export async function downloadInvite(link) {
  let response;
  try {
    response = await fetch(`/s/${encodeURIComponent(link.roomId)}/invite`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/calendar" },
      body: JSON.stringify({ token: link.token }),
      cache: "no-store",
      credentials: "same-origin",
      referrerPolicy: "no-referrer",
    });
  } catch {
    return "duet could not be reached. Try again.";
  }
  if (!response.ok) return "The invite is not available for this link.";
  const url = URL.createObjectURL(await response.blob());
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = "duet-session.ics";
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return null;
}
