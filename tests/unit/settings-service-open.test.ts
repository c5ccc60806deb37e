import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { EventLog } from '../../src/events/event-log.js';
import { GuildSettingsService } from '../../src/guilds/settings-service.js';
import { BotStore } from '../../src/store/bot-store.js';

/**
 * The settings service exists only loaded: what a previous run stored is what every reader sees from the
 * first moment, before any stream is resumed (issue 16: a restart's outbox once read defaults instead).
 */
let dir: string;
let store: BotStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'settings-open-'));
  store = await BotStore.open(`sqlite://${join(dir, 'bot.sqlite')}`, pino({ level: 'silent' }));
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

it('answers the stored settings as soon as it is opened, and watches the streams only when resumed', async () => {
  await store.update('1001', (s) => ({ ...s, alertChannelId: '2001', streams: [{ username: 'alice', addedChannelId: '3001', addedBy: '9', addedAt: new Date(0).toISOString() }] }));
  await store.update('1002', (s) => ({ ...s, cooldownSeconds: 5 }));
  const watched: string[] = [];
  const watcher = { watch: (guildId: string, username: string) => void watched.push(`${guildId}/${username}`), unwatch: async () => undefined };

  const settings = await GuildSettingsService.open({ store, watcher, events: new EventLog(), log: pino({ level: 'silent' }) });

  expect(settings.get('1001').alertChannelId).toBe('2001');
  expect(settings.get('1001').streams.map((s) => s.addedChannelId)).toEqual(['3001']);
  expect(settings.get('1002').cooldownSeconds).toBe(5);
  expect(settings.knownGuildIds().sort()).toEqual(['1001', '1002']);
  expect(watched).toEqual([]);
  expect(settings.resumeAll()).toBe(1);
  expect(watched).toEqual(['1001/alice']);
});

it('refuses to open on a store it cannot read, rather than answer defaults', async () => {
  await store.update('1001', (s) => ({ ...s, alertChannelId: '2001' }));
  await store.close();
  const watcher = { watch: () => undefined, unwatch: async () => undefined };
  await expect(GuildSettingsService.open({ store, watcher, events: new EventLog(), log: pino({ level: 'silent' }) })).rejects.toThrow();
});
