/** Every default of the review stage (src/review/): the chat kept per live, the card, Extend, the recap. */
export const REVIEW_DEFAULTS = {
  chatLog: {
    /**
     * Chats and gifts older than this are dropped: enough for the widest clip window (55 s before, 30 s
     * after) plus Extend's 10 s more each side, and a press a little later.
     */
    maxAgeMs: 3 * 60_000,
    /** And at most this many per live, so a flood of chat costs a fixed amount of memory. */
    maxEntries: 3_000,
  },
  card: {
    /** Chats named on the alert, the nearest to the trigger. */
    chatsAround: 5,
    /** Looked for within this far of the trigger. */
    chatsAroundMs: 10_000,
    chatLineChars: 120,
  },
  srt: {
    /** How long a cue stays on screen (shorter when the clip ends first). */
    cueMs: 3_000,
    cueChars: 200,
  },
  extend: {
    /** Extend cuts the moment again with this much more before and after. */
    extraSeconds: 10,
  },
  recap: {
    /** Peak chat rate is measured over windows of this length. */
    rateBucketMs: 10_000,
    biggestGifts: 3,
    topTriggerers: 3,
    clipsListed: 15,
  },
} as const;
