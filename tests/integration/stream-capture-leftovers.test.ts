/**
 * A bot killed with SIGKILL leaves its buffer ffmpegs running; the next start ends them by recorded pid,
 * and only after /proc says the pid is an ffmpeg writing into our buffer folder (never by name).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FfmpegPidFile } from '../../src/capture/stream/ffmpeg-pids.js';

const started: ChildProcess[] = [];

function start(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: 'ignore' });
  started.push(child);
  return child;
}

async function isAlive(pid: number): Promise<boolean> {
  try {
    return !/\) Z /.test(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('ffmpeg left by a killed run', () => {
  it('is ended at the next start by its recorded pid; a reused pid that is not our ffmpeg is left alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stream-leftovers-'));
    try {
      // What the killed run had started: an ffmpeg writing into the buffer folder...
      const ours = start('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'color=c=red:s=64x64:r=5',
        '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'hls', join(dir, 'index.m3u8')]);
      // ...and a pid now held by something else (here a node process naming the same folder).
      const stranger = start(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', dir]);
      const crashed = new FfmpegPidFile(dir);
      crashed.add(ours.pid!);
      crashed.add(stranger.pid!);
      await new Promise((r) => setTimeout(r, 500));
      expect(await isAlive(ours.pid!)).toBe(true);

      const next = new FfmpegPidFile(dir);
      expect(await next.endLeftovers()).toEqual([ours.pid]);
      await new Promise((r) => setTimeout(r, 300));
      expect(await isAlive(ours.pid!)).toBe(false);
      expect(await isAlive(stranger.pid!)).toBe(true);
      // The list is cleared: a later start does not look at those pids again.
      expect(await new FfmpegPidFile(dir).endLeftovers()).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is still ended when the new run starts a buffer of its own before it looks for leftovers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stream-leftovers-'));
    try {
      for (const run of ['old', 'new']) await mkdir(join(dir, run));
      const leftover = start('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'color=c=red:s=64x64:r=5',
        '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'hls', join(dir, 'old', 'index.m3u8')]);
      new FfmpegPidFile(dir).add(leftover.pid!);
      const fresh = start('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'color=c=blue:s=64x64:r=5',
        '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'hls', join(dir, 'new', 'index.m3u8')]);
      await new Promise((r) => setTimeout(r, 500));

      const next = new FfmpegPidFile(dir);
      next.add(fresh.pid!); // e.g. a /stream add answered before the start-up reached endLeftovers()
      expect(await next.endLeftovers()).toEqual([leftover.pid]);
      await new Promise((r) => setTimeout(r, 300));
      expect(await isAlive(leftover.pid!)).toBe(false);
      expect(await isAlive(fresh.pid!)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
