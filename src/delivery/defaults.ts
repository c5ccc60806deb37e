import type { DeliveryTimings } from './types.js';

/** Every default of the delivery stage (src/delivery/): retries, fitting, the outbox's bounds. */
export const DELIVERY_DEFAULTS = {
  worker: {
    initialBackoffMs: 2_000,
    maxBackoffMs: 60_000,
    heldRecheckMs: 5 * 60_000,
    baseRequestTimeoutMs: 15_000,
    // 1 Mbit/s: a 25 MB clip gets about 3.5 minutes.
    uploadBytesPerSecond: 125_000,
    // Far beyond a node's heartbeat lapsing (10 s) or a restart: only a node really gone loses its alerts' turn.
    takeoverAfterMs: 60_000,
    takeoverCheckMs: 10_000,
  },
  fit: {
    timeoutMs: 5 * 60_000,
    /** Share of the byte budget the audio + video bitrates aim for; the rest absorbs mp4 overhead and rate-control overshoot. */
    headroom: 0.9,
    /** On the retry, aim this far below what the overshoot ratio says. */
    retryMargin: 0.85,
    /** Below this the picture is mush and the attempt is not worth the CPU: report CLIP_TOO_LARGE instead. */
    minVideoKbps: 50,
    audioKbps: 96,
    lowAudioKbps: 64,
    /** Total bitrate under which audio drops to lowAudioKbps. */
    lowAudioBelowKbps: 1_000,
    /** An AAC track is copied as is when its bitrate is at most this, and at most copyAudioShare of the budget. */
    copyAudioMaxKbps: 192,
    copyAudioShare: 0.1,
    /** [minimum video kbps, largest short side in pixels]: less bitrate, smaller picture. */
    scaleLadder: [
      [2_500, 1_080],
      [1_200, 720],
      [600, 540],
      [300, 360],
      [0, 240],
    ],
    /** Room for the multipart envelope and JSON payload next to the file, proportional to the limit. */
    marginRatio: 0.03,
  },
  outbox: {
    /** Callers kept per alert; a burst of thousands still makes one small row. */
    callers: 25,
    /** Per-caller text kept (chat message, note); Discord shows less anyway. */
    textChars: 500,
    /** Delivered alerts remembered per guild for credit edits (late callers concern the latest few). */
    sentPerGuild: 50,
  },
  /** Chatters named in an alert's credits; the rest are counted. */
  maxCredited: 20,
} as const satisfies {
  worker: DeliveryTimings;
  fit: {
    timeoutMs: number;
    headroom: number;
    retryMargin: number;
    minVideoKbps: number;
    audioKbps: number;
    lowAudioKbps: number;
    lowAudioBelowKbps: number;
    copyAudioMaxKbps: number;
    copyAudioShare: number;
    scaleLadder: readonly (readonly [number, number])[];
    marginRatio: number;
  };
  outbox: Record<string, number>;
  maxCredited: number;
};
