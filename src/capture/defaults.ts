/** Every default of the capture stage (src/capture/): OBS's replay buffer and each live's own buffer. */
export const CAPTURE_DEFAULTS = {
  obs: {
    requestTimeoutMs: 5_000,
    connectTimeoutMs: 5_000,
    // The event normally follows in well under a second; a long buffer on a slow disk takes longer.
    savedEventTimeoutMs: 10_000,
    reconnect: { initialDelayMs: 1_000, maxDelayMs: 30_000 },
    // If the buffer stops again this soon after we restarted it, something in OBS stops it (encoder,
    // disk, a user who really wants it off): leave it stopped rather than fight in a loop.
    minAutoRestartIntervalMs: 10_000,
    /** Starting the replay buffer: tries, and how long STARTED may take (it follows within some 50 ms). */
    startAttempts: 3,
    startConfirmMs: 1_000,
    /** Triggers of other streams join a waiting OBS save for this long, until OBS says its buffer length. */
    mergeWindowMs: 30_000,
  },
  streamBuffer: {
    bufferSeconds: 60,
    segmentSeconds: 2,
    /** No new segment for this long: the pull is stuck; restart it. */
    stallMs: 15_000,
    restartMinMs: 1_000,
    restartMaxMs: 30_000,
    /** The first segment also waits for the CDN's first bytes and ffmpeg's probe: allow this much more. */
    firstSegmentGraceMs: 10_000,
  },
  streamCut: {
    /** How long past `at + after` a cut waits for the segment that covers it (segments are >= one GOP). */
    maxExtraWaitMs: 8_000,
    /** Reading a playlist is cheap; a tight poll is most of what stands between the window's end and the clip. */
    pollMs: 100,
    /** Triggers within this long after a moment are in its clip already (the default `after` window). */
    mergeWindowMs: 5_000,
    /**
     * A cut's ffmpeg or ffprobe that runs this long is killed (by its pid) and the moment reported as
     * failed: a copy of a minute takes seconds, an HEVC re-encode well under this; a hung one must not
     * hold its moment forever.
     */
    toolTimeoutMs: 120_000,
  },
} as const satisfies {
  obs: Record<string, number | Record<string, number>>;
  streamBuffer: Record<string, number>;
  streamCut: Record<string, number>;
};
