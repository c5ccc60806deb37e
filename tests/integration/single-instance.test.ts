import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../src/app.js';
import { isAppError } from '../../src/util/errors.js';
import { FAST_TUNING, startHarness, type Harness } from '../support/bot-harness.js';
import { FakeReplayBuffer } from '../fakes/fake-replay-buffer.js';

/** A second copy of the bot on the same clips folder would clip and post every moment twice. */
describe('a second copy of the bot', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ replayBuffer: new FakeReplayBuffer() });
    h.tiktok.addUser('only.once', { live: false });
    await h.command({ command: 'stream', subcommand: 'add', options: { username: 'only.once' } });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('refuses to start, touching nothing, while the first keeps serving', async () => {
    const gatewayClients = h.discord.connectedClients;
    const requests = h.discord.requests.length;

    const second = await createBot(h.config, pino({ level: 'silent' }), {
      adapters: { discordApiUrl: h.discord.apiUrl, tiktokTransport: h.tiktok.transport, replayBuffer: new FakeReplayBuffer() },
      tuning: FAST_TUNING,
    }).catch((err: unknown) => err);

    expect(isAppError(second, 'ALREADY_RUNNING')).toBe(true);
    expect((second as Error).message).toMatch(/^Another copy of the bot \(process \d+, started .+\) is already using .+clips\. Stop it first/);
    expect(h.discord.connectedClients).toBe(gatewayClients);
    expect(h.discord.requests.length).toBe(requests);

    const list = await h.command({ command: 'stream', subcommand: 'list' });
    expect(list.content).toContain('only.once');
  });

  it('can start once the first has stopped', async () => {
    await h.restartBot();
    const list = await h.command({ command: 'stream', subcommand: 'list' });
    expect(list.content).toContain('only.once');
  });
});
