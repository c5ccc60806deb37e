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
});
