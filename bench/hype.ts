import { performance } from 'node:perf_hooks';
import type { ChatMessage } from '../src/monitor/chat-message.js';
import { TriggerRouter } from '../src/triggers/trigger-router.js';
import type { BenchResult } from './result.js';

/**
 * hype_ns_per_chat: the trigger router's per-chat cost with hype on (medium) for every guild: 50
 * streams, two guilds each, 20,000 chats/s of simulated time. The messages are built before the clock
 * starts, so the figure is the router's own work (ring advance, two rates, one threshold per guild).
 */
export function benchHype(options: { chats?: number; streams?: number } = {}): BenchResult[] {
  const total = options.chats ?? 400_000;
  const streams = options.streams ?? 50;
  const perSecond = 20_000;
  const t0 = Date.parse('2026-01-01T12:00:00Z');
  const names = Array.from({ length: streams }, (_, i) => `stream${i}`);
  const messages: ChatMessage[] = Array.from({ length: total }, (_, i) => ({
    id: String(i),
    streamer: names[i % streams]!,
    chatter: `u${i % 977}`,
    chatterName: 'u',
    text: 'hello',
    receivedAt: new Date(t0 + Math.floor((i * 1000) / perSecond)),
  }));
  const guilds = ['g1', 'g2'];
  let fired = 0;
  const router = new TriggerRouter({
    policyFor: () => ({ giftMinDiamonds: 0, hypeSensitivity: 'medium', cooldownSeconds: 30 }),
    trigger: () => (fired += 1),
  });
  const warm = Math.floor(total / 4);
  for (let i = 0; i < warm; i += 1) router.chat(messages[i]!, guilds);
  const start = performance.now();
  for (let i = warm; i < total; i += 1) router.chat(messages[i]!, guilds);
  const elapsedMs = performance.now() - start;
  return [{ name: 'hype_ns_per_chat', value: Math.round(((elapsedMs * 1e6) / (total - warm)) * 10) / 10, unit: 'ns' }];
}
