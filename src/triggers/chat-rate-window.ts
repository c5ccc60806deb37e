/**
 * One stream's chat rate: a fixed ring of per-second buckets with running sums, so counting a chat is
 * O(1) and allocates nothing (the hot path sees every chat of every watched LIVE).
 *
 *   [ ...baseline seconds (up to 55)... | recent 5 s (the current second included) ]
 *
 * `recent` is what chat is doing now; `baseline` is the stream's own moving pace just before it.
 */
import { TRIGGER_DEFAULTS } from './defaults.js';

const RING = TRIGGER_DEFAULTS.chatRate.recentSeconds + TRIGGER_DEFAULTS.chatRate.baselineSeconds;

export class ChatRateWindow {
  private readonly buckets = new Uint32Array(RING);
  /** The second (epoch seconds) the newest bucket counts; -1 before the first chat. */
  private newestSecond = -1;
  private firstSecond = -1;
  private recentSum = 0;
  private baselineSum = 0;

  /** Counts one chat received at `nowMs` (epoch ms). Times that go backwards count in the newest second. */
  record(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    if (this.firstSecond < 0) {
      this.firstSecond = second;
      this.newestSecond = second;
    } else {
      this.advanceTo(second);
    }
    this.buckets[this.newestSecond % RING]! += 1;
    this.recentSum += 1;
  }

  /**
   * Chats a second over the last 5 s: the 4 whole seconds before this one and the part of the current
   * second that has passed (counting the current second as whole would read 20 % low just after it starts).
   */
  recentRate(nowMs: number): number {
    this.advanceTo(Math.floor(nowMs / 1000));
    const elapsed = TRIGGER_DEFAULTS.chatRate.recentSeconds - 1 + (nowMs % 1000) / 1000;
    return this.recentSum / elapsed;
  }

  /**
   * Chats a second over the seconds before the recent window that this stream has history for
   * (at most 55); 0 when there is no history before the recent window yet.
   */
  baselineRate(nowMs: number): number {
    this.advanceTo(Math.floor(nowMs / 1000));
    const seconds = this.baselineSpan();
    return seconds === 0 ? 0 : this.baselineSum / seconds;
  }

  /** Seconds since this window counted its first chat (0 before any). */
  historySeconds(nowMs: number): number {
    return this.firstSecond < 0 ? 0 : Math.max(0, Math.floor(nowMs / 1000) - this.firstSecond);
  }

  private baselineSpan(): number {
    if (this.firstSecond < 0) return 0;
    const history = this.newestSecond - this.firstSecond + 1;
    return Math.min(TRIGGER_DEFAULTS.chatRate.baselineSeconds, Math.max(0, history - TRIGGER_DEFAULTS.chatRate.recentSeconds));
  }

  /**
   * Moves the window forward to `second`: each second that passes moves one bucket from the recent
   * window into the baseline and drops the oldest baseline bucket. At most RING steps, whatever the gap.
   */
  private advanceTo(second: number): void {
    if (this.firstSecond < 0 || second <= this.newestSecond) return;
    const steps = Math.min(second - this.newestSecond, RING);
    for (let i = 0; i < steps; i += 1) {
      const next = this.newestSecond + 1;
      // The bucket leaving the recent window (5 s old now) joins the baseline.
      const leavingRecent = this.buckets[(next - TRIGGER_DEFAULTS.chatRate.recentSeconds + RING) % RING]!;
      this.recentSum -= leavingRecent;
      this.baselineSum += leavingRecent;
      // The slot `next` reuses held the oldest baseline second: it leaves the ring.
      const slot = next % RING;
      this.baselineSum -= this.buckets[slot]!;
      this.buckets[slot] = 0;
      this.newestSecond = next;
    }
    // A gap longer than the ring: everything counted is gone; keep the clock where it is.
    if (second > this.newestSecond) {
      this.buckets.fill(0);
      this.recentSum = 0;
      this.baselineSum = 0;
      this.newestSecond = second;
    }
  }
}
