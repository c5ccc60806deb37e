import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from './obs-process.js';

/** A real redis-server on a free loopback port in a temp folder, started and stopped by its pid. */
export interface RedisInstance {
  readonly url: string;
  readonly pid: number;
  /** Stops the server (SIGTERM to its pid), keeping nothing. */
  readonly stop: () => Promise<void>;
}

export const REDIS_INSTALL = 'apt-get install -y --no-install-recommends redis-server';

/** Why Redis tests cannot run here, or undefined when they can. */
export function redisMissing(): string | undefined {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : 'redis-server is not on PATH';
}

export async function startRedis(): Promise<RedisInstance> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
  const port = await findFreePort();
  // No config file, no persistence: a throwaway server bound to loopback only.
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitForOutput(child, /Ready to accept connections/, 'redis-server');
  const pid = child.pid ?? 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    pid,
    stop: async () => {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves when the child prints `ready` (stdout or stderr); rejects if it exits first or after 20 s. */
export async function waitForOutput(child: ChildProcess, ready: RegExp, what: string): Promise<void> {
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready:\n${output}`));
    });
  });
}

/** SIGTERM by pid, SIGKILL after 10 s; resolves once the process has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
