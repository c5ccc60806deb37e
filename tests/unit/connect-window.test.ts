import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateBudget } from '../../src/monitor/rate-budget.js';
import { ConnectBudgetSizer, type SignLimits } from '../../src/monitor/sign-limits.js';

const log = pino({ level: 'silent' });
const START = Date.parse('2026-01-01T00:00:00Z');
const WINDOW_MS = 60_000;
/** How long a connect takes from its grant to its signed request reaching the service. */
const CONNECT_MS = 300;

/**
 * A signing service with one sliding minute window, as the real one counts: a use counts for a minute
 * after it was made; its limits route says how many are left and when the oldest leaves.
 */
class SlidingService {
  readonly uses: number[] = [];
  refused = 0;
  reads = 0;

  constructor(readonly max: number) {}

  connect(): boolean {
    this.prune();
    if (this.uses.length >= this.max) {
      this.refused += 1;
      return false;
    }
    this.uses.push(Date.now());
    return true;
  }

  limits(): SignLimits {
    this.reads += 1;
    this.prune();
    const oldest = this.uses[0];
    return { minute: { max: this.max, remaining: this.max - this.uses.length, resetAtMs: oldest === undefined ? undefined : oldest + WINDOW_MS } };
  }

  private prune(): void {
    while (this.uses.length > 0 && this.uses[0]! <= Date.now() - WINDOW_MS) this.uses.shift();
  }
}

/** The bot's connect budget as the monitor builds it, sized by the sizer from `service`. */
function connectBudget(service: SlidingService) {
  const budget = new RateBudget([{ limit: 4, windowMs: WINDOW_MS }], { inFlightMs: 60_000 });
  const sizer = new ConnectBudgetSizer({ budget, fetchLimits: () => Promise.resolve(service.limits()), overrides: {}, log });
  sizer.start();
  /** Seconds after START at which each connect reached the service (undefined: refused). */
  const joined: number[] = [];
  const connect = async () => {
    const grant = await budget.acquire(undefined, { priority: 'foreground' });
    await new Promise((resolve) => setTimeout(resolve, CONNECT_MS));
    const isAccepted = service.connect();
    grant.done();
    if (isAccepted) joined.push((Date.now() - START) / 1_000);
  };
  return { budget, sizer, joined, connect, close: () => (sizer.close(), budget.close()) };
}

describe('the connect budget against a sliding window (3 connects a minute)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(START);
  });
  afterEach(() => vi.useRealTimers());

  it('joins 3 of 5 lives added one by one at once, then the 4th and 5th apart as slots free, never refused', async () => {
    const service = new SlidingService(3);
    const bot = connectBudget(service);
    for (let i = 0; i < 5; i += 1) {
      void bot.connect();
      await vi.advanceTimersByTimeAsync(2_000);
    }
    expect(bot.joined).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(70_000);
    expect(service.refused).toBe(0);
    expect(bot.joined).toHaveLength(5);
    const [, , , fourth, fifth] = bot.joined;
    // Each waits for its own slot: the 1st connect leaving frees one, the 2nd (2 s later) the next.
    expect(fifth! - fourth!).toBeGreaterThanOrEqual(1.5);
    bot.close();
  });

  it('after a restart with the window spent by the last run: frees the spending one use at a time, no 429, all join', async () => {
    const service = new SlidingService(3);
    // The last run connected three lives 50, 45 and 40 s ago, then died.
    service.uses.push(START - 50_000, START - 45_000, START - 40_000);
    const bot = connectBudget(service);
    for (let i = 0; i < 5; i += 1) void bot.connect();
    await vi.advanceTimersByTimeAsync(9_000);
    expect(bot.joined).toEqual([]);
    // The oldest leaves at 10 s, the next at 15 s and 20 s: one join each, learnt by reading again.
    await vi.advanceTimersByTimeAsync(13_500);
    expect(bot.joined).toHaveLength(3);
    expect(bot.joined[0]).toBeLessThan(12);
    expect(bot.joined[1]).toBeLessThan(17);
    expect(bot.joined[2]).toBeLessThan(22.5);
    await vi.advanceTimersByTimeAsync(70_000);
    expect(service.refused).toBe(0);
    expect(bot.joined).toHaveLength(5);
    // A handful of reads, not one a second.
    expect(service.reads).toBeLessThanOrEqual(6);
    bot.close();
  });

  it('restarted in the middle (3 joined, 2 queued): every live joins again within about two minutes, never refused', async () => {
    const service = new SlidingService(3);
    const first = connectBudget(service);
    for (let i = 0; i < 5; i += 1) {
      void first.connect();
      await vi.advanceTimersByTimeAsync(2_000);
    }
    expect(first.joined).toHaveLength(3);
    first.close();
    // The new process connects all five again, knowing nothing of the last one's connects but what the service says.
    const second = connectBudget(service);
    for (let i = 0; i < 5; i += 1) void second.connect();
    await vi.advanceTimersByTimeAsync(130_000);
    expect(service.refused).toBe(0);
    expect(second.joined).toHaveLength(5);
    expect(second.joined.at(-1)).toBeLessThan(130);
    second.close();
  });

  it('counts a reported use again when its own connect was still in flight at the read (never fewer than the service)', async () => {
    const service = new SlidingService(3);
    const bot = connectBudget(service);
    await vi.advanceTimersByTimeAsync(0);
    // Two connects in flight while the limits are read again (a 429 elsewhere, say).
    void bot.connect();
    void bot.connect();
    await vi.advanceTimersByTimeAsync(CONNECT_MS + 10);
    await bot.sizer.refresh();
    for (let i = 0; i < 3; i += 1) void bot.connect();
    await vi.advanceTimersByTimeAsync(200_000);
    expect(service.refused).toBe(0);
    expect(bot.joined).toHaveLength(5);
    bot.close();
  });
});
