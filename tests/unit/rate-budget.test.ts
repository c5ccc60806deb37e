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

  it('counts what the signing service says is already spent until its reset', async () => {
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const budget = new RateBudget([{ limit: 3, windowMs: 60_000, reported: { used: 2, untilMs: Date.now() + 20_000 } }]);
    let granted = 0;
    for (let i = 0; i < 3; i += 1) void budget.acquire().then(() => (granted += 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toBe(1);
    await vi.advanceTimersByTimeAsync(20_100);
    expect(granted).toBe(3);
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
