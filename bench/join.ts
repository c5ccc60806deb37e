import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { StreamMonitor } from '../src/monitor/stream-monitor.js';
import { createTikTokConnectionFactory, fetchSignLimits } from '../src/monitor/tiktok-live-connection.js';
import { startFakeTikTok } from '../tests/fakes/tiktok-server.js';
import type { BenchResult } from './result.js';

/**
 * join_50_streams_s: 50 users already live are watched at once by the stream monitor with the real
 * TikTok adapter and the budgets a user gets (the connect budget read from the signing service, which
 * advertises 60 connects a minute and enforces them); seconds until every one is live in its chat.
 * Goal: within ceil(50 / 60) minutes plus a few seconds, with no 429.
 */
export async function benchJoin(options: { streams?: number; perMinute?: number } = {}): Promise<BenchResult[]> {
  const streams = options.streams ?? 50;
  const fake = await startFakeTikTok();
  fake.advertiseLimits({ minute: options.perMinute ?? 60, hour: 1_000, day: 5_000 });
  const names = Array.from({ length: streams }, (_, i) => `bench.join${i}`);
  for (const name of names) fake.addUser(name, { live: true });
  let live = 0;
  let allLive!: () => void;
  const done = new Promise<void>((resolve) => (allLive = resolve));
  const monitor = new StreamMonitor({
    connect: createTikTokConnectionFactory(fake.transport),
    signLimits: () => fetchSignLimits(fake.transport),
    log: pino({ level: 'silent' }),
    listener: {
      chat: () => undefined,
      stateChange: (_username, state, previous) => {
        if (state.name === 'live' && previous.name !== 'live' && ++live === streams) allLive();
      },
    },
  });
  try {
    const start = performance.now();
    for (const name of names) monitor.watch('bench', name);
    await done;
    const seconds = (performance.now() - start) / 1000;
    return [
      { name: 'join_50_streams_s', value: Number(seconds.toFixed(2)), unit: 's' },
      { name: 'join_50_streams_429s', value: fake.stats.signRateLimited, unit: 'count' },
    ];
  } finally {
    await monitor.close();
    await fake.close();
  }
}
