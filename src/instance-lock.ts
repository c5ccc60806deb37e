/**
 * One bot per clips folder. A second copy started by mistake (a double-click on Windows, a forgotten
 * terminal) would save every moment twice through the same OBS, post every alert twice, and "recover"
 * the first copy's clips in flight from the journal while the first copy is still posting them. So the
 * bot claims CLIPS_DIR with a lock file and refuses to start while another running bot holds it.
 *
 * A pid alone cannot tell "running" from "gone": after a reboot or in a container restarted as pid 1 the
 * old pid is alive again as some other process (or as this one), and a lock from another host cannot be
 * checked at all. So the holder rewrites a heartbeat time in the lock every few seconds, and a lock whose
 * heartbeat is older than a few intervals is taken over, whatever its pid. A lock naming a pid that is
 * dead on this host (a crash) is taken over at once.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { AppError } from './util/errors.js';

export const LOCK_FILE = '.bot.lock';

export const LOCK_HEARTBEAT = {
  /** How often the holder rewrites its heartbeat. */
  intervalMs: 5_000,
  /** A lock whose heartbeat is older than this many intervals belongs to a bot that is gone. */
  staleAfterIntervals: 3,
} as const satisfies Record<string, number>;

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  /** Tells this start's lock from a later one by the same pid (after the file was taken over). */
  readonly token: string;
  /** ISO time of the holder's last heartbeat; absent in locks written before heartbeats (then: file time). */
  readonly heartbeatAt?: string;
}

export interface InstanceLock {
  /** Stops the heartbeat and removes the lock if it is still ours. Never rejects. */
  release(): Promise<void>;
}

export interface InstanceLockOptions {
  /** Heartbeat interval; tests shorten it. */
  readonly heartbeatMs?: number;
}

export async function acquireInstanceLock(dir: string, log: Logger, options: InstanceLockOptions = {}): Promise<InstanceLock> {
  const heartbeatMs = options.heartbeatMs ?? LOCK_HEARTBEAT.intervalMs;
  const file = path.join(dir, LOCK_FILE);
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw notWritable(err, dir);
  });
  const startedAt = new Date().toISOString();
  const me: LockOwner = { pid: process.pid, host: os.hostname(), startedAt, token: randomUUID(), heartbeatAt: startedAt };
  // Twice at most: once, and once more after clearing a stale lock. If another starting copy wins the
  // race in between, the second try finds its fresh lock and refuses.
  for (let attempt = 1; ; attempt += 1) {
    try {
      await writeFile(file, JSON.stringify(me), { flag: 'wx' });
      return holdLock(file, me, heartbeatMs, log);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 1) throw notWritable(err, dir);
    }
    const owner = await readOwner(file);
    const verdict = owner === undefined ? 'unreadable' : await judge(owner, file, me, heartbeatMs);
    if (owner !== undefined && verdict === 'held') {
      const where = owner.host === me.host ? `process ${owner.pid}` : `process ${owner.pid} on ${owner.host}`;
      throw new AppError(
        'ALREADY_RUNNING',
        `Another copy of the bot (${where}, started ${owner.startedAt}) is already using ${dir}. Stop it first; ` +
          `if it is not running, delete ${file} (a lock without a heartbeat for ${(heartbeatMs * LOCK_HEARTBEAT.staleAfterIntervals) / 1000} s is taken over by itself).`,
      );
    }
    log.warn({ file, stalePid: owner?.pid, staleHost: owner?.host, reason: verdict }, 'took over a lock left by a bot that is no longer running');
    await rm(file, { force: true });
  }
}

/** Locks this process holds now, so its own pid in a lock file is told from a previous life's. */
const heldTokens = new Set<string>();

type Verdict = 'held' | 'dead pid' | 'stale heartbeat' | 'unreadable' | 'own pid';

async function judge(owner: LockOwner, file: string, me: LockOwner, heartbeatMs: number): Promise<Verdict> {
  if (owner.host === me.host) {
    // Our pid, but not a lock this process took: a previous life of it (a container restarted as pid 1,
    // a pid reused after a reboot).
    if (owner.pid === me.pid && !heldTokens.has(owner.token)) return 'own pid';
    if (!isAlive(owner.pid)) return 'dead pid';
  }
  const beat = await heartbeatTime(owner, file);
  const age = Date.now() - beat;
  return age > heartbeatMs * LOCK_HEARTBEAT.staleAfterIntervals ? 'stale heartbeat' : 'held';
}

/** The lock's heartbeat; a lock from before heartbeats counts from the file's last write. */
async function heartbeatTime(owner: LockOwner, file: string): Promise<number> {
  const written = owner.heartbeatAt === undefined ? Number.NaN : Date.parse(owner.heartbeatAt);
  if (!Number.isNaN(written)) return written;
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return 0;
  }
}

function holdLock(file: string, me: LockOwner, heartbeatMs: number, log: Logger): InstanceLock {
  let isHeld = true;
  heldTokens.add(me.token);
  let inFlight: Promise<void> = Promise.resolve();
  const beat = async (): Promise<void> => {
    const owner = await readOwner(file);
    if (owner?.token !== me.token) {
      // Taken over (this process was stopped longer than the stale limit): never write over the new holder.
      isHeld = false;
      clearInterval(timer);
      log.error({ file, holderPid: owner?.pid, holderHost: owner?.host }, 'another bot took over the clips folder lock');
      return;
    }
    // Written aside and renamed over, so a reader never sees a half-written lock and takes it over.
    const next = `${file}.${me.token}.tmp`;
    await writeFile(next, JSON.stringify({ ...me, heartbeatAt: new Date().toISOString() }));
    await rename(next, file);
  };
  const timer = setInterval(() => {
    if (!isHeld) return;
    inFlight = beat().catch((err: unknown) => log.warn({ err, file }, 'could not renew the lock heartbeat'));
  }, heartbeatMs);
  // The heartbeat alone must not keep the process alive.
  timer.unref();
  return {
    release: async () => {
      isHeld = false;
      heldTokens.delete(me.token);
      clearInterval(timer);
      // A heartbeat renaming its file after the removal would bring the lock back.
      await inFlight;
      await releaseIfOurs(file, me, log);
    },
  };
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.token === 'string') {
      return {
        pid: parsed.pid,
        host: parsed.host,
        startedAt: String(parsed.startedAt),
        token: parsed.token,
        ...(typeof parsed.heartbeatAt === 'string' ? { heartbeatAt: parsed.heartbeatAt } : {}),
      };
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
