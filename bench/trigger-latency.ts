import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { ChatRouter } from '../src/clips/chat-router.js';
import { ClipService } from '../src/clips/clip-service.js';
import { EventLog } from '../src/events/event-log.js';
import type { ChatMessage } from '../src/monitor/chat-message.js';
import { compileMatcher } from '../src/monitor/keyword-matcher.js';
import type { ReplayBuffer, SavedReplay } from '../src/obs/replay-buffer.js';
import type { BenchResult } from './result.js';

/**
 * trigger_latency_p99: from a chat entering the bot (handed over by the stream monitor) to the save
 * request leaving for OBS, while 5,000 chats/s of non-matching background traffic flow through the same
 * router. The OBS side is a stand-in that records when save() is called and answers at once, so the
 * figure is the bot's own work: matching, policy, queueing on the event loop.
 */
export async function benchTriggerLatency(options: { seconds?: number; backgroundPerSecond?: number } = {}): Promise<BenchResult[]> {
  const seconds = options.seconds ?? 5;
  const backgroundPerSecond = options.backgroundPerSecond ?? 5_000;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];

  const replayBuffer: ReplayBuffer = {
    async save<T>(onSaved: (replay: SavedReplay) => Promise<T>): Promise<T> {
      return onSaved({ path: '/dev/null', savedAt: new Date() });
    },
    status: () => ({ connection: 'connected', isBufferActive: true, since: new Date(), lastError: undefined }),
    bufferSeconds: () => 30,
    onStatusChange: () => () => undefined,
    start: async () => undefined,
    close: async () => undefined,
  };
  const keywords = Array.from({ length: 200 }, (_, i) => ({ word: `kw${i}xyz`, mode: i % 2 ? ('word' as const) : ('contains' as const) }));
  const matcher = compileMatcher(keywords);
  const clips = new ClipService({
    replayBuffer,
    // Filing runs inside save(): the first thing after the request left. Record the latency there.
    fileClip: async ({ chatter }) => {
      const start = sentAt.get(chatter);
      if (start !== undefined) latencies.push(performance.now() - start);
      return '/dev/null';
    },
    clipsDir: '/tmp',
    reporter: { clipSaved: async () => undefined, clipJoined: async () => undefined, clipFailed: async () => undefined },
    events: new EventLog(),
    log: pino({ level: 'silent' }),
    // Every matching chat must become its own save for the figure to mean anything.
    policyFor: () => ({ cooldownSeconds: 0, delaySeconds: 0 }),
    coalesceWindowMs: 0,
  });
  const router = new ChatRouter({ matcherFor: () => matcher, trigger: (t) => clips.trigger(t) });

  const filler = 'just chatting about the stream, nothing to see here, hello from the chat ';
  const chat = (id: number, chatter: string, text: string): ChatMessage => ({
    id: String(id),
    streamer: 'bench',
    chatter,
    chatterName: chatter,
    text,
    receivedAt: new Date(),
  });

  // Deliver traffic in ~1 ms ticks, as frames arrive from the socket, catching up on timer lateness so
  // the background rate holds; one matching chat every 10 ms.
  const perMs = backgroundPerSecond / 1000;
  const start = performance.now();
  const end = start + seconds * 1000;
  let id = 0;
  let background = 0;
  let triggers = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      while (background < Math.floor(elapsed * perMs)) {
        background += 1;
        id += 1;
        router.handle(chat(id, `u${id % 977}`, `${filler}${id}`.slice(0, 100)), ['g']);
      }
      if (triggers < Math.floor(elapsed / 10)) {
        triggers += 1;
        id += 1;
        const chatter = `trigger${id}`;
        sentAt.set(chatter, performance.now());
        router.handle(chat(id, chatter, `wow kw${id % 200}xyz that was great`), ['g']);
      }
      if (performance.now() < end) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await clips.drain();
  latencies.sort((a, b) => a - b);
  const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return [
    { name: 'trigger_latency_p50', value: round(quantile(0.5)), unit: 'ms' },
    { name: 'trigger_latency_p99', value: round(quantile(0.99)), unit: 'ms' },
    { name: 'trigger_latency_samples', value: latencies.length, unit: 'saves' },
    { name: 'background_traffic', value: Math.round(background / seconds), unit: 'msgs/s' },
  ];
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
