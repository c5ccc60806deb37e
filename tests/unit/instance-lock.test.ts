import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { LOCK_FILE, acquireInstanceLock } from '../../src/instance-lock.js';

const log = pino({ level: 'silent' });

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('acquireInstanceLock', () => {
  let dir: string;
  let lockFile: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lock-'));
    lockFile = path.join(dir, LOCK_FILE);
  });
  afterEach(async () => {
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
