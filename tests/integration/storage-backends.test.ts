import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/util/errors.js';
import { OutboxStore, nonceFor } from '../../src/delivery/outbox.js';
import { BotStore, type ClipRecord, type GuildSettings } from '../../src/store/bot-store.js';
import { POSTGRES_INSTALL, postgresMissing, startPostgres } from '../support/postgres-process.js';
import { REDIS_INSTALL, redisMissing, startRedis } from '../support/redis-process.js';
import { describeRequiring } from '../support/server-suite.js';

/**
 * The same storage suite on each backend DATABASE_URL accepts: SQLite, a real redis-server and a real
 * PostgreSQL, each started once for this file. What a user would notice: settings survive a restart, two
 * bots (or two processes) editing one guild or one outbox at once lose nothing, and a database that goes
 * away makes a command fail instead of quietly reading an empty guild.
 */

interface Backend {
  url: string;
  /** Makes the database unreachable (stops the server); undefined where the test cannot do that. */
  stop?: () => Promise<void>;
  close: () => Promise<void>;
}

const silent = pino({ level: 'silent' });
const EDITS_PER_WRITER = 12;

function keyword(word: string): GuildSettings['keywords'][number] {
  return { word, mode: 'contains' };
}

function addKeyword(word: string) {
  return (current: GuildSettings): GuildSettings => ({ ...current, keywords: [...current.keywords, keyword(word)] });
}

function clip(id: string): ClipRecord {
  return {
    id,
    streamer: 'alice',
    path: `/clips/alice/${id}.mp4`,
    fileName: `${id}.mp4`,
    chatters: ['bob'],
    keywords: ['wow'],
    message: 'wow',
    manual: false,
    triggeredBy: 'bob',
    at: new Date(Date.UTC(2024, 0, 1)).toISOString(),
    posted: false,
  };
}

/**
 * Two bot processes (node + tsx, tests/support/storage-editor.ts) that each open the store, wait until
 * both are ready, then add their words to `guildId` at the same moment; resolves when both exit 0.
 */
async function runTwoEditorProcesses(url: string, guildId: string, words: readonly (readonly string[])[]): Promise<void> {
  const editors = words.map((list) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/storage-editor.ts', url, guildId, ...list], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const ready = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('ready')) resolve();
      });
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { child, ready, exited, output: () => output };
  });
  await Promise.race([
    Promise.all(editors.map((editor) => editor.ready)),
    Promise.all(editors.map((editor) => editor.exited)),
  ]);
  for (const editor of editors) editor.child.stdin.end('go\n');
  for (const editor of editors) {
    const code = await editor.exited;
    if (code !== 0 || !editor.output().includes('done')) {
      throw new Error(`editor process ${editor.child.pid} failed (${code}):\n${editor.output()}`);
    }
  }
}

function storageSuite(start: () => Promise<Backend>, { canStop }: { canStop: boolean }): void {
  let backend: Backend;
  const opened: BotStore[] = [];
  const open = async (): Promise<BotStore> => {
    const store = await BotStore.open(backend.url, silent);
    opened.push(store);
    return store;
  };

  beforeAll(async () => {
    backend = await start();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(opened.map((store) => store.close().catch(() => undefined)));
    await backend.close();
  }, 30_000);

  it('keeps settings and clips across a restart of the bot', async () => {
    const first = await open();
    await first.update('100', (s) => ({ ...addKeyword('wow')(s), cooldownSeconds: 45 }));
    await first.recordClip('100', clip('c1'));
    await first.markClipPosted('100', 'c1');
    await first.close();

    const second = await open();
    expect(await second.get('100')).toMatchObject({ keywords: [keyword('wow')], cooldownSeconds: 45 });
    expect(await second.recentClips('100')).toMatchObject([{ id: 'c1', posted: true }]);
    expect(await second.guildIds()).toContain('100');
  });

  it('loses no edit when two bots on separate connections change one guild at once', async () => {
    const [a, b] = [await open(), await open()];
    const words = Array.from({ length: EDITS_PER_WRITER }, (_, i) => i);
    await Promise.all([
      ...words.map((i) => a.update('200', addKeyword(`a${i}`))),
      ...words.map((i) => b.update('200', addKeyword(`b${i}`))),
      ...words.map((i) => a.recordClip('200', clip(`a${i}`))),
      ...words.map((i) => b.recordClip('200', clip(`b${i}`))),
      // A guild first seen by each bot at the same moment: the index must list both.
      a.update('201', addKeyword('x')),
      b.update('202', addKeyword('y')),
    ]);
    const stored = await (await open()).get('200');
    expect(stored.keywords.map((k) => k.word).sort()).toEqual(
      [...words.map((i) => `a${i}`), ...words.map((i) => `b${i}`)].sort(),
    );
    expect((await a.recentClips('200', { limit: 100 })).length).toBe(2 * EDITS_PER_WRITER);
    expect(await (await open()).guildIds()).toEqual(expect.arrayContaining(['200', '201', '202']));
  });

  const notice = (id: string) => ({ id, kind: 'notice' as const, guildId: '1', streamer: undefined, nonce: nonceFor(id), text: id });

  // Two bots (or a restart racing a worker still writing) on one database: the outbox index changes only
  // by the store's compare-and-set, so no entry is lost or listed twice.
  it('keeps every outbox entry two stores queue and remove at the same moment', async () => {
    const [a, b] = [new OutboxStore((await open()).rows()), new OutboxStore((await open()).rows())];
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

  it('records alerts posted by two stores for credit edits', async () => {
    const [a, b] = [new OutboxStore((await open()).rows()), new OutboxStore((await open()).rows())];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).recordSent('2', { alertId: `alert:2:${i}`, channelId: '9', messageId: `m${i}` }),
      ),
    );
    for (let i = 0; i < 20; i += 1) expect(await a.sentAlert('2', `alert:2:${i}`)).toMatchObject({ messageId: `m${i}` });
  }, 60_000);

  it('loses no edit when two bot processes change one guild at once', async () => {
    const words = (prefix: string): string[] => Array.from({ length: EDITS_PER_WRITER }, (_, i) => `${prefix}${i}`);
    await runTwoEditorProcesses(backend.url, '300', [words('p'), words('q')]);
    const stored = await (await open()).get('300');
    expect(stored.keywords.map((k) => k.word).sort()).toEqual([...words('p'), ...words('q')].sort());
  }, 60_000);

  // Last: it stops the server. Not for SQLite: a file cannot be made unreachable from here.
  if (!canStop) return;
  it('answers "storage unavailable" and changes nothing when the database goes away', async () => {
    const store = await open();
    await store.update('400', addKeyword('kept'));
    await backend.stop!();
    let changeRan = false;
    const failure = (err: unknown): boolean =>
      isAppError(err, 'STORAGE_UNAVAILABLE') && /storage unavailable/i.test(err.message);
    // A failed read must not look like an empty guild.
    await expect(store.get('400')).rejects.toSatisfy(failure);
    await expect(
      store.update('400', (s) => {
        changeRan = true;
        return s;
      }),
    ).rejects.toSatisfy(failure);
    expect(changeRan).toBe(false);
  }, 30_000);
}

describe('storage on SQLite', () => {
  storageSuite(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'storage sqlite '));
    return {
      url: `sqlite://${join(dir, 'bot.sqlite')}`,
      close: () => rm(dir, { recursive: true, force: true }),
    };
  }, { canStop: false });
});

describeRequiring('storage on Redis', redisMissing(), REDIS_INSTALL, () => {
  storageSuite(async () => {
    const redis = await startRedis();
    return { url: redis.url, stop: redis.stop, close: redis.stop };
  }, { canStop: true });
});

describeRequiring('storage on PostgreSQL', postgresMissing(), POSTGRES_INSTALL, () => {
  storageSuite(async () => {
    const postgres = await startPostgres();
    return { url: postgres.url, stop: postgres.stop, close: postgres.stop };
  }, { canStop: true });
});
