import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { ChatRouter } from '../src/clips/chat-router.js';
import { ClipService } from '../src/clips/clip-service.js';
import { EventLog } from '../src/events/event-log.js';
import { compileMatcher } from '../src/monitor/keyword-matcher.js';
import { createTikTokConnectionFactory } from '../src/monitor/tiktok-live-connection.js';
import type { ReplayBuffer, SavedReplay } from '../src/obs/replay-buffer.js';
import { startFakeTikTok } from '../tests/fakes/tiktok-server.js';
import type { BenchResult } from './result.js';

/**
 * chat_frame_to_save: the same path as trigger_latency, but starting one step earlier, when the chat
 * frame leaves a local TikTok server: protobuf + gzip on the wire, WebSocket over loopback,
 * tiktok-live-connector decoding, the adapter, the router and the clip service, up to the save
 * request for OBS, with 5,000 chats/s of background traffic batched into frames as TikTok does. The
 * server runs in the same process, so its encoding work is in the figure too.
 */
/** Background chats go out once this many are due, all in one frame: TikTok batches a busy chat. */
const BATCH = 25;

export async function benchChatToSave(options: { seconds?: number; backgroundPerSecond?: number } = {}): Promise<BenchResult[]> {
  const seconds = options.seconds ?? 5;
  const backgroundPerSecond = options.backgroundPerSecond ?? 5_000;
  const fake = await startFakeTikTok();
  fake.addUser('bench.streamer', { live: true });
  const connection = createTikTokConnectionFactory(fake.transport)('bench.streamer');

  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const replayBuffer: ReplayBuffer = {
    save: async <T>(onSaved: (replay: SavedReplay) => Promise<T>): Promise<T> => onSaved({ path: '/dev/null', savedAt: new Date() }),
    status: () => ({ connection: 'connected', isBufferActive: true, since: new Date(), lastError: undefined }),
    bufferSeconds: () => 30,
    onStatusChange: () => () => undefined,
    start: async () => undefined,
    close: async () => undefined,
  };
  const clips = new ClipService({
    replayBuffer,
    fileClip: async ({ chatter }) => {
      const start = sentAt.get(chatter);
      if (start !== undefined) latencies.push(performance.now() - start);
      return '/dev/null';
    },
    clipsDir: '/tmp',
    reporter: { clipSaved: async () => undefined, clipJoined: async () => undefined, clipFailed: async () => undefined },
    events: new EventLog(),
    log: pino({ level: 'silent' }),
    policyFor: () => ({ cooldownSeconds: 0, delaySeconds: 0 }),
    coalesceWindowMs: 0,
  });
  const matcher = compileMatcher(Array.from({ length: 200 }, (_, i) => ({ word: `kw${i}xyz`, mode: 'contains' as const })));
  const router = new ChatRouter({ matcherFor: () => matcher, trigger: (t) => clips.trigger(t) });
  connection.on('chat', (message) => router.handle(message, ['g']));
  await connection.connect();

  const start = performance.now();
  const end = start + seconds * 1000;
  let background = 0;
  let triggers = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      // Busy chats arrive batched, many messages to a frame, as TikTok sends them.
      const due = Math.floor((elapsed * backgroundPerSecond) / 1000) - background;
      if (due >= BATCH) {
        const batch = Array.from({ length: due }, (_, i) => ({ handle: `viewer${(background + i) % 500}`, text: `just chatting ${background + i}` }));
        background += due;
        fake.sendChats('bench.streamer', batch);
      }
      if (triggers < Math.floor(elapsed / 20)) {
        triggers += 1;
        const handle = `caller${triggers}`;
        sentAt.set(handle, performance.now());
        fake.sendChat('bench.streamer', { handle, text: `wow kw${triggers % 200}xyz` });
      }
      if (performance.now() < end) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  await clips.close();
  await connection.disconnect();
  await fake.close();

  latencies.sort((a, b) => a - b);
  const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return [
    { name: 'chat_frame_to_save_p50', value: round(quantile(0.5)), unit: 'ms' },
    { name: 'chat_frame_to_save_p99', value: round(quantile(0.99)), unit: 'ms' },
    { name: 'chat_frame_to_save_samples', value: latencies.length, unit: 'saves' },
    { name: 'chat_frame_background', value: Math.round(background / seconds), unit: 'msgs/s' },
  ];
}
