/**
 * rss_idle_mb: the bot's resident memory once started with no streams; rss_per_stream_mb: how much each
 * watched live adds, from 10 to 60 joined lives (difference / 50). Measured in a fresh bot process (so
 * the other benchmarks' garbage is not counted) after a full GC; the local TikTok server runs in its own
 * child, the small local Discord in the bot's process (counted in the idle figure, not per stream).
 */
import { fileURLToPath } from 'node:url';
import { endChild, forkBench, startBenchBot, startTikTokChild, watchAndWaitLive } from './flood.js';
import type { BenchResult } from './result.js';

const SELF = fileURLToPath(import.meta.url);

async function settledRssMb(): Promise<number> {
  // Let connects finish their I/O, then collect twice (weak refs and finalizers need a second pass).
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().rss / (1024 * 1024);
}

async function measureInThisProcess(): Promise<BenchResult[]> {
  const tiktok = await startTikTokChild();
  const { bot, discord, close } = await startBenchBot(tiktok.transport);
  try {
    const names = Array.from({ length: 60 }, (_, i) => `rss${i}`);
    await tiktok.addUsers(names);
    const idle = await settledRssMb();
    await watchAndWaitLive(bot, discord, names.slice(0, 10));
    const at10 = await settledRssMb();
    await watchAndWaitLive(bot, discord, names.slice(10));
    const at60 = await settledRssMb();
    return [
      { name: 'rss_idle_mb', value: Math.round(idle * 10) / 10, unit: 'MiB' },
      { name: 'rss_per_stream_mb', value: Math.round(((at60 - at10) / 50) * 1000) / 1000, unit: 'MiB' },
    ];
  } finally {
    await close();
    await tiktok.close();
  }
}

export async function benchRss(): Promise<BenchResult[]> {
  const child = forkBench(SELF, 'bot');
  try {
    return await new Promise<BenchResult[]>((resolve, reject) => {
      child.once('message', (message: { results: BenchResult[] }) => resolve(message.results));
      child.once('exit', (code) => reject(new Error(`rss bench child exited (${code}) without figures`)));
    });
  } finally {
    await endChild(child);
  }
}

if (process.argv[1] === SELF && process.argv[2] === 'bot') {
  void measureInThisProcess()
    .then((results) => process.send!({ results }))
    .catch((err: unknown) => {
      process.stderr.write(`rss bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
}
