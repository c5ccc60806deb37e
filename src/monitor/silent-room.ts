/**
 * Silent ("zombie") rooms: TikTok keeps the push socket open and answers every heartbeat, yet sends the
 * room nothing any more: no chat, member, like, gift, social or viewer-count message (reported in
 * tiktok-live-connector issues 173 and 280). Keyword triggers then stop with no error. Heartbeat answers
 * prove only that the socket lives (the supervisor's 30 s dead-socket watchdog counts them); this watch
 * counts room traffic alone.
 *
 * What is "too long" depends on the room. A live with thousands of viewers sends joins, likes and viewer
 * counts every second; a live with 3 viewers can honestly be quiet for many minutes, and every needless
 * reconnect spends one connect of the shared budget (4 a minute, 25 an hour without a signing key). So the
 * limit is the largest of:
 *   - a floor by the room's last viewer count (TikTok's WebcastRoomUserSeqMessage `total`):
 *     1,000+ viewers 1 min, 100+ 2 min, 10+ 5 min, fewer or not told yet 10 min;
 *   - 3x the longest quiet stretch the room itself had lately (its last 20 gaps of at least 1 s that
 *     were within its limit then), so a room that is often quiet for 4 min is not called silent at 5;
 * capped at 30 min, then doubled for every silent reconnect in a row that brought no traffic back
 * (a room that really is that quiet stops costing connects), up to 2 h. Any room traffic resets the
 * doubling. The watch lives as long as the stream's supervisor, so what it learnt survives reconnects.
 */

export interface SilentRoomTimings {
  /** Shortest silence called silent, by the room's last viewer count; the first entry it reaches applies. */
  readonly floors: ReadonlyArray<{ readonly minViewers: number; readonly ms: number }>;
  /** The limit is at least this many times the room's longest recent quiet stretch. */
  readonly gapMultiplier: number;
  /** The limit before doubling never exceeds this. */
  readonly ceilingMs: number;
  /** Doubling after fruitless silent reconnects stops here. */
  readonly maxLimitMs: number;
  /** How often an open connection is checked for silence. */
  readonly checkEveryMs: number;
}

/** Gaps shorter than this say nothing about how quiet a room can be; skipping them keeps the per-message path tiny. */
const NOTABLE_GAP_MS = 1_000;
const REMEMBERED_GAPS = 20;

export class SilentRoomWatch {
  private viewers: number | undefined;
  private lastTrafficAt = 0;
  private readonly gaps: number[] = [];
  private nextGap = 0;
  /** Silent reconnects in a row without room traffic since. */
  private strikes = 0;

  constructor(
    private readonly timings: SilentRoomTimings,
    private readonly now: () => number = Date.now,
  ) {}

  /** A connection opened: the quiet stretch starts now (the time before the first message counts too). */
  connected(): void {
    this.lastTrafficAt = this.now();
  }

  /** A room message arrived; `viewers` when it carried the viewer count. Called per message: keep it cheap. */
  traffic(viewers?: number): void {
    const now = this.now();
    const gap = now - this.lastTrafficAt;
    this.lastTrafficAt = now;
    // Only a quiet stretch within what counted as normal teaches the watch: a longer one was a silence
    // it tolerated (after fruitless reconnects), and learning from it would hide the next zombie.
    if (gap >= NOTABLE_GAP_MS && gap <= this.baseLimitMs()) {
      this.gaps[this.nextGap] = gap;
      this.nextGap = (this.nextGap + 1) % REMEMBERED_GAPS;
    }
    if (viewers !== undefined) this.viewers = viewers;
    this.strikes = 0;
  }

  /** How long this room may stay quiet before it counts as silent, now. */
  limitMs(): number {
    const base = this.baseLimitMs();
    return Math.min(this.timings.maxLimitMs, Math.max(base, base * 2 ** this.strikes));
  }

  /** The limit from the room's viewers and own traffic, before any doubling. */
  private baseLimitMs(): number {
    const floor = this.timings.floors.find((f) => (this.viewers ?? 0) >= f.minViewers)?.ms ?? this.timings.ceilingMs;
    const longestGap = this.gaps.reduce((max, gap) => Math.max(max, gap), 0);
    return Math.min(this.timings.ceilingMs, Math.max(floor, this.timings.gapMultiplier * longestGap));
  }

  /** How long the room has been quiet (ms). */
  quietForMs(): number {
    return this.now() - this.lastTrafficAt;
  }

  isSilent(): boolean {
    return this.quietForMs() > this.limitMs();
  }

  /** The connection is being dropped for silence: if the next one is just as quiet, wait longer. */
  reconnectingForSilence(): void {
    this.strikes += 1;
  }

  /** For the reason a moderator reads: "3 viewers", or "viewers not told". */
  describeRoom(): string {
    return this.viewers === undefined ? 'viewer count not told yet' : `${this.viewers} viewer${this.viewers === 1 ? '' : 's'}`;
  }
}

/** "45 s", "12 min", "2 h" (rounded). */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3_600)} h`;
}
