import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/bot-harness.js';
import { FakeReplayBuffer } from '../fakes/fake-replay-buffer.js';
import { REDIS_INSTALL, redisMissing, startRedis, type RedisInstance } from '../support/redis-process.js';
import { describeRequiring } from '../support/server-suite.js';

/** The whole bot on a real Redis that goes away: a moderator is told, and nothing changes. */
describeRequiring('slash commands when the Redis store goes away', redisMissing(), REDIS_INSTALL, () => {
  let redis: RedisInstance;
  let h: Harness;

  beforeAll(async () => {
    redis = await startRedis();
    const obs = new FakeReplayBuffer(await mkdtemp(path.join(os.tmpdir(), 'storage-outage-')));
    h = await startHarness({ replayBuffer: obs, env: { DATABASE_URL: redis.url } });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    await redis?.stop();
  }, 30_000);

  it('answers "storage unavailable" and keeps the settings it had', async () => {
    const added = await h.command({ command: 'keyword', subcommand: 'add', options: { word: 'wow' } });
    expect(added.ephemeral).toBe(false);
    expect(h.bot.settings.get(h.discord.guildId).keywords).toEqual([{ word: 'wow', mode: 'contains' }]);

    await redis.stop();
    const refused = await h.command({ command: 'keyword', subcommand: 'add', options: { word: 'gg' } });
    expect(refused.ephemeral).toBe(true);
    expect(refused.content).toMatch(/^Storage unavailable: .*Nothing was changed/);
    expect(h.bot.settings.get(h.discord.guildId).keywords).toEqual([{ word: 'wow', mode: 'contains' }]);
  }, 30_000);
});
