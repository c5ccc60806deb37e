import { benchChatToSave } from './chat-to-save.js';
import { benchCluster } from './cluster.js';
import { benchFit } from './fit.js';
import { benchFlood } from './flood.js';
import { benchHype } from './hype.js';
import { benchJoin } from './join.js';
import { benchRss } from './rss.js';
import { benchStreamBuffer } from './stream-buffer.js';
import { benchMatching } from './match.js';
import { benchTriggerLatency } from './trigger-latency.js';
import type { BenchResult } from './result.js';

/**
 * `npm run bench`: prints one figure per line as `name: value unit`. Figures are reported, never
 * asserted: these machines are shared and noisy, so goals are read against the README, not enforced.
 */
async function main(): Promise<void> {
  const groups: Array<() => Promise<BenchResult[]>> = [benchMatching, () => benchTriggerLatency(), () => benchChatToSave(), () => Promise.resolve(benchHype()), () => benchRss(), () => benchFlood(), () => benchFit(), () => benchJoin(), () => benchStreamBuffer(), () => benchCluster(), () => benchCluster({ database: 'postgres' })];
  for (const group of groups) {
    for (const { name, value, unit } of await group()) process.stdout.write(`${name}: ${value} ${unit}\n`);
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
