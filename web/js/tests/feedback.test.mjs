// node --test web/js/tests: the feedback form's state machine (pure).
import assert from "node:assert/strict";
import { test } from "node:test";
import { feedbackBody, initialFeedback, MAX_COMMENT, reduceFeedback } from "../feedback.js";

/** @param {...import("../feedback.js").FeedbackEvent} events */
const after = (...events) => events.reduce(reduceFeedback, initialFeedback);

test("stars, then what went wrong below five; five stars clears the chips", () => {
  const state = after({ type: "rate", rating: 3 }, { type: "chip", chip: "echo" }, { type: "chip", chip: "dropped" });
  assert.deepEqual(state.chips, ["echo", "dropped"]);
  assert.deepEqual(reduceFeedback(state, { type: "chip", chip: "echo" }).chips, ["dropped"]);
  assert.deepEqual(reduceFeedback(state, { type: "rate", rating: 5 }).chips, []);
  assert.deepEqual(after({ type: "rate", rating: 5 }, { type: "chip", chip: "echo" }).chips, []);
});

test("nothing is sent without stars; a send goes once; a failure keeps what was typed", () => {
  const unrated = after({ type: "comment", text: "hi" }, { type: "send" });
  assert.equal(unrated.status, "editing");
  assert.match(unrated.error ?? "", /stars/);
  const sending = after({ type: "rate", rating: 2 }, { type: "comment", text: "  choppy  " }, { type: "send" });
  assert.equal(sending.status, "sending");
  assert.equal(reduceFeedback(sending, { type: "send" }), sending);
  const failed = reduceFeedback(sending, { type: "failed", error: "offline" });
  assert.deepEqual([failed.status, failed.error, failed.comment, failed.rating], ["editing", "offline", "  choppy  ", 2]);
  assert.deepEqual(feedbackBody(failed, "T"), { token: "T", rating: 2, chips: [], comment: "choppy" });
});

test("sent, then changed: the second rating says it replaced the first", () => {
  const sent = after({ type: "rate", rating: 4 }, { type: "send" }, { type: "sent", replaced: false });
  assert.equal(sent.status, "sent");
  const again = [{ type: "edit" }, { type: "rate", rating: 1 }, { type: "send" }, { type: "sent", replaced: true }].reduce(
    reduceFeedback,
    sent,
  );
  assert.deepEqual([again.status, again.rating, again.replaced], ["sent", 1, true]);
});

test("ratings are kept in 1-5 and comments in their limit", () => {
  assert.equal(after({ type: "rate", rating: 9 }).rating, 5);
  assert.equal(after({ type: "rate", rating: -2 }).rating, 1);
  assert.equal(after({ type: "comment", text: "x".repeat(MAX_COMMENT + 5) }).comment.length, MAX_COMMENT);
});
