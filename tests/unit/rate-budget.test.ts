import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateBudget } from '../../src/monitor/rate-budget.js';

describe('RateBudget', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('grants at most `limit` per window and queues the rest in order', async () => {
    const budget = new RateBudget([{ limit: 2, windowMs: 60_000 }]);
    const granted: number[] = [];
    for (let i = 0; i < 5; i += 1) void budget.acquire().then(() => granted.push(i));
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toEqual([0, 1]);
    await vi.advanceTimersByTimeAsync(59_000);
    expect(granted).toEqual([0, 1]);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(granted).toEqual([0, 1, 2, 3]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(granted).toEqual([0, 1, 2, 3, 4]);
    budget.close();
  });

  it('honours every window: the hourly cap holds even when the minute has room', async () => {
    const budget = new RateBudget([
      { limit: 5, windowMs: 60_000 },
      { limit: 6, windowMs: 3_600_000 },
    ]);
    let granted = 0;
    for (let i = 0; i < 20; i += 1) void budget.acquire().then(() => (granted += 1));
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(granted).toBe(6);
    await vi.advanceTimersByTimeAsync(31 * 60_000);
    expect(granted).toBe(11);
    budget.close();
  });

  it('drops a waiter whose signal aborts', async () => {
    const budget = new RateBudget([{ limit: 1, windowMs: 1_000 }]);
    await budget.acquire();
    const controller = new AbortController();
    const waiting = budget.acquire(controller.signal);
    controller.abort(new Error('removed'));
    await expect(waiting).rejects.toThrow('removed');
    expect(budget.queued).toBe(0);
    budget.close();
  });

  it('serves a stream just added or just gone live before background reconnects', async () => {
    const budget = new RateBudget([{ limit: 1, windowMs: 60_000 }]);
    await budget.acquire();
    const order: string[] = [];
    void budget.acquire(undefined, { priority: 'background' }).then(() => order.push('reconnect 1'));
    void budget.acquire(undefined, { priority: 'background' }).then(() => order.push('reconnect 2'));
    void budget.acquire(undefined, { priority: 'foreground' }).then(() => order.push('added'));
    void budget.acquire(undefined, { priority: 'foreground' }).then(() => order.push('went live'));
    await vi.advanceTimersByTimeAsync(4 * 60_000 + 100);
    expect(order).toEqual(['added', 'went live', 'reconnect 1', 'reconnect 2']);
    budget.close();
  });

  it('tells a waiter roughly when it joins, and grants everyone once the window has passed', async () => {
    const budget = new RateBudget([{ limit: 3, windowMs: 60_000 }]);
    const granted: number[] = [];
    const estimates = new Map<number, number | undefined>();
    for (let i = 0; i < 5; i += 1) {
      void budget.acquire(undefined, { onQueued: (ms) => estimates.set(i, ms) }).then(() => granted.push(i));
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toEqual([0, 1, 2]);
    expect([...estimates.keys()]).toEqual([3, 4]);
    expect(estimates.get(3)).toBeGreaterThan(55_000);
    expect(estimates.get(3)).toBeLessThanOrEqual(60_001);
    expect(budget.estimateWaitMs('foreground')).toBeGreaterThan(55_000);
    await vi.advanceTimersByTimeAsync(60_100);
    expect(granted).toEqual([0, 1, 2, 3, 4]);
    budget.close();
  });

  it('takes new limits at run time and re-plans the waiters', async () => {
    const budget = new RateBudget([{ limit: 1, windowMs: 60_000 }]);
    let granted = 0;
    for (let i = 0; i < 10; i += 1) void budget.acquire().then(() => (granted += 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toBe(1);
    budget.setWindows([{ limit: 120, windowMs: 60_000 }]);
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toBe(10);
    expect(budget.limits()).toEqual([{ limit: 120, windowMs: 60_000 }]);
    budget.close();
  });

  it('grants nothing while held (a 429, or limits not read yet), then resumes', async () => {
    const budget = new RateBudget([{ limit: 10, windowMs: 60_000 }]);
    budget.pause();
    let granted = 0;
    const estimates: Array<number | undefined> = [];
    void budget.acquire(undefined, { onQueued: (ms) => estimates.push(ms) }).then(() => (granted += 1));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(granted).toBe(0);
    expect(estimates).toEqual([undefined]);
    expect(budget.estimateWaitMs()).toBeUndefined();
    budget.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toBe(1);
    budget.holdUntil(Date.now() + 30_000);
    void budget.acquire().then(() => (granted += 1));
    await vi.advanceTimersByTimeAsync(29_000);
    expect(granted).toBe(1);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(granted).toBe(2);
    budget.close();
  });
});

/**
 * The signing service's windows slide: a use counts for one window length after the service saw it, and
 * its limits route names only when the oldest use leaves (`reset_at`). These pin the arithmetic.
 */
describe('RateBudget with sliding windows reported by the signing service', () => {
  const START = Date.parse('2026-01-01T00:00:00Z');
  const at = (seconds: number) => START + seconds * 1_000;
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(START);
  });
  afterEach(() => vi.useRealTimers());

  /** Acquires `count` grants in order, recording when each one comes (s after START), and ends each at once. */
  function queue(budget: RateBudget, count: number): number[] {
    const times: number[] = [];
    for (let i = 0; i < count; i += 1) {
      void budget.acquire().then((grant) => {
        times.push((Date.now() - START) / 1_000);
        grant.done();
      });
    }
    return times;
  }

  it('frees a partly spent window one use at a time: the oldest at reset_at, the rest no earlier than they can leave', async () => {
    // An earlier run used all 3; the service says the oldest of them leaves in 20 s and nothing more.
    const budget = new RateBudget([{ limit: 3, windowMs: 60_000, reported: { used: 3, untilMs: at(20) } }], { inFlightMs: 10_000 });
    const granted = queue(budget, 3);
    await vi.advanceTimersByTimeAsync(19_000);
    expect(granted).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_100);
    // One slot, not the whole window.
    expect(granted).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(38_000);
    expect(granted).toHaveLength(1);
    // The other two were made by the read at the latest, so they have left a window after it.
    await vi.advanceTimersByTimeAsync(2_100);
    expect(granted).toHaveLength(3);
    expect(budget.rereadDueMs()).toBeUndefined();
    budget.close();
  });

  it('learns from a re-read when the next reported use leaves, without counting its own grant twice', async () => {
    const budget = new RateBudget([{ limit: 3, windowMs: 60_000, reported: { used: 3, untilMs: at(10) } }], { inFlightMs: 10_000 });
    expect(budget.rereadDueMs()).toBe(at(10));
    const granted = queue(budget, 3);
    await vi.advanceTimersByTimeAsync(10_100);
    expect(granted).toEqual([10.001]);
    // Read again at 11 s: our grant of 10 s and two uses of the earlier run, the older leaving at 15 s.
    vi.setSystemTime(at(11));
    budget.setWindows([{ limit: 3, windowMs: 60_000, reported: { used: 3, untilMs: at(15) } }], { countedAtMs: at(11), slackMs: 1_000 });
    expect(budget.rereadDueMs()).toBe(at(15));
    await vi.advanceTimersByTimeAsync(3_900);
    expect(granted).toEqual([10.001]);
    // Counted twice, our grant would hold this one back until the 10 s grant left (70 s).
    await vi.advanceTimersByTimeAsync(200);
    expect(granted).toEqual([10.001, 15.001]);
    budget.close();
  });

  it('does not release early a use of someone else when the oldest use the service reports is its own grant', async () => {
    const budget = new RateBudget([{ limit: 3, windowMs: 60_000 }], { inFlightMs: 10_000 });
    const first = queue(budget, 1);
    await vi.advanceTimersByTimeAsync(5_000);
    const second = queue(budget, 1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect([...first, ...second]).toEqual([0, 5]);
    // Someone else on the key connected in between; a read at 10 s: three used, the oldest (ours, 0 s) leaves at 60 s.
    budget.setWindows([{ limit: 3, windowMs: 60_000, reported: { used: 3, untilMs: at(61) } }], { countedAtMs: at(10), slackMs: 1_000 });
    const after = queue(budget, 3);
    await vi.advanceTimersByTimeAsync(50_500);
    expect(after).toEqual([60.001]);
    // Our 5 s grant leaves at 65 s; the other use could count until 71 s (the read plus a window): not at 61 s.
    await vi.advanceTimersByTimeAsync(4_000);
    expect(after).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(after).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(after).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(after).toHaveLength(3);
    budget.close();
  });

  it('counts a grant from when its attempt was over, and until its bound while it is in flight', async () => {
    const budget = new RateBudget([{ limit: 1, windowMs: 60_000 }], { inFlightMs: 30_000 });
    const first = await budget.acquire();
    const granted: number[] = [];
    // The second is never ended: it counts as made at its bound, 30 s after its grant.
    void budget.acquire().then(() => granted.push((Date.now() - START) / 1_000));
    void budget.acquire().then(() => granted.push((Date.now() - START) / 1_000));
    await vi.advanceTimersByTimeAsync(5_000);
    // The request reached the service some time in the first 5 s: it counts there until 65 s.
    first.done();
    await vi.advanceTimersByTimeAsync(59_900);
    expect(granted).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(granted).toEqual([65.001]);
    await vi.advanceTimersByTimeAsync(88_000);
    expect(granted).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2_100);
    expect(granted).toHaveLength(2);
    budget.close();
  });
});
