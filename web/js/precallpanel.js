// "Test my connection" on the pre-join screen and the check page: runs the
// pre-call network test (precall.js) and shows its figures as they come, then
// the verdict in words.

import { runNetworkTest } from "./precall.js";
import { precall as words, precallFigure } from "./texts.js";
import { byId } from "./ui.js";

/** @typedef {import("./media.js").LocalMedia} LocalMedia */
/** @typedef {import("./preview.js").JoinLink} JoinLink */
/** @typedef {import("./precall.js").Figures} Figures */
/** @typedef {import("./precall.js").CheckResult} CheckResult */

/** Frames per second of the stand-in video when the camera is off. */
const STAND_IN_FPS = 15;

/**
 * Tracks to test with: clones of the camera and microphone where they are on, a
 * moving test pattern and a quiet tone where not (the network is what is tested).
 * @param {LocalMedia} media
 * @returns {{tracks: MediaStreamTrack[], stop: () => void}}
 */
function testTracks(media) {
  /** @type {(() => void)[]} */
  const stops = [];
  const tracks = [];
  const video = media.cameraOn ? media.track("video") : null;
  if (video) {
    tracks.push(video.clone());
  } else {
    const canvas = Object.assign(document.createElement("canvas"), { width: 640, height: 360 });
    const context = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
    let frame = 0;
    const draw = () => {
      frame += 1;
      context.fillStyle = `hsl(${(frame * 3) % 360} 60% 40%)`;
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.fillStyle = "#fff";
      context.fillRect((frame * 8) % canvas.width, 120, 80, 120);
    };
    draw();
    const timer = window.setInterval(draw, 1000 / STAND_IN_FPS);
    stops.push(() => window.clearInterval(timer));
    tracks.push(canvas.captureStream(STAND_IN_FPS).getVideoTracks()[0]);
  }
  const audio = media.track("audio");
  if (audio) {
    tracks.push(audio.clone());
  } else if (typeof AudioContext === "function") {
    const context = new AudioContext();
    const tone = context.createOscillator();
    const gain = context.createGain();
    gain.gain.value = 0.05;
    const out = context.createMediaStreamDestination();
    tone.connect(gain).connect(out);
    tone.start();
    stops.push(() => void context.close());
    tracks.push(...out.stream.getAudioTracks());
  }
  return {
    tracks,
    stop() {
      for (const track of tracks) track.stop();
      for (const stop of stops) stop();
    },
  };
}

/** The connection test section: a button, live figures, the verdict. */
export class PrecallPanel {
  #link;
  #media;
  #button = /** @type {HTMLButtonElement} */ (byId("precall-run"));
  #result = byId("precall-result");
  #verdict = byId("precall-verdict");
  #advice = byId("precall-advice");
  #reasons = byId("precall-reasons");
  #running = false;
  #signal;

  /**
   * @param {JoinLink} link
   * @param {LocalMedia} media
   * @param {AbortSignal} signal  Stops listening (the screen is left).
   */
  constructor(link, media, signal) {
    this.#link = link;
    this.#media = media;
    this.#signal = signal; // also ends a running test: joining should not share the link with it
    this.#button.textContent = words.run;
    this.#button.addEventListener("click", () => void this.run(), { signal });
  }

  /**
   * Run one test and show it; a click while one runs does nothing.
   * @returns {Promise<CheckResult | null>}
   */
  async run() {
    if (this.#running) return null;
    this.#running = true;
    this.#button.disabled = true;
    this.#result.hidden = false;
    this.#result.dataset.verdict = "";
    this.#reasons.replaceChildren();
    this.#advice.textContent = "";
    this.#show({ rttS: null, loss: null, jitterS: null, bitrateBps: null, availableBps: null });
    const { tracks, stop } = testTracks(this.#media);
    try {
      const result = await runNetworkTest({
        roomId: this.#link.roomId,
        token: this.#link.token,
        tracks,
        signal: this.#signal,
        onProgress: (phase, figures) => {
          this.#verdict.textContent = words.phases[phase];
          this.#show(figures);
        },
      });
      if (result === null) return null; // ended early: the screen is gone
      const text = words.verdicts[result.verdict] ?? { title: result.words, advice: "" };
      this.#result.dataset.verdict = result.verdict;
      this.#verdict.textContent = text.title;
      this.#advice.textContent = text.advice;
      this.#reasons.replaceChildren(
        ...result.reasons.map((reason) => Object.assign(document.createElement("li"), { textContent: reason })),
      );
      this.#show(result.figures);
      return result;
    } finally {
      stop();
      this.#running = false;
      this.#button.disabled = false;
      this.#button.textContent = words.again;
    }
  }

  /** @param {Figures} figures */
  #show(figures) {
    byId("precall-rtt").textContent = precallFigure("rtt", figures.rttS);
    byId("precall-loss").textContent = precallFigure("loss", figures.loss);
    byId("precall-jitter").textContent = precallFigure("jitter", figures.jitterS);
    byId("precall-bitrate").textContent = precallFigure("bitrate", figures.bitrateBps);
    byId("precall-available").textContent = precallFigure("bitrate", figures.availableBps);
  }
}
