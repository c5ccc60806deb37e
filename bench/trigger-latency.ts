import { performance } from 'node:perf_hooks';
import type { ChatMessage } from '../src/monitor/chat-message.js';
import { createLatencyRig } from './latency-rig.js';
import type { BenchResult } from './result.js';

/**
 * trigger_latency: from a chat entering the bot (handed over by the stream monitor) to the save request
 * leaving for OBS, while 5,000 chats/s of non-matching background traffic flow through the same
 * router. The OBS side is a stand-in that answers at once, so the figure is the bot's own work:
 * matching, policy, queueing on the event loop.
 */
export async function benchTriggerLatency(options: { seconds?: number; backgroundPerSecond?: number } = {}): Promise<BenchResult[]> {
  const seconds = options.seconds ?? 5;
  const backgroundPerSecond = options.backgroundPerSecond ?? 5_000;
  const rig = createLatencyRig();
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
        rig.router.handle(chat(id, `u${id % 977}`, `${filler}${id}`.slice(0, 100)), ['g']);
      }
      if (triggers < Math.floor(elapsed / 10)) {
        triggers += 1;
        id += 1;
        const chatter = `trigger${id}`;
        rig.start(chatter);
        rig.router.handle(chat(id, chatter, rig.matchingText(id)), ['g']);
      }
      if (performance.now() < end) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await rig.close();
  return [
    ...rig.figures('trigger_latency'),
    { name: 'background_traffic', value: Math.round(background / seconds), unit: 'msgs/s' },
  ];
}
