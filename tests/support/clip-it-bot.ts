import { afterAll, beforeAll } from 'vitest';
import type { SupervisorTimings } from '../../src/monitor/types.js';
import { FAST_TUNING, startWithStandInObs, type HarnessOptions, type StandInObsHarness } from './bot-harness.js';

export interface ClipItBotOptions extends Pick<HarnessOptions, 'tiktokTransport' | 'log'> {
  /** More environment; a function when it depends on something an earlier beforeAll started (a proxy). */
  readonly env?: Record<string, string> | (() => Record<string, string>);
  /** On top of FAST_TUNING's supervisor timings (each key replaces FAST_TUNING's). */
  readonly supervisorTimings?: Partial<SupervisorTimings>;
  /** Runs once the bot is up, inside the same beforeAll (rooms to add, notices to switch on). */
  readonly setUp?: (h: StandInObsHarness) => Promise<void>;
}

/**
 * One bot for a describe block of the supervision tests (silent rooms, unclear checks, sessions): the
 * stand-in OBS, the keyword `clip it` with no cooldown, so every chat that says it is one save, and
 * FAST_TUNING with the block's own supervisor timings. Registers the block's beforeAll and afterAll;
 * call the returned function inside the tests for the running harness.
 */
export function clipItBotPerSuite(options: ClipItBotOptions = {}): () => StandInObsHarness {
  let h: StandInObsHarness | undefined;
  beforeAll(async () => {
    h = await startWithStandInObs({
      keywords: ['clip it'],
      cooldownSeconds: 0,
      ...(options.env ? { env: typeof options.env === 'function' ? options.env() : options.env } : {}),
      ...(options.tiktokTransport ? { tiktokTransport: options.tiktokTransport } : {}),
      ...(options.log ? { log: options.log } : {}),
      tuning: { supervisorTimings: { ...FAST_TUNING.supervisorTimings, ...options.supervisorTimings } },
    });
    await options.setUp?.(h);
  });
  afterAll(async () => {
    await h?.close();
  });
  return () => {
    if (!h) throw new Error('the clip-it bot is not running (its beforeAll failed or has not run)');
    return h;
  };
}

/** The line of a /stream list or /status answer about `@room`, Discord's markdown escapes removed. */
export function streamLine(content: string, room: string): string {
  return content.split('\n').find((l) => l.replace(/\\/g, '').includes(`@${room}`)) ?? '';
}
