import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxStore, nonceFor } from '../../src/delivery/outbox.js';
import { BotStore } from '../../src/store/bot-store.js';

/**
 * Two bots (or a restart racing a worker that is still writing) on one database: two stores on the same
 * real SQLite file queue and remove outbox entries at the same time, and no entry is lost or listed twice.
 */
describe('outbox index shared by two processes', () => {
  let dir: string;
  let first: BotStore;
  let second: BotStore;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'outbox-cas-'));
    const url = `sqlite://${path.join(dir, 'bot.sqlite')}`;
    const log = pino({ level: 'silent' });
    first = await BotStore.open(url, log);
    second = await BotStore.open(url, log);
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const notice = (id: string) => ({ id, kind: 'notice' as const, guildId: '1', streamer: undefined, nonce: nonceFor(id), text: id });

  it('keeps every entry two stores queue and remove at the same moment', async () => {
    const a = new OutboxStore(first.rows());
    const b = new OutboxStore(second.rows());
    // Some entries exist before the race; each side then removes its half of them while both queue more.
    const before = Array.from({ length: 20 }, (_, i) => `notice:old-${i}`);
    for (const id of before) await a.put(notice(id));

    const fromA = Array.from({ length: 30 }, (_, i) => `notice:a-${i}`);
    const fromB = Array.from({ length: 30 }, (_, i) => `notice:b-${i}`);
    await Promise.all([
      ...fromA.map((id) => a.put(notice(id))),
      ...fromB.map((id) => b.put(notice(id))),
      ...before.filter((_, i) => i % 2 === 0).map((id) => a.remove(id)),
      ...before.filter((_, i) => i % 4 === 1).map((id) => b.remove(id)),
    ]);

    const kept = before.filter((_, i) => i % 2 !== 0 && i % 4 !== 1);
    const expected = [...kept, ...fromA, ...fromB].sort();
    for (const outbox of [a, b]) {
      const pending = await outbox.pending();
      expect(pending.map((e) => e.id).sort()).toEqual(expected);
      // Each entry has its own place in the order.
      expect(new Set(pending.map((e) => e.seq)).size).toBe(pending.length);
    }
  }, 60_000);

  it('records alerts posted by both stores for credit edits', async () => {
    const a = new OutboxStore(first.rows());
    const b = new OutboxStore(second.rows());
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).recordSent('2', { alertId: `alert:2:${i}`, channelId: '9', messageId: `m${i}` }),
      ),
    );
    for (let i = 0; i < 20; i += 1) expect(await a.sentAlert('2', `alert:2:${i}`)).toMatchObject({ messageId: `m${i}` });
  }, 60_000);
});
