// The signaling protocol as the browser sees it: version, close codes, frame shapes.
//
// This mirrors `signaling/messages.py` and `docs/protocol.md` (version 1). The
// server is the authority; this module only names what the page sends and
// receives so the rest of the code does not spell raw strings.

/** Version sent in `join`; the server closes with 4014 if it does not speak it. */
export const PROTOCOL_VERSION = 1;

/**
 * WebSocket close codes the server uses (`CloseCode` in messages.py).
 * @readonly
 * @enum {number}
 */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  UNAUTHORIZED: 4001,
  ROOM_NOT_FOUND: 4004,
  JOIN_TIMEOUT: 4008,
  REPLACED: 4009,
  ROOM_ENDED: 4010,
  ROOM_EXPIRED: 4011,
  HEARTBEAT_TIMEOUT: 4012,
  TOO_EARLY: 4013,
  UNSUPPORTED_VERSION: 4014,
  SLOW_CONSUMER: 4015,
  RATE_LIMITED: 4016,
});

/**
 * Close codes after which reconnecting cannot help: the page must tell the
 * person why and stop. Every other close (network drop 1006, server restart
 * 1001/1012, heartbeat 4012, join timeout 4008) is worth a reconnect.
 * @type {ReadonlySet<number>}
 */
export const TERMINAL_CLOSE_CODES = Object.freeze(
  new Set([
    CloseCode.NORMAL,
    CloseCode.UNAUTHORIZED,
    CloseCode.ROOM_NOT_FOUND,
    CloseCode.REPLACED,
    CloseCode.ROOM_ENDED,
    CloseCode.ROOM_EXPIRED,
    CloseCode.TOO_EARLY,
    CloseCode.UNSUPPORTED_VERSION,
  ]),
);

/**
 * `code` values of `error` frames that announce the socket is about to close.
 * The others (`invalid_message`, `out_of_order`, `peer_absent`…) leave it open.
 * @type {ReadonlySet<string>}
 */
export const FATAL_ERROR_CODES = Object.freeze(
  new Set([
    "unauthorized",
    "room_not_found",
    "room_ended",
    "room_expired",
    "too_early",
    "replaced",
    "unsupported_version",
    "join_timeout",
    "heartbeat_timeout",
  ]),
);

/**
 * @typedef {"host" | "guest"} Role
 *
 * @typedef {object} PeerInfo
 * @property {Role} role
 * @property {string} name
 * @property {boolean} present
 * @property {boolean} [reconnecting]  Their socket dropped; the server holds their seat for a while.
 *
 * @typedef {object} RoomInfo
 * @property {string} id
 * @property {string} title
 *
 * @typedef {object} Welcome
 * @property {"welcome"} type
 * @property {number} v
 * @property {RoomInfo} room
 * @property {PeerInfo} you
 * @property {PeerInfo} peer
 * @property {boolean} polite  True for the peer that yields on glare (the guest).
 * @property {RTCIceServer[]} iceServers
 * @property {number} pingIntervalS  Seconds between `ping` frames.
 * @property {number} [statsIntervalS]  Seconds between `stats` reports (2 when absent).
 * @property {CallMode} [mode]  The call's current mode (`video` when absent).
 * @property {BackupPlan | null} [backup]  How to reach each other by phone, if anyhow.
 * @property {boolean} [resumed]  Our `join` asked to `resume` and the pairing was kept: keep the peer connection.
 *
 * @typedef {object} PeerJoined
 * @property {"peer-joined"} type
 * @property {PeerInfo} peer
 * @property {boolean} rejoined
 *
 * @typedef {object} PeerLeft
 * @property {"peer-left"} type
 * @property {PeerInfo} peer
 * @property {"bye" | "closed" | "timeout"} reason
 *
 * @typedef {object} PeerReconnecting  Their socket dropped without `bye`: keep the peer connection.
 * @property {"peer-reconnecting"} type
 * @property {PeerInfo} peer
 *
 * @typedef {object} PeerBack  They came back within the grace period and resumed.
 * @property {"peer-back"} type
 * @property {PeerInfo} peer
 *
 * @typedef {object} DescriptionFrame
 * @property {"offer" | "answer"} type
 * @property {string} sdp
 *
 * @typedef {object} CandidateFrame
 * @property {"candidate"} type
 * @property {RTCIceCandidateInit | null} candidate  `null` = end of candidates.
 *
 * @typedef {object} ErrorFrame
 * @property {"error"} type
 * @property {string} code
 * @property {string} message
 *
 * @typedef {"video" | "audio-only" | "phone"} CallMode
 *
 * @typedef {object} BackupPlan  The phone plan (`BackupPlan` in messages.py); each field may be null.
 * @property {string | null} [peerPhone]  The other person's number, if they agreed to share it (E.164).
 * @property {string | null} [dialIn]     The phone bridge's number (E.164).
 * @property {string | null} [pin]        The room's PIN on the bridge.
 * @property {string | null} [dialInLink] One-tap `tel:` link that dials in and enters the PIN.
 *
 * @typedef {"excellent" | "good" | "poor" | "bad" | "lost" | "unknown"} AudioLevel
 * @typedef {"good" | "fair" | "poor" | "off" | "unknown"} VideoLevel
 *
 * @typedef {object} LinkReport  One person's uplink as the other receives it.
 * @property {AudioLevel} audio
 * @property {VideoLevel} video
 * @property {number | null} [mos]         1-4.5.
 * @property {number | null} [videoScore]  0-100.
 * @property {string[]} [problems]  What is wrong, in words ("video at 2 frames/s").
 *
 * @typedef {object} QualityFrame
 * @property {"quality"} type
 * @property {LinkReport} you   My uplink.
 * @property {LinkReport} peer  The other person's uplink.
 *
 * @typedef {object} SuggestFrame
 * @property {"suggest"} type
 * @property {string} id
 * @property {CallMode} mode
 * @property {string} reason  The question, in words, for this person.
 * @property {Role | null} [atFault]
 * @property {BackupPlan | null} [backup]  With `mode: phone`.
 *
 * @typedef {object} WithdrawFrame
 * @property {"withdraw"} type
 * @property {string} id
 *
 * @typedef {object} ModeFrame
 * @property {"mode"} type
 * @property {CallMode} mode
 * @property {Role | null} by  Who switched; `null` when the room's policy did.
 * @property {string} reason   In words, for this person.
 *
 * @typedef {"calling" | "joined" | "left" | "failed"} PhoneState
 *
 * @typedef {object} PhoneFrame  Someone's call on the room's phone bridge changed (`PhoneLeg` in messages.py).
 * @property {"phone"} type
 * @property {Role} role     Whose call.
 * @property {string} name   Their name.
 * @property {PhoneState} state  `calling`: duet rings their phone ("call me"); `joined`: in the phone
 *   conference; `left`: hung up; `failed`: not answered, or the key was not pressed.
 * @property {Role[]} onPhone  Everyone in the phone conference now; both roles: both talk by phone.
 * @property {boolean} [unknownNumber]  With `joined`: the call came from a number other than the one
 *   given for this person (someone else may have the PIN).
 *
 * @typedef {object} IceServersFrame  Fresh ICE servers, new TURN credentials (`IceServersUpdate` in messages.py).
 * @property {"ice-servers"} type
 * @property {RTCIceServer[]} iceServers  For the next ICE restart or peer connection; the running one is unaffected.
 *
 * @typedef {Welcome | PeerJoined | PeerLeft | PeerReconnecting | PeerBack | DescriptionFrame | CandidateFrame | ErrorFrame
 *   | QualityFrame | SuggestFrame | WithdrawFrame | ModeFrame | PhoneFrame | IceServersFrame
 *   | {type: "pong", id: number | null}} ServerFrame
 */

/** Largest `stats` frame the server accepts, in bytes of UTF-8 (`MAX_STATS_BYTES` in stats.py). */
export const MAX_STATS_BYTES = 8 * 1024;

/**
 * The wire form of a trickled candidate: exactly `RTCIceCandidateInit`'s four
 * fields, whatever extra properties the browser's object carries.
 * @param {RTCIceCandidate | null} candidate
 * @returns {RTCIceCandidateInit | null}
 */
export function candidateToWire(candidate) {
  if (candidate === null) return null;
  const { candidate: line, sdpMid, sdpMLineIndex, usernameFragment } = candidate.toJSON();
  return {
    candidate: line ?? "",
    sdpMid: sdpMid ?? null,
    sdpMLineIndex: sdpMLineIndex ?? null,
    usernameFragment: usernameFragment ?? null,
  };
}
