import { ObsCapture } from '../src/obs/obs-capture.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { ChatRouter } from '../src/triggers/chat-router.js';
import { ClipJournal } from '../src/clips/clip-journal.js';
import { ClipService } from '../src/clips/clip-service.js';
import { EventLog } from '../src/events/event-log.js';
import { compileMatcher } from '../src/triggers/keyword-matcher.js';
import type { ReplayBuffer, SavedReplay } from '../src/obs/replay-buffer.js';
import type { BenchResult } from './result.js';

/**
 * The bot's trigger path (router -> clip service -> save) with a stand-in OBS that answers at once, and
 * a stopwatch: call `start(chatter)` when a matching chat from `chatter` is sent; the latency ends when
 * the stand-in OBS is asked to save. That moment travels in the replay's path, because only filing
 * learns which chatter the save was for. The clip journal is real, on a temporary folder.
 */
export function createLatencyRig() {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const journalDir = mkdtempSync(path.join(os.tmpdir(), 'bench-journal-'));
  const replayBuffer: ReplayBuffer = {
    save: async <T>(onSaved: (replay: SavedReplay) => Promise<T>): Promise<T> =>
      onSaved({ path: `/dev/null#${performance.now()}`, savedAt: new Date() }),
    status: () => ({ connection: 'connected', isBufferActive: true, since: new Date(), lastError: undefined }),
    bufferSeconds: () => 30,
    recordDirectory: () => undefined,
    onStatusChange: () => () => undefined,
    start: async () => undefined,
    close: async () => undefined,
  };
  const clips = new ClipService({
    captures: { obs: new ObsCapture({ replayBuffer }) },
    fileClip: async ({ chatter, sourcePath }) => {
      const start = sentAt.get(chatter);
      const requestedAt = Number(sourcePath.split('#')[1]);
      if (start !== undefined) latencies.push(requestedAt - start);
      return '/dev/null';
    },
    clipsDir: journalDir,
    reporter: { clipSaved: async () => undefined, clipJoined: async () => undefined, clipFailed: async () => undefined },
    journal: new ClipJournal(journalDir, pino({ level: 'silent' })),
    events: new EventLog(),
    log: pino({ level: 'silent' }),
    // Every matching chat must become its own save for the figure to mean anything.
    policyFor: () => ({ cooldownSeconds: 0, delaySeconds: 0 }),
    coalesceWindowMs: 0,
  });
  const keywords = Array.from({ length: 200 }, (_, i) => ({ word: `kw${i}xyz`, mode: i % 2 ? ('word' as const) : ('contains' as const) }));
  const matcher = compileMatcher(keywords);
  const router = new ChatRouter({ matcherFor: () => matcher, trigger: (t) => clips.trigger(t) });
  return {
    router,
    clips,
    async close(): Promise<void> {
      await clips.close();
      rmSync(journalDir, { recursive: true, force: true });
    },
    /** A message that fires keyword number `n`. */
    matchingText: (n: number) => `wow kw${n % keywords.length}xyz that was great`,
    start: (chatter: string) => sentAt.set(chatter, performance.now()),
    /** Latency at quantile q (0..1) in ms, rounded to µs. */
    quantile(q: number): number {
      const sorted = [...latencies].sort((a, b) => a - b);
      const value = sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
      return Math.round(value * 1000) / 1000;
    },
    /** `{prefix}_p50`, `{prefix}_p99` and `{prefix}_samples`, as the bench prints them. */
    figures(prefix: string): BenchResult[] {
      return [
        { name: `${prefix}_p50`, value: this.quantile(0.5), unit: 'ms' },
        { name: `${prefix}_p99`, value: this.quantile(0.99), unit: 'ms' },
        { name: `${prefix}_samples`, value: latencies.length, unit: 'saves' },
      ];
    },
  };
}
