/**
 * Starts tests/support/bot-process.ts (the bot as `npm start` runs it, pointed at the local fakes) in a
 * process of its own, and ends it the two ways a user's bot ends: SIGKILL (a crash, a power cut) or
 * SIGTERM (a clean stop). Every child is tracked by its pid; `killLeftovers()` ends any still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const started = new Set<ChildProcess>();

export interface BotChild {
  readonly pid: number;
  /** SIGKILL; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM; resolves with the exit code once it stopped. */
  stop(): Promise<number | null>;
  /** The last few kB it wrote to stderr (its log, at LOG_LEVEL). */
  stderr(): string;
}

/**
 * The environment a user's `.env` gives the bot, pointed at the local Discord, with no OBS listening and
 * its clips under `dir`: each test adds what it is about (storage, stream capture, test overrides).
 */
export function botChildEnv({ dir, token, guildId, databaseUrl }: { dir: string; token: string; guildId: string; databaseUrl: string }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    DISCORD_TOKEN: token,
    DISCORD_GUILD_ID: guildId,
    OBS_URL: 'ws://127.0.0.1:1',
    CLIPS_DIR: path.join(dir, 'clips'),
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
}

/** Resolves once the bot printed `ready` (logged in, commands registered, outbox and streams resumed). */
export function startBotChild({ cwd, env, timeoutMs = 60_000 }: { cwd: string; env: Record<string, string>; timeoutMs?: number }): Promise<BotChild> {
  const tsx = pathToFileURL(path.join(root, 'node_modules/tsx/dist/esm/index.mjs')).href;
  const child = spawn(process.execPath, ['--import', tsx, path.join(root, 'tests/support/bot-process.ts')], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8_000)));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      started.delete(child);
      resolve(code);
    }),
  );
  const handle: BotChild = {
    pid: child.pid ?? 0,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    stderr: () => stderr,
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the bot did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/^ready \d+$/m.test(stdout)) {
        clearTimeout(timer);
        resolve(handle);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the bot exited (${code ?? child.signalCode}) before it was ready: ${stderr}`));
    });
  });
}

/** Ends (SIGKILL, by pid) every bot child still running: for afterAll, whatever the test did. */
export async function killLeftovers(): Promise<void> {
  await Promise.all(
    [...started].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    }),
  );
}
