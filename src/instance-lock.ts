/**
 * One bot per clips folder. A second copy started by mistake (a double-click on Windows, a forgotten
 * terminal) would save every moment twice through the same OBS, post every alert twice, and "recover"
 * the first copy's clips in flight from the journal while the first copy is still posting them. So the
 * bot claims CLIPS_DIR with a lock file holding its pid, and refuses to start while a live process holds
 * it. A lock left by a crash names a dead process and is taken over.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { AppError } from './errors.js';

export const LOCK_FILE = '.bot.lock';

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  /** Tells this start's lock from a later one by the same pid (after the file was taken over). */
  readonly token: string;
}

export interface InstanceLock {
  /** Removes the lock if it is still ours. Never rejects. */
  release(): Promise<void>;
}

export async function acquireInstanceLock(dir: string, log: Logger): Promise<InstanceLock> {
  const file = path.join(dir, LOCK_FILE);
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw notWritable(err, dir);
  });
  const me: LockOwner = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), token: randomUUID() };
  // Twice at most: once, and once more after clearing a stale lock. If another starting copy wins the
  // race in between, the second try finds its live lock and refuses.
  for (let attempt = 1; ; attempt += 1) {
    try {
      await writeFile(file, JSON.stringify(me), { flag: 'wx' });
      return { release: () => releaseIfOurs(file, me, log) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 1) throw notWritable(err, dir);
    }
    const owner = await readOwner(file);
    if (owner !== undefined && (owner.host !== me.host || isAlive(owner.pid))) {
      const where = owner.host === me.host ? `process ${owner.pid}` : `process ${owner.pid} on ${owner.host}`;
      throw new AppError(
        'ALREADY_RUNNING',
        `Another copy of the bot (${where}, started ${owner.startedAt}) is already using ${dir}. Stop it first; if it is not running, delete ${file}.`,
      );
    }
    log.warn({ file, stalePid: owner?.pid }, 'took over a lock left by a bot that is no longer running');
    await rm(file, { force: true });
  }
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.token === 'string') {
      return { pid: parsed.pid, host: parsed.host, startedAt: String(parsed.startedAt), token: parsed.token };
    }
  } catch {
    // Unreadable or half-written (a crash while writing it): nobody can own it.
  }
  return undefined;
}

/** Whether a process with this pid exists on this machine (signal 0 only checks). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user, which still means "running".
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function releaseIfOurs(file: string, me: LockOwner, log: Logger): Promise<void> {
  try {
    const owner = await readOwner(file);
    if (owner?.token === me.token) await rm(file, { force: true });
  } catch (err) {
    log.warn({ err, file }, 'could not remove the lock file');
  }
}

/** Clips could not be filed there either: say so at start, not at the first keyword. */
function notWritable(err: unknown, dir: string): AppError {
  return new AppError('CLIP_FILE_FAILED', `CLIPS_DIR ${dir} is not writable: ${(err as Error).message}`, { cause: err });
}
