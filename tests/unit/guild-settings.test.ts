import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import { pino, type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError, isAppError } from '../../src/util/errors.js';
import {
  CLIP_ARCHIVE_LIMIT,
  SETTINGS_DEFAULTS,
  BotStore,
  KEEP_ROW,
  storeKeys,
  type ClipRecord,
  type GuildSettings,
} from '../../src/store/bot-store.js';
import { STORE_NAMESPACE } from '../../src/store/keyv-backend.js';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function captureLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { log, lines };
}

const WARN = 40;

let dir: string;
let url: string;
const opened: BotStore[] = [];

async function open(databaseUrl = url, log: Logger = captureLogger().log): Promise<BotStore> {
  const store = await BotStore.open(databaseUrl, log);
  opened.push(store);
  return store;
}

/** Writes a raw string under a store key, bypassing every check, the way a corrupt or old row would look. */
async function plantRaw(key: string, text: string): Promise<void> {
  const sqlite = new KeyvSqlite({ uri: `sqlite://${join(dir, 'bot.sqlite')}` });
  await sqlite.set(`${STORE_NAMESPACE}:${key}`, text);
  await sqlite.disconnect();
}

function stream(username: string): GuildSettings['streams'][number] {
  return { username, addedChannelId: '100', addedBy: 'mod', addedAt: '2024-05-01T12:00:00.000Z' };
}

function clip(id: string, streamer = 'alice'): ClipRecord {
  return {
    id,
    streamer,
    path: `/clips/${streamer}/${id}.mp4`,
    fileName: `${id}.mp4`,
    chatters: ['bob'],
    keywords: ['wow'],
    message: 'wow that was great',
    manual: false,
    triggeredBy: 'bob',
    at: new Date(Date.UTC(2024, 0, 1, 0, 0, Number(id.replace(/\D/g, '')) || 0)).toISOString(),
    posted: false,
  };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settings store '));
  url = `sqlite://${join(dir, 'bot.sqlite')}`;
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('BotStore', () => {
  it('returns defaults for a guild with nothing stored', async () => {
    const store = await open();
    expect(await store.get('1')).toEqual({
      ...SETTINGS_DEFAULTS,
      guildId: '1',
      streams: [],
      keywords: [],
      alertChannelId: undefined,
      moderatorRoleId: undefined,
      cooldownSeconds: 30,
      delaySeconds: 0,
      notifyLive: false,
    });
    expect(await store.guildIds()).toEqual([]);
  });

  it('keeps an update across close and reopen (a restart)', async () => {
    const first = await open();
    const updated = await first.update('1', (s) => ({
      ...s,
      streams: [stream('alice')],
      keywords: [{ word: 'wow', mode: 'word' }],
      alertChannelId: '200',
      moderatorRoleId: '300',
      cooldownSeconds: 45,
      delaySeconds: 2,
      notifyLive: true,
    }));
    await first.close();

    const second = await open();
    expect(await second.get('1')).toEqual(updated);
    expect(await second.guildIds()).toEqual(['1']);
  });

  it('keeps all 50 concurrent updates of one guild', async () => {
    const store = await open();
    const words = Array.from({ length: 50 }, (_, i) => `word${i}`);
    await Promise.all(
      words.map((word) =>
        store.update('1', (s) => ({ ...s, keywords: [...s.keywords, { word, mode: 'contains' as const }] })),
      ),
    );
    const stored = await store.get('1');
    expect(stored.keywords.map((k) => k.word).sort()).toEqual([...words].sort());
  });

  it('keeps concurrent updates of two guilds and indexes both', async () => {
    const store = await open();
    await Promise.all([
      store.update('1', (s) => ({ ...s, streams: [stream('alice')] })),
      store.update('2', (s) => ({ ...s, streams: [stream('bob')] })),
      store.update('1', (s) => ({ ...s, cooldownSeconds: 10 })),
      store.update('2', (s) => ({ ...s, keywords: [{ word: 'gg', mode: 'contains' }] })),
    ]);
    expect(await store.get('1')).toMatchObject({ streams: [stream('alice')], cooldownSeconds: 10 });
    expect(await store.get('2')).toMatchObject({ streams: [stream('bob')], keywords: [{ word: 'gg' }] });
    expect((await store.guildIds()).sort()).toEqual(['1', '2']);
  });

  it('writes nothing when the change throws, and the next update still runs', async () => {
    const store = await open();
    await store.update('1', (s) => ({ ...s, keywords: [{ word: 'wow', mode: 'contains' }] }));
    const failing = store.update('1', () => {
      throw new UserError('DUPLICATE', '`wow` is already a keyword');
    });
    const next = store.update('1', (s) => ({ ...s, cooldownSeconds: 5 }));
    await expect(failing).rejects.toMatchObject({ code: 'DUPLICATE' });
    await next;
    expect(await store.get('1')).toMatchObject({ keywords: [{ word: 'wow' }], cooldownSeconds: 5 });
  });

  it('does not index a guild whose first update throws', async () => {
    const store = await open();
    await expect(
      store.update('9', () => {
        throw new UserError('INVALID_KEYWORD', 'nope');
      }),
    ).rejects.toBeInstanceOf(UserError);
    expect(await store.guildIds()).toEqual([]);
  });

  it('refuses to store invalid settings and lists every problem', async () => {
    const store = await open();
    const attempt = store.update('1', (s) => ({
      ...s,
      cooldownSeconds: -1,
      keywords: [
        { word: 'a', mode: 'contains' },
        { word: 'A', mode: 'word' },
      ],
    }));
    await expect(attempt).rejects.toSatisfy(
      (err) => isAppError(err, 'INVALID_SETTING') && /cooldownSeconds/.test(err.message) && /duplicates A/.test(err.message),
    );
    expect(await store.get('1')).toMatchObject({ cooldownSeconds: 30, keywords: [] });
  });

  it('stores only the known fields', async () => {
    const store = await open();
    await store.update('1', (s) => ({ ...s, token: 'secret' }) as GuildSettings);
    await store.close();
    const raw = new KeyvSqlite({ uri: `sqlite://${join(dir, 'bot.sqlite')}` });
    const text = await raw.get<string>(`${STORE_NAMESPACE}:${storeKeys.settings('1')}`);
    await raw.disconnect();
    expect(text).toBeDefined();
    expect(text).not.toContain('secret');
    expect(JSON.parse(text ?? '{}')).toMatchObject({ value: { v: 1 } });
  });

  it('reads a corrupt row as defaults and logs a warning', async () => {
    await plantRaw(storeKeys.settings('1'), '{"value": {"v": 1, "streams": [');
    const { log, lines } = captureLogger();
    const store = await open(url, log);
    expect(await store.get('1')).toMatchObject({ streams: [], keywords: [], cooldownSeconds: 30 });
    expect(lines.some((l) => l.level === WARN && l['guildId'] === '1')).toBe(true);
    // The next update repairs the row.
    await store.update('1', (s) => ({ ...s, cooldownSeconds: 12 }));
    expect(await store.get('1')).toMatchObject({ cooldownSeconds: 12 });
  });

  it('reads an older-shaped row, keeping what is valid and dropping the rest', async () => {
    const old = {
      value: {
        streams: [{ username: 'alice', addedChannelId: '100' }, { username: '' }, 'bob', stream('ALICE')],
        keywords: ['wow', { word: 'gg', mode: 'word' }, { word: '  ' }, 42, { word: 'WOW', mode: 'word' }],
        alertChannelId: null,
        moderatorRoleId: 7,
        cooldownSeconds: 'ten',
        notifyLive: true,
        password: 'hunter2',
      },
    };
    await plantRaw(storeKeys.settings('1'), JSON.stringify(old));
    const { log, lines } = captureLogger();
    const store = await open(url, log);
    const settings = await store.get('1');
    expect(settings).toEqual({
      ...SETTINGS_DEFAULTS,
      guildId: '1',
      streams: [{ username: 'alice', addedChannelId: '100', addedBy: 'unknown', addedAt: new Date(0).toISOString() }],
      keywords: [
        { word: 'wow', mode: 'contains' },
        { word: 'gg', mode: 'word' },
      ],
      alertChannelId: undefined,
      moderatorRoleId: undefined,
      cooldownSeconds: 30,
      delaySeconds: 0,
      notifyLive: true,
    });
    const warning = lines.find((l) => l.level === WARN);
    expect(warning?.['problems']).toEqual(expect.arrayContaining([expect.stringMatching(/no schema version/)]));
  });

  it('rebuilds a damaged guild index from the stored settings', async () => {
    const first = await open();
    await first.update('1', (s) => ({ ...s, notifyLive: true }));
    await first.update('2', (s) => ({ ...s, notifyLive: true }));
    await first.close();
    await plantRaw(storeKeys.guildIndex, 'garbage');

    const { log, lines } = captureLogger();
    const store = await open(url, log);
    expect((await store.guildIds()).sort()).toEqual(['1', '2']);
    expect(lines.some((l) => l.level === WARN && l.msg === 'guild index rebuilt from stored settings')).toBe(true);
    await store.update('3', (s) => ({ ...s, notifyLive: true }));
    expect((await store.guildIds()).sort()).toEqual(['1', '2', '3']);
  });

  it('creates the folder for a relative sqlite path', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const store = await open('sqlite://nested/dir/x.sqlite');
      await store.update('1', (s) => ({ ...s, notifyLive: true }));
      expect(existsSync(join(dir, 'nested', 'dir', 'x.sqlite'))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it('accepts an absolute sqlite path with three slashes', async () => {
    const file = join(dir, 'abs dir', 'bot.sqlite');
    const store = await open(`sqlite://${file}`);
    await store.update('1', (s) => ({ ...s, notifyLive: true }));
    expect(existsSync(file)).toBe(true);
  });

  it('rejects an unknown scheme with a clear error', async () => {
    const attempt = BotStore.open('mongodb://user:pw@localhost/db', captureLogger().log);
    await expect(attempt).rejects.toSatisfy(
      (err) => isAppError(err, 'CONFIG_INVALID') && /mongodb:/.test(err.message) && !err.message.includes('pw'),
    );
    await expect(BotStore.open('data/bot.sqlite', captureLogger().log)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });

  it('fails to open an unreachable redis or postgres with a clear error that hides the password', async () => {
    const port = await freePort();
    for (const databaseUrl of [`redis://:hunter2@127.0.0.1:${port}`, `postgresql://bot:hunter2@127.0.0.1:${port}/bot`]) {
      const attempt = BotStore.open(databaseUrl, captureLogger().log);
      await expect(attempt).rejects.toSatisfy(
        (err) =>
          isAppError(err, 'CONFIG_INVALID') &&
          err.message.includes(`127.0.0.1:${port}`) &&
          !err.message.includes('hunter2'),
      );
    }
  });

  it('gives other concerns raw rows whose modify loses nothing between two bots on one database', async () => {
    const [a, b] = [await open(), await open()];
    const append = (item: string) => (current: unknown): string[] => [...(Array.isArray(current) ? (current as string[]) : []), item];
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => a.rows().modify('outbox:test', append(`a${i}`))),
      ...Array.from({ length: 10 }, (_, i) => b.rows().modify('outbox:test', append(`b${i}`))),
    ]);
    const stored = (await (await open()).rows().get('outbox:test')) as string[];
    expect(stored).toHaveLength(20);
    expect(new Set(stored).size).toBe(20);
  });

  it('writes nothing when a modify keeps the row, present or absent', async () => {
    const rows = (await open()).rows();
    await rows.set('outbox:kept', { n: 1 });
    await expect(rows.modify('outbox:kept', () => KEEP_ROW)).resolves.toBeUndefined();
    await expect(rows.modify('outbox:absent', () => KEEP_ROW)).resolves.toBeUndefined();
    const reopened = (await open()).rows();
    expect(await reopened.get('outbox:kept')).toEqual({ n: 1 });
    expect(await reopened.get('outbox:absent')).toBeUndefined();
  });

  it('keeps the last 200 clips per guild, newest first, filtered by streamer', async () => {
    const store = await open();
    for (let i = 0; i < CLIP_ARCHIVE_LIMIT + 10; i += 1) {
      await store.recordClip('1', clip(`c${i}`, i % 2 === 0 ? 'alice' : 'bob'));
    }
    await store.recordClip('2', clip('other', 'alice'));

    const all = await store.recentClips('1', { limit: 1000 });
    expect(all).toHaveLength(CLIP_ARCHIVE_LIMIT);
    expect(all[0]?.id).toBe(`c${CLIP_ARCHIVE_LIMIT + 9}`);
    expect(all.at(-1)?.id).toBe('c10');

    const alice = await store.recentClips('1', { streamer: '@Alice', limit: 3 });
    expect(alice.map((c) => c.id)).toEqual(['c208', 'c206', 'c204']);
    expect(await store.recentClips('1')).toHaveLength(10);
    expect((await store.recentClips('2')).map((c) => c.id)).toEqual(['other']);
  });

  it('marks a clip posted, durably, and refuses an unknown clip', async () => {
    const store = await open();
    await store.recordClip('1', { ...clip('c1'), note: 'nice' });
    await store.recordClip('1', clip('c2'));
    await store.markClipPosted('1', 'c1');
    await store.close();

    const reopened = await open();
    const clips = await reopened.recentClips('1');
    expect(clips.map((c) => [c.id, c.posted])).toEqual([
      ['c2', false],
      ['c1', true],
    ]);
    expect(clips[1]?.note).toBe('nice');
    await expect(reopened.markClipPosted('1', 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('keeps concurrent clip records and marks', async () => {
    const store = await open();
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.recordClip('1', clip(`c${i}`))));
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.markClipPosted('1', `c${i}`)));
    const clips = await store.recentClips('1', { limit: 50 });
    expect(clips).toHaveLength(20);
    expect(clips.every((c) => c.posted)).toBe(true);
  });

  it('rejects an invalid clip record without writing it', async () => {
    const store = await open();
    await expect(store.recordClip('1', { ...clip('c1'), at: 'yesterday' })).rejects.toMatchObject({
      code: 'INVALID_SETTING',
    });
    expect(await store.recentClips('1')).toEqual([]);
  });

  it('rejects calls after close', async () => {
    const store = await open();
    await store.close();
    await expect(store.get('1')).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});

/** A loopback port nobody listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
