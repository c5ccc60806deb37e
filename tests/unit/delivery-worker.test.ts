import pino from 'pino';
import type { Client } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryWorker } from '../../src/delivery/delivery-worker.js';
import type { OutboxEntry, OutboxStore } from '../../src/delivery/outbox.js';
import type { EventLog } from '../../src/events/event-log.js';
import type { GuildSettingsService } from '../../src/guilds/settings-service.js';
import type { BotStore } from '../../src/store/bot-store.js';
import type { ClipReplyBuilder } from '../../src/delivery/clip-message.js';
import type { FitCache } from '../../src/delivery/fit-cache.js';
import type { HighlightPoster } from '../../src/delivery/highlight-post.js';
import { waitFor } from '../support/bot-harness.js';

/**
 * The worker's scheduling on its own, with notices (no files) to channels that answer as told: which
 * channels `/settings channel` retries, and that an entry is handled once however often it is pumped.
 * The Discord side of delivery is covered end to end in tests/integration/discord-faults.test.ts.
 */
function workerWith({ channels, pending = [] }: { channels: Record<string, string | undefined>; pending?: OutboxEntry[] }) {
  const sends = new Map<string, number>();
  const failing = new Set<string>();
  const removed: string[] = [];
  const events: { guildId: string; text: string }[] = [];
  const channel = (id: string) => ({
    isSendable: () => true,
    send: async () => {
      sends.set(id, (sends.get(id) ?? 0) + 1);
      if (failing.has(id)) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      return { id: `message-${id}` };
    },
  });
  const worker = new DeliveryWorker({
    client: { channels: { fetch: async (id: string) => channel(id) }, rest: { options: { timeout: 15_000 } } } as unknown as Client,
    outbox: {
      pending: async () => pending,
      remove: async (id: string) => void removed.push(id),
      sentAlert: async () => undefined,
    } as unknown as OutboxStore,
    settings: { load: async (guildId: string) => ({ alertChannelId: channels[guildId], streams: [] }) } as unknown as GuildSettingsService,
    store: {} as BotStore,
    replies: {} as ClipReplyBuilder,
    fits: { sweep: async () => undefined, abort: () => undefined } as unknown as FitCache,
    highlights: {} as HighlightPoster,
    events: { add: (guildId: string, event: { text: string }) => void events.push({ guildId, text: event.text }) } as unknown as EventLog,
    log: pino({ level: 'silent' }),
    // A minute between attempts: nothing is retried within a test unless something asks for it.
    timings: { initialBackoffMs: 60_000, maxBackoffMs: 60_000 },
  });
  return { worker, sends, failing, removed, events, channels };
}

let seq = 0;
function notice(guildId: string): OutboxEntry {
  seq += 1;
  return { kind: 'notice', id: `notice:${guildId}:${seq}`, seq, guildId, streamer: undefined, createdAt: new Date().toISOString(), nonce: `n${seq}`, text: 'stream ended' };
}

describe('DeliveryWorker scheduling', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });

  it('/settings channel in one server retries only that server\'s backed-off channels', async () => {
    const a = notice('guild-a');
    const b = notice('guild-b');
    const t = workerWith({ channels: { 'guild-a': 'channel-a', 'guild-b': 'channel-b' }, pending: [a, b] });
    stops.push(() => t.worker.stop());
    t.failing.add('channel-a').add('channel-b');
    await t.worker.start();
    await waitFor(() => t.sends.get('channel-a') === 1 && t.sends.get('channel-b') === 1, 5_000, () => 'one failed attempt per channel');
    t.failing.clear();

    t.worker.retryGuild('guild-a');
    await waitFor(() => t.removed.includes(a.id), 5_000, () => "guild A's notice to be delivered");
    // Guild B's channel keeps its backoff: another server's settings are no reason to retry it.
    expect(t.sends.get('channel-b')).toBe(1);
    expect(t.worker.pendingCount).toBe(1);
    expect(t.worker.pendingEntry(b.id)).toBeDefined();
  });

  it('keeps an entry with no channel to go to waiting, counted, and delivers it once the server sets one', async () => {
    const t = workerWith({ channels: { 'guild-a': 'channel-a' } });
    stops.push(() => t.worker.stop());
    await t.worker.start();
    // Each accept pumps; the later ones come while the first pass is still busy with the first entry.
    const waiting = [notice('guild-x'), notice('guild-x'), notice('guild-x')];
    for (const entry of waiting) t.worker.accept(entry);
    const posted = notice('guild-a');
    t.worker.accept(posted);
    await waitFor(() => t.removed.includes(posted.id), 5_000, () => "guild A's notice to be delivered");
    await waitFor(() => t.worker.waitingForAlertChannel('guild-x') === 3, 5_000, () => 'the three to be counted as waiting');

    // Waiting, not dropped: still queued (in the store too), said once each in /logs, nothing sent.
    t.worker.reroute();
    t.worker.accept(notice('guild-a'));
    await waitFor(() => t.worker.pendingCount === 3, 5_000, () => "the second notice of guild A to go");
    expect(t.removed.filter((id) => id.startsWith('notice:guild-x'))).toEqual([]);
    expect(t.events.filter((e) => e.guildId === 'guild-x').map((e) => e.text)).toEqual(
      Array(3).fill('a notice waits: this server has no alert channel yet (set one with /settings channel)'),
    );
    expect(t.worker.waitingForAlertChannel('guild-a')).toBe(0);

    t.channels['guild-x'] = 'channel-x';
    t.worker.retryGuild('guild-x');
    await waitFor(() => t.worker.pendingCount === 0, 5_000, () => 'the waiting notices to be delivered');
    await t.worker.stop();
    expect(t.sends.get('channel-x')).toBe(3);
    expect(t.removed.filter((id) => id.startsWith('notice:guild-x'))).toEqual(waiting.map((e) => e.id));
    expect(t.worker.waitingForAlertChannel('guild-x')).toBe(0);
  });
});
