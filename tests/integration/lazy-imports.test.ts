import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { waitFor } from '../support/bot-harness.js';

/**
 * Memory (issue 16): what a configuration does not use is never loaded. The real entry point (src/main.ts,
 * as `npm start` runs it but through tsx) in its own process on SQLite, without HTTP_PORT or LOG_FILE and
 * with its log going to a pipe, against the local Discord and TikTok; a preload lists every module the
 * process loaded.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TOKEN = 'lazy-imports-token.not-a-secret';

/** Each package by the folder its code loads from (a package.json read for its version is not its code). */
const NOT_LOADED_UNLESS_USED = ['@keyv/redis', '@keyv/postgres', 'bullmq', 'ioredis', 'prom-client', 'pino-roll', 'pino-pretty', 'tiktok-live-connector', 'tiktok-live-proto'];

function loads(modules: readonly string[], packageName: string): boolean {
  return modules.some((entry) => entry.includes(`/node_modules/${packageName}/`) && /\.[cm]?js$/.test(entry));
}

describe('a bot on SQLite without HTTP_PORT, LOG_FILE or a terminal', () => {
  let discord: FakeDiscord;
  let tiktok: FakeTikTok;
  let dir: string;
  let bot: ChildProcess;
  let output = '';
  const modulesFile = () => path.join(dir, 'modules.json');

  /** Every module the bot has loaded so far (it writes the list on SIGUSR2). */
  async function loadedModules(): Promise<string[]> {
    await rm(modulesFile(), { force: true });
    process.kill(bot.pid!, 'SIGUSR2');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const text = await readFile(modulesFile(), 'utf8').catch(() => undefined);
      if (text !== undefined) return JSON.parse(text) as string[];
      if (Date.now() > deadline) throw new Error(`the bot wrote no module list:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lazy-imports-'));
    discord = await startFakeDiscord({ token: TOKEN });
    tiktok = await startFakeTikTok();
    tiktok.addUser('lazy.live', { live: true });
    const caFile = path.join(dir, 'tiktok-ca.pem');
    await writeFile(caFile, tiktok.transport.caCertificate!);
    const preload = (file: string) => ['--import', pathToFileURL(path.join(root, file)).href];
    bot = spawn(
      process.execPath,
      [...preload('node_modules/tsx/dist/esm/index.mjs'), ...preload('tests/support/module-recorder.mjs'), ...preload('tests/support/point-at-fakes.mjs'), path.join(root, 'src/main.ts')],
      {
        cwd: dir,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: dir,
          DISCORD_TOKEN: TOKEN,
          DISCORD_GUILD_ID: discord.guildId,
          OBS_URL: 'ws://127.0.0.1:1',
          CLIPS_DIR: path.join(dir, 'clips'),
          DATABASE_URL: `sqlite://${path.join(dir, 'bot.sqlite')}`,
          NODE_EXTRA_CA_CERTS: caFile,
          CLIP_TEST_MODULES_FILE: modulesFile(),
          CLIP_BENCH_FAKES: JSON.stringify({
            main: path.join(root, 'src/main.ts'),
            tiktokDefaults: path.join(root, 'src/monitor/defaults.ts'),
            discordApiUrl: discord.apiUrl,
            tiktok: { signApiUrl: tiktok.transport.signApiUrl, webHost: tiktok.transport.webHost, webcastHost: tiktok.transport.webcastHost },
          }),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    bot.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    bot.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => output.includes('"msg":"bot ready"') || bot.exitCode !== null, 60_000, () => `the bot to be ready:\n${output}`);
    expect(bot.exitCode, output).toBeNull();
  }, 90_000);

  afterAll(async () => {
    if (bot && bot.exitCode === null && bot.signalCode === null) {
      const exited = new Promise((resolve) => bot.once('exit', resolve));
      process.kill(bot.pid!, 'SIGTERM');
      await exited;
    }
    await discord?.close();
    await tiktok?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads no Redis or Postgres client, no BullMQ, no metrics, log rotation, pretty printer or TikTok library while it watches nothing', async () => {
    const modules = await loadedModules();
    // What it does use is in the list, so the list is the real one.
    expect(loads(modules, '@keyv/sqlite')).toBe(true);
    expect(loads(modules, 'discord.js')).toBe(true);
    expect(NOT_LOADED_UNLESS_USED.filter((name) => loads(modules, name))).toEqual([]);
  }, 30_000);

  it('loads the TikTok library once a stream is watched, and joins the live', async () => {
    const reply = await discord.interact({ command: 'stream', subcommand: 'add', options: { username: 'lazy.live' } }).final(20_000);
    expect(reply.content).toContain('lazy.live');
    await waitFor(() => tiktok.stats.openSockets('lazy.live') > 0, 30_000, () => 'the bot to join @lazy.live');
    const modules = await loadedModules();
    expect(loads(modules, 'tiktok-live-connector')).toBe(true);
    expect(['@keyv/redis', '@keyv/postgres', 'bullmq', 'ioredis', 'prom-client', 'pino-roll', 'pino-pretty'].filter((name) => loads(modules, name))).toEqual([]);
  }, 60_000);
});
