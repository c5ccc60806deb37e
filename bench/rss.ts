/**
 * rss_idle_mb: resident memory (VmRSS, as the OS counts it) of the built bot, `node dist/main.js` as
 * `npm start` runs it, 10 s after it logged in with no stream; rss_per_stream_mb: how much each watched
 * live adds, (RSS at 60 joined lives - RSS at 10) / 50. Goals (README): at most 100 MB and 0.5 MB.
 *
 * Three processes, so the bot's figure is the bot's alone:
 *   bench/run.ts (this module: builds dist/, reads /proc/<pid>/status)
 *     -> bench/support/fakes-process.ts  (the local Discord and TikTok)
 *     -> node dist/main.js               (the bot, configured by environment as a user would)
 * The bot gets a plain-JavaScript preload that only points it at the local servers
 * (tests/support/point-at-fakes.mjs) and `--expose-gc`, so each figure is read after a full GC
 * (triggered by SIGUSR2); BENCH_RSS_GC=0 reads without (the flag and the GC move the figures by less
 * than a megabyte). Lives are added as a moderator would, with /stream add.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFakesChild, type FakesChild } from './support/fakes-child.js';
import type { BenchResult } from './result.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = path.join(ROOT, 'dist/main.js');
const PRELOAD = path.join(ROOT, 'tests/support/point-at-fakes.mjs');
/** After login, as the goal says; and after the lives joined, long enough for their connects' garbage to go. */
const IDLE_AFTER_LOGIN_MS = 10_000;
const SETTLE_AFTER_JOIN_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round1 = (n: number) => Math.round(n * 10) / 10;

/** VmRSS of a process in MiB, from /proc/<pid>/status. */
export async function vmRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb) / 1024;
}

interface BotProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

function startBuiltBot(root: string, fakes: FakesChild, caFile: string, withGc: boolean): BotProcess {
  const env = {
    PATH: process.env['PATH'] ?? '',
    HOME: root,
    DISCORD_TOKEN: fakes.discord.token,
    DISCORD_GUILD_ID: fakes.discord.guildId,
    OBS_URL: 'ws://127.0.0.1:1',
    CLIPS_DIR: path.join(root, 'clips'),
    DATABASE_URL: `sqlite://${path.join(root, 'bot.sqlite')}`,
    NODE_EXTRA_CA_CERTS: caFile,
    ...(process.env['BENCH_RSS_LOG_FORMAT'] ? { LOG_FORMAT: process.env['BENCH_RSS_LOG_FORMAT'] } : {}),
    CLIP_BENCH_FAKES: JSON.stringify({
      main: MAIN,
      tiktokDefaults: path.join(ROOT, 'dist/monitor/defaults.js'),
      discordApiUrl: fakes.discord.apiUrl,
      tiktok: { signApiUrl: fakes.tiktok.signApiUrl, webHost: fakes.tiktok.webHost, webcastHost: fakes.tiktok.webcastHost },
    }),
  };
  const flags = (process.env['BENCH_RSS_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, ...(withGc ? ['--expose-gc'] : []), '--import', PRELOAD, MAIN], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    // JSON log lines (stdout is not a terminal); drained all along so the bot never blocks on a full pipe.
    child.stdout.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      if (output.includes('bot ready')) resolve();
    });
    child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    child.once('exit', (code) => reject(new Error(`the bot exited (${code}) before it was ready:\n${output}`)));
  });
  return {
    child,
    ready,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      process.kill(child.pid!, 'SIGTERM');
      await exited;
    },
  };
}

async function watchAndWaitLive(fakes: FakesChild, names: readonly string[], timeoutMs = 120_000): Promise<void> {
  for (const username of names) await fakes.command({ command: 'stream', subcommand: 'add', options: { username } });
  const deadline = Date.now() + timeoutMs;
  while ((await fakes.openSockets([...names])) < names.length) {
    if (Date.now() > deadline) throw new Error(`not all ${names.length} lives joined within ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** One run: the idle, 10-live and 60-live readings of a fresh bot, in MiB. */
export async function measureBuiltBot(options: { withGc?: boolean } = {}): Promise<{ idle: number; at10: number; at60: number }> {
  const withGc = options.withGc ?? process.env['BENCH_RSS_GC'] !== '0';
  const root = await mkdtemp(path.join(os.tmpdir(), 'bench-rss-'));
  const fakes = await startFakesChild();
  let bot: BotProcess | undefined;
  try {
    const caFile = path.join(root, 'tiktok-ca.pem');
    await writeFile(caFile, fakes.tiktok.caCertificate);
    const names = Array.from({ length: 60 }, (_, i) => `rss${i}`);
    await fakes.addLiveUsers(names);
    bot = startBuiltBot(root, fakes, caFile, withGc);
    await bot.ready;
    const pid = bot.child.pid!;
    const reading = async (waitMs: number) => {
      await sleep(waitMs);
      if (withGc) {
        process.kill(pid, 'SIGUSR2');
        await sleep(1_000);
      }
      return vmRssMb(pid);
    };
    const idle = await reading(IDLE_AFTER_LOGIN_MS);
    await watchAndWaitLive(fakes, names.slice(0, 10));
    const at10 = await reading(SETTLE_AFTER_JOIN_MS);
    await watchAndWaitLive(fakes, names.slice(10));
    const at60 = await reading(SETTLE_AFTER_JOIN_MS);
    return { idle, at10, at60 };
  } finally {
    await bot?.stop();
    await fakes.close();
    await rm(root, { recursive: true, force: true });
  }
}

export async function benchRss(): Promise<BenchResult[]> {
  // The figures are of the built bot: build it from this checkout first, so they are never of a stale dist/.
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT });
  const { idle, at10, at60 } = await measureBuiltBot();
  return [
    { name: 'rss_idle_mb', value: round1(idle), unit: 'MiB' },
    { name: 'rss_10_lives_mb', value: round1(at10), unit: 'MiB' },
    { name: 'rss_60_lives_mb', value: round1(at60), unit: 'MiB' },
    { name: 'rss_per_stream_mb', value: Math.round(((at60 - at10) / 50) * 1000) / 1000, unit: 'MiB' },
  ];
}

// `npx tsx bench/rss.ts`: only these figures.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void benchRss().then(
    (results) => {
      for (const { name, value, unit } of results) process.stdout.write(`${name}: ${value} ${unit}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`rss bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
