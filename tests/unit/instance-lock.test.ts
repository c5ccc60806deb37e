import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isAppError } from '../../src/util/errors.js';
import { LOCK_FILE, LOCK_HEARTBEAT, acquireInstanceLock } from '../../src/instance-lock.js';

const log = pino({ level: 'silent' });

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

/** A heartbeat long past the stale limit. */
const OLD_HEARTBEAT = new Date(Date.now() - 10 * LOCK_HEARTBEAT.intervalMs * LOCK_HEARTBEAT.staleAfterIntervals).toISOString();

const children: ChildProcess[] = [];

/** A live process that is not a bot (what a reused pid looks like). Ended by its pid after each test. */
function unrelatedProcess(): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60000)'], { stdio: 'ignore' });
  children.push(child);
  return child.pid ?? 0;
}

/** Another real bot process holding the lock on `dir` (tests/support/lock-holder.ts), once it says so. */
async function otherBot(dir: string, heartbeatMs: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/lock-holder.ts', dir, String(heartbeatMs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('locked')) resolve();
    });
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`lock holder exited (${code}):\n${output}`)));
  });
  return child;
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

describe('acquireInstanceLock', () => {
  let dir: string;
  let lockFile: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lock-'));
    lockFile = path.join(dir, LOCK_FILE);
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => kill(child, 'SIGKILL')));
    await rm(dir, { recursive: true, force: true });
  });

  it('lets one bot at a time use a clips folder, and frees it on release', async () => {
    const first = await acquireInstanceLock(dir, log);
    const held = await readFile(lockFile, 'utf8');
    expect(JSON.parse(held)).toMatchObject({ pid: process.pid, host: os.hostname() });

    const second = await acquireInstanceLock(dir, log).catch((err: unknown) => err);
    expect(isAppError(second, 'ALREADY_RUNNING')).toBe(true);
    expect((second as Error).message).toMatch(new RegExp(`Another copy of the bot \\(process ${process.pid}, started .+\\) is already using`));
    expect((second as Error).message).toContain(`delete ${lockFile}`);
    expect(await readFile(lockFile, 'utf8')).toBe(held); // the refused start changed nothing

    await first.release();
    const again = await acquireInstanceLock(dir, log);
    await again.release();
  });

  it('takes over a lock left by a bot that crashed', async () => {
    const pid = deadPid();
    await writeFile(lockFile, JSON.stringify({ pid, host: os.hostname(), startedAt: '2026-11-24T10:00:00.000Z', token: 'old' }));
    const lock = await acquireInstanceLock(dir, log);
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('starts when the lock names a live process that is not a bot (a reused pid) with an old heartbeat', async () => {
    const pid = unrelatedProcess();
    const stale = { pid, host: os.hostname(), startedAt: '2026-11-24T10:00:00.000Z', token: 'old', heartbeatAt: OLD_HEARTBEAT };
    await writeFile(lockFile, JSON.stringify(stale));
    const lock = await acquireInstanceLock(dir, log);
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('starts when the lock names its own pid from an earlier life (a container restarted as pid 1)', async () => {
    const earlier = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), token: 'earlier', heartbeatAt: new Date().toISOString() };
    await writeFile(lockFile, JSON.stringify(earlier));
    const lock = await acquireInstanceLock(dir, log);
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ pid: process.pid, token: expect.not.stringMatching(/^earlier$/) });
    await lock.release();
  });

  it('starts when another machine left a lock whose heartbeat stopped', async () => {
    await writeFile(lockFile, JSON.stringify({ pid: 1, host: 'old-container', startedAt: '2026-11-24T10:00:00.000Z', token: 'x', heartbeatAt: OLD_HEARTBEAT }));
    const lock = await acquireInstanceLock(dir, log);
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ pid: process.pid, host: os.hostname() });
    await lock.release();
  });

  it('refuses while another running bot keeps its heartbeat fresh, naming it; takes over once it is killed', async () => {
    const bot = await otherBot(dir, 50);
    const held = JSON.parse(await readFile(lockFile, 'utf8')) as { heartbeatAt: string };
    // Its heartbeat moves on by itself while it runs.
    await vi.waitFor(async () => {
      expect(JSON.parse(await readFile(lockFile, 'utf8'))).not.toMatchObject({ heartbeatAt: held.heartbeatAt });
    });
    const err = await acquireInstanceLock(dir, log).catch((e: unknown) => e);
    expect(isAppError(err, 'ALREADY_RUNNING')).toBe(true);
    expect((err as Error).message).toContain(`Another copy of the bot (process ${bot.pid},`);

    await kill(bot, 'SIGKILL'); // a crash: the lock stays behind with a dead pid
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ pid: bot.pid });
    const lock = await acquireInstanceLock(dir, log);
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  }, 30_000);

  it('releases cleanly while its heartbeat runs, leaving no lock behind', async () => {
    const lock = await acquireInstanceLock(dir, log, { heartbeatMs: 5 });
    const first = await readFile(lockFile, 'utf8');
    await vi.waitFor(async () => expect(await readFile(lockFile, 'utf8')).not.toBe(first));
    await lock.release();
    await expect(readFile(lockFile, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    const again = await acquireInstanceLock(dir, log);
    await again.release();
  });

  it('takes over a lock file cut short by a crash', async () => {
    await writeFile(lockFile, '{"pid": 12');
    const lock = await acquireInstanceLock(dir, log);
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('refuses a lock held from another machine (the folder is shared), naming the machine', async () => {
    await writeFile(lockFile, JSON.stringify({ pid: deadPid(), host: 'studio-pc', startedAt: '2026-11-25T09:00:00.000Z', token: 'theirs' }));
    const err = await acquireInstanceLock(dir, log).catch((e: unknown) => e);
    expect(isAppError(err, 'ALREADY_RUNNING')).toBe(true);
    expect((err as Error).message).toContain('on studio-pc');
  });

  it('never removes a lock that is no longer its own', async () => {
    const lock = await acquireInstanceLock(dir, log);
    const someoneElse = JSON.stringify({ pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), token: 'newer' });
    await writeFile(lockFile, someoneElse);
    await lock.release();
    expect(await readFile(lockFile, 'utf8')).toBe(someoneElse);
  });

  it('says plainly when the clips folder cannot be written', async () => {
    const blocked = path.join(dir, 'a-file');
    await writeFile(blocked, '');
    const err = await acquireInstanceLock(path.join(blocked, 'clips'), log).catch((e: unknown) => e);
    expect(isAppError(err, 'CLIP_FILE_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/^CLIPS_DIR .*a-file\/clips is not writable/);
  });
});
