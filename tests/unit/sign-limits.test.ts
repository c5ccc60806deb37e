import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { isAppError } from '../../src/util/errors.js';
import { RateBudget } from '../../src/monitor/rate-budget.js';
import { ConnectBudgetSizer, connectWindows, type SignLimits } from '../../src/monitor/sign-limits.js';

const log = pino({ level: 'silent' });
const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('connectWindows', () => {
  it('sizes the budget from every window the service reports', () => {
    const limits: SignLimits = {
      minute: { max: 120, remaining: 120, resetAtMs: undefined },
      hour: { max: 1_000, remaining: 1_000, resetAtMs: undefined },
      day: { max: 5_000, remaining: 5_000, resetAtMs: undefined },
    };
    expect(connectWindows(limits, {}, NOW)).toEqual([
      { limit: 120, windowMs: 60_000 },
      { limit: 1_000, windowMs: 3_600_000 },
      { limit: 5_000, windowMs: 86_400_000 },
    ]);
  });

  it('starts a window partly spent when the service says so (a restart), until its reset', () => {
    const limits: SignLimits = { minute: { max: 10, remaining: 4, resetAtMs: NOW + 30_000 } };
    expect(connectWindows(limits, {}, NOW)).toEqual([
      { limit: 10, windowMs: 60_000, reported: { used: 6, untilMs: NOW + 31_000 } },
    ]);
  });

  it('falls back to the keyless budget when the service could not be read', () => {
    expect(connectWindows(undefined, {}, NOW)).toEqual([
      { limit: 4, windowMs: 60_000 },
      { limit: 25, windowMs: 3_600_000 },
    ]);
  });

  it('lets TIKTOK_CONNECTS_PER_MINUTE / _PER_HOUR win over the service and the fallback', () => {
    const limits: SignLimits = { minute: { max: 120, remaining: 120, resetAtMs: undefined } };
    expect(connectWindows(limits, { perMinute: 30, perHour: 200 }, NOW)).toEqual([
      { limit: 30, windowMs: 60_000 },
      { limit: 200, windowMs: 3_600_000 },
    ]);
    expect(connectWindows(undefined, { perMinute: 2 }, NOW)).toEqual([
      { limit: 2, windowMs: 60_000 },
      { limit: 25, windowMs: 3_600_000 },
    ]);
  });
});

describe('ConnectBudgetSizer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('holds connects until the limits are read, then sizes the budget and reads again hourly', async () => {
    let answer: (limits: SignLimits) => void = () => undefined;
    const fetchLimits = vi.fn(() => new Promise<SignLimits>((resolve) => (answer = resolve)));
    const budget = new RateBudget([{ limit: 4, windowMs: 60_000 }]);
    const sizer = new ConnectBudgetSizer({ budget, fetchLimits, overrides: {}, log });
    sizer.start();
    let granted = 0;
    for (let i = 0; i < 10; i += 1) void budget.acquire().then(() => (granted += 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toBe(0);
    answer({ minute: { max: 8, remaining: 8, resetAtMs: undefined } });
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toBe(8);
    expect(sizer.source).toBe('signing service');
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(fetchLimits).toHaveBeenCalledTimes(2);
    sizer.close();
    budget.close();
  });

  it('uses the keyless fallback while the service cannot be reached', async () => {
    const budget = new RateBudget([{ limit: 100, windowMs: 60_000 }]);
    const sizer = new ConnectBudgetSizer({ budget, fetchLimits: () => Promise.reject(new Error('ECONNREFUSED')), overrides: {}, log });
    sizer.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(budget.limits()).toEqual([
      { limit: 4, windowMs: 60_000 },
      { limit: 25, windowMs: 3_600_000 },
    ]);
    expect(sizer.source).toBe('fallback (signing service unreachable)');
    sizer.close();
    budget.close();
  });
});

describe('TIKTOK_CONNECTS_PER_MINUTE / TIKTOK_CONNECTS_PER_HOUR', () => {
  const base = { DISCORD_TOKEN: 'token' };

  it('reads whole numbers of connects and leaves them unset by default', () => {
    expect(loadConfig({ ...base, TIKTOK_CONNECTS_PER_MINUTE: '30', TIKTOK_CONNECTS_PER_HOUR: '500' })).toMatchObject({ tiktokConnectsPerMinute: 30, tiktokConnectsPerHour: 500 });
    expect(loadConfig(base)).toMatchObject({ tiktokConnectsPerMinute: undefined, tiktokConnectsPerHour: undefined });
  });

  it('refuses anything but a positive whole number, naming both keys', () => {
    let error: unknown;
    try {
      loadConfig({ ...base, TIKTOK_CONNECTS_PER_MINUTE: '0', TIKTOK_CONNECTS_PER_HOUR: '2.5' });
    } catch (err) {
      error = err;
    }
    expect(isAppError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain('TIKTOK_CONNECTS_PER_MINUTE must be a whole number');
    expect((error as Error).message).toContain('TIKTOK_CONNECTS_PER_HOUR must be a whole number');
  });
});
