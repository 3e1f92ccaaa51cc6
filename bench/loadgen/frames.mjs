// @ts-check
// What a browser sends on duet's signaling socket (docs/protocol.md), shaped like the real thing:
// a `stats` frame as web/js/stats.js `statsFrame` builds it for a clean call, an SDP of a chosen
// size and trickled host candidates. Pure functions: the load generator only times them.

/**
 * A browser's `stats` frame `t` seconds into a clean call: cumulative counters of a 30 fps video
 * and Opus audio call (the same figures as bench/signaling_load.py's `stats_frame`).
 * @param {number} t  Seconds since the peer connection connected.
 * @returns {string}
 */
export function statsFrame(t) {
  const audio = Math.floor(50 * t);
  const video = Math.floor(120 * t);
  const samples = Math.floor(48_000 * t);
  return JSON.stringify({
    type: "stats",
    inbound: {
      audio: {
        packetsReceived: audio,
        packetsLost: 0,
        jitter: 0.004,
        bytesReceived: audio * 120,
        jitterBufferDelay: samples * 0.038,
        jitterBufferEmittedCount: samples,
        concealedSamples: 0,
        totalSamplesReceived: samples,
      },
      video: {
        packetsReceived: video,
        packetsLost: 0,
        bytesReceived: video * 1100,
        framesDecoded: Math.floor(30 * t),
        framesPerSecond: 30,
        freezeCount: 0,
        totalFreezesDuration: 0.0,
      },
    },
    outbound: {
      audio: { bytesSent: audio * 120 },
      video: {
        bytesSent: video * 1100,
        framesSent: Math.floor(30 * t),
        qualityLimitationReason: "none",
        targetBitrate: 1_000_000,
      },
    },
    remoteInbound: {
      audio: { roundTripTime: 0.04, fractionLost: 0.0 },
      video: { roundTripTime: 0.04, fractionLost: 0.0 },
    },
    candidatePair: {
      currentRoundTripTime: 0.04,
      availableOutgoingBitrate: 2_500_000,
      localCandidateType: "host",
      remoteCandidateType: "srflx",
    },
    iceState: "connected",
    connectionState: "connected",
    sendingVideo: true,
  });
}

/** The head of a browser's audio + video offer; padded with ssrc lines to the size asked for. */
const SDP_HEAD = [
  "v=0",
  "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "a=extmap-allow-mixed",
  "a=msid-semantic: WMS stream",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
  "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=ice-ufrag:UFRAG",
  "a=ice-pwd:asd88fgpdd777uzjYhagZg3Kt",
  "a=ice-options:trickle",
  "a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:"
    + "DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08",
  "a=setup:ROLE",
  "a=mid:0",
  "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
  "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
  "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
  "a=sendrecv",
  "a=msid:stream audio-track",
  "a=rtcp-mux",
  "a=rtpmap:111 opus/48000/2",
  "a=rtcp-fb:111 transport-cc",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "a=rtpmap:63 red/48000/2",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:13 CN/8000",
  "a=rtpmap:110 telephone-event/48000",
  "a=rtpmap:126 telephone-event/8000",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101",
  "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=ice-ufrag:UFRAG",
  "a=ice-pwd:asd88fgpdd777uzjYhagZg3Kt",
  "a=ice-options:trickle",
  "a=setup:ROLE",
  "a=mid:1",
  "a=sendrecv",
  "a=msid:stream video-track",
  "a=rtcp-mux",
  "a=rtcp-rsize",
  "a=rtpmap:96 VP8/90000",
  "a=rtcp-fb:96 goog-remb",
  "a=rtcp-fb:96 transport-cc",
  "a=rtcp-fb:96 ccm fir",
  "a=rtcp-fb:96 nack",
  "a=rtcp-fb:96 nack pli",
  "a=rtpmap:97 rtx/90000",
  "a=fmtp:97 apt=96",
  "a=rtpmap:98 VP9/90000",
  "a=fmtp:98 profile-id=0",
  "a=rtpmap:99 rtx/90000",
  "a=fmtp:99 apt=98",
  "a=rtpmap:100 H264/90000",
  "a=fmtp:100 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  "a=rtpmap:101 rtx/90000",
  "a=fmtp:101 apt=100",
];

/**
 * A plausible SDP of at least `bytes` bytes (at most one ssrc line more), CRLF line ends.
 * @param {"offer" | "answer"} kind
 * @param {string} ufrag  The ICE username fragment its candidates carry.
 * @param {number} bytes
 * @returns {string}
 */
export function sdp(kind, ufrag, bytes) {
  const role = kind === "offer" ? "actpass" : "active";
  let text = SDP_HEAD.map((line) => line.replace("UFRAG", ufrag).replace("ROLE", role)).join("\r\n") + "\r\n";
  for (let ssrc = 1_000_000_001; text.length < bytes; ssrc++) {
    text += `a=ssrc:${ssrc} cname:b1OlvYF9w4kLcHx9\r\n`;
  }
  return text;
}

/**
 * The `n`-th trickled host candidate (RTCIceCandidateInit) of a peer, in the benchmarking range.
 * @param {number} n
 * @param {string} ufrag
 * @returns {{candidate: string, sdpMid: string, sdpMLineIndex: number, usernameFragment: string}}
 */
export function candidate(n, ufrag) {
  const port = 50_000 + n;
  const priority = 2_122_260_223 - n;
  const address = `198.18.0.${1 + (n % 250)}`;
  return {
    candidate:
      `candidate:${1_000_000 + n} 1 udp ${priority} ${address} ${port} typ host generation 0 `
      + `ufrag ${ufrag} network-id ${1 + (n % 4)}`,
    sdpMid: "0",
    sdpMLineIndex: 0,
    usernameFragment: ufrag,
  };
}
