import { performance } from 'node:perf_hooks';
import { createTikTokConnectionFactory } from '../src/monitor/tiktok-live-connection.js';
import { startFakeTikTok } from '../tests/fakes/tiktok-server.js';
import { createLatencyRig } from './latency-rig.js';
import type { BenchResult } from './result.js';

/** Background chats go out once this many are due, all in one frame: TikTok batches a busy chat. */
const BATCH = 25;

/**
 * chat_frame_to_save: the same path as trigger_latency, but starting one step earlier, when the chat
 * frame leaves a local TikTok server: protobuf + gzip on the wire, WebSocket over loopback,
 * tiktok-live-connector decoding, the adapter, the router and the clip service, up to the save
 * request for OBS, with 5,000 chats/s of background traffic batched into frames as TikTok does. The
 * server runs in the same process, so its encoding work is in the figure too.
 */
export async function benchChatToSave(options: { seconds?: number; backgroundPerSecond?: number } = {}): Promise<BenchResult[]> {
  const seconds = options.seconds ?? 5;
  const backgroundPerSecond = options.backgroundPerSecond ?? 5_000;
  const fake = await startFakeTikTok();
  fake.addUser('bench.streamer', { live: true });
  const connection = createTikTokConnectionFactory(fake.transport)('bench.streamer');
  const rig = createLatencyRig();
  connection.on('chat', (message) => rig.router.handle(message, ['g']));
  await connection.connect();

  const start = performance.now();
  const end = start + seconds * 1000;
  let background = 0;
  let triggers = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      const due = Math.floor((elapsed * backgroundPerSecond) / 1000) - background;
      if (due >= BATCH) {
        const batch = Array.from({ length: due }, (_, i) => ({ handle: `viewer${(background + i) % 500}`, text: `just chatting ${background + i}` }));
        background += due;
        fake.sendChats('bench.streamer', batch);
      }
      if (triggers < Math.floor(elapsed / 20)) {
        triggers += 1;
        const handle = `caller${triggers}`;
        rig.start(handle);
        fake.sendChat('bench.streamer', { handle, text: rig.matchingText(triggers) });
      }
      if (performance.now() < end) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  // Let the last frames arrive before closing.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await rig.close();
  await connection.disconnect();
  await fake.close();
  return [
    ...rig.figures('chat_frame_to_save'),
    { name: 'chat_frame_background', value: Math.round(background / seconds), unit: 'msgs/s' },
  ];
}
