import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as fsPromises from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/util/errors.js';
import { fileClip, type FilerFs } from '../../src/clips/clip-filer.js';

let root: string;
let obsDir: string;
let clipsDir: string;
const at = new Date(2026, 10, 25, 21, 15, 0);

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'filer-'));
  obsDir = path.join(root, 'obs');
  clipsDir = path.join(root, 'clips dir');
  await fsPromises.mkdir(obsDir);
});
afterEach(async () => rm(root, { recursive: true, force: true }));

async function replay(name: string, content = name): Promise<string> {
  const file = path.join(obsDir, name);
  await writeFile(file, content);
  return file;
}

function lockedFs(failures: number, code = 'EBUSY'): FilerFs & { calls: number } {
  const fs = {
    calls: 0,
    mkdir: fsPromises.mkdir,
    unlink: fsPromises.unlink,
    // A locked file (Windows: OBS or antivirus still holds it) refuses both a link and a copy.
    async copyFile(source: string, target: string, mode: number) {
      if (fs.calls <= failures && code !== 'EXDEV') throw Object.assign(new Error(`${code}: resource busy or locked`), { code });
      await fsPromises.copyFile(source, target, mode);
    },
    async link(existing: string, target: string) {
      fs.calls += 1;
      if (fs.calls <= failures) throw Object.assign(new Error(`${code}: resource busy or locked`), { code });
      await fsPromises.link(existing, target);
    },
  };
  return fs;
}

describe('fileClip', () => {
  it('files a shared save for a second stream from the first stream\'s clip, leaving that clip in place', async () => {
    const source = await replay('Replay shared.mp4', 'one picture for all');
    const first = await fileClip({ sourcePath: source, clipsDir, streamer: 'alice', chatter: 'bob', keyword: 'wow', at });
    const second = await fileClip({ sourcePath: first, clipsDir, streamer: 'carol', chatter: 'dave', keyword: 'pog', at, keepSource: true });
    expect(path.relative(clipsDir, second)).toMatch(/^carol[\\/]dave_pog_/);
    expect(await readFile(first, 'utf8')).toBe('one picture for all');
    expect(await readFile(second, 'utf8')).toBe('one picture for all');
    expect(await readdir(obsDir)).toEqual([]);
  });

  it('moves the replay into the streamer folder under the clip name', async () => {
    const source = await replay('Replay 2026-11-25.mp4', 'video bytes');
    const filed = await fileClip({ sourcePath: source, clipsDir, streamer: 'alice', chatter: 'bob', keyword: 'wow', at });
    expect(filed).toBe(path.join(clipsDir, 'alice', 'bob_wow_2026-11-25_09-15-00_PM.mp4'));
    expect(await readFile(filed, 'utf8')).toBe('video bytes');
    expect(await readdir(obsDir)).toEqual([]);
  });

  it('never overwrites: a second clip with the same name gets a suffix', async () => {
    const first = await fileClip({ sourcePath: await replay('a.mp4', 'first'), clipsDir, streamer: 'alice', chatter: 'bob', keyword: 'wow', at });
    const second = await fileClip({ sourcePath: await replay('b.mp4', 'second'), clipsDir, streamer: 'alice', chatter: 'bob', keyword: 'wow', at });
    expect(path.basename(second)).toBe('bob_wow_2026-11-25_09-15-00_PM (2).mp4');
    expect(await readFile(first, 'utf8')).toBe('first');
    expect(await readFile(second, 'utf8')).toBe('second');
  });

  it('keeps all 20 clips filed concurrently under the same name', async () => {
    const sources = await Promise.all(Array.from({ length: 20 }, (_, i) => replay(`r${i}.mp4`, `clip ${i}`)));
    const filed = await Promise.all(sources.map((sourcePath) => fileClip({ sourcePath, clipsDir, streamer: 'alice', chatter: 'bob', keyword: 'wow', at })));
    expect(new Set(filed).size).toBe(20);
    const contents = await Promise.all(filed.map((f) => readFile(f, 'utf8')));
    expect(contents.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `clip ${i}`).sort());
  });

  it('keeps hostile names inside the clips folder', async () => {
    const filed = await fileClip({ sourcePath: await replay('x.mp4'), clipsDir, streamer: '../../outside', chatter: '..\\..\\evil', keyword: 'a/../../b', at });
    expect(filed.startsWith(clipsDir + path.sep)).toBe(true);
    expect(path.relative(clipsDir, filed).split(path.sep)).toHaveLength(2);
  });

  it('retries while the file is locked, then succeeds', async () => {
    const fs = lockedFs(3);
    const filed = await fileClip({ sourcePath: await replay('locked.mp4'), clipsDir, streamer: 'alice', chatter: 'bob', keyword: 'wow', at, retry: { attempts: 5, delayMs: 5 }, fs });
    expect(fs.calls).toBeGreaterThanOrEqual(4);
    expect(await readFile(filed, 'utf8')).toBe('locked.mp4');
  });

  it('gives up with CLIP_FILE_FAILED and leaves the replay where OBS wrote it', async () => {
    const source = await replay('stuck.mp4', 'precious');
    const fs: FilerFs = { ...lockedFs(1_000), copyFile: () => Promise.reject(Object.assign(new Error('EBUSY'), { code: 'EBUSY' })) };
    const failure = await fileClip({ sourcePath: source, clipsDir, streamer: 'alice', chatter: 'bob', keyword: 'wow', at, retry: { attempts: 3, delayMs: 5 }, fs }).catch((e: unknown) => e);
    expect(isAppError(failure, 'CLIP_FILE_FAILED')).toBe(true);
    expect((failure as Error).message).toContain(source);
    expect(await readFile(source, 'utf8')).toBe('precious');
    expect(await readdir(path.join(clipsDir, 'alice'))).toEqual([]);
  });

  it('copies exclusively where hard links are not possible', async () => {
    const fs = lockedFs(1_000, 'EXDEV');
    const filed = await fileClip({ sourcePath: await replay('cross.mp4', 'across drives'), clipsDir, streamer: 'alice', chatter: 'bob', keyword: 'wow', at, fs });
    expect(await readFile(filed, 'utf8')).toBe('across drives');
    expect(await readdir(obsDir)).toEqual([]);
  });
  it('never deletes a name it did not create when an exclusive copy fails', async () => {
    const source = await replay('locked-copy.mp4', 'mine');
    const folder = path.join(clipsDir, 'alice');
    const fs: FilerFs = {
      mkdir: fsPromises.mkdir,
      unlink: fsPromises.unlink,
      link: () => Promise.reject(Object.assign(new Error('EXDEV'), { code: 'EXDEV' })),
      // Another filing claims the name while our copy fails on the locked source.
      async copyFile(_source: string, target: string) {
        await writeFile(target, 'someone else', { flag: 'wx' }).catch(() => undefined);
        throw Object.assign(new Error('EBUSY: resource busy or locked'), { code: 'EBUSY' });
      },
    };
    const failure = await fileClip({ sourcePath: source, clipsDir, streamer: 'alice', chatter: 'bob', keyword: 'wow', at, retry: { attempts: 2, delayMs: 1 }, fs }).catch((e: unknown) => e);
    expect(isAppError(failure, 'CLIP_FILE_FAILED')).toBe(true);
    expect(await readFile(path.join(folder, 'bob_wow_2026-11-25_09-15-00_PM.mp4'), 'utf8')).toBe('someone else');
    expect(await readFile(source, 'utf8')).toBe('mine');
  });

  it('undoes a hard link when the source cannot be removed, so OBS reusing the name cannot truncate the clip', async () => {
    const source = await replay('held.mp4', 'held bytes');
    const fs: FilerFs = {
      mkdir: fsPromises.mkdir,
      link: fsPromises.link,
      copyFile: fsPromises.copyFile,
      unlink: (file: string) =>
        file === source
          ? Promise.reject(Object.assign(new Error('EBUSY: resource busy or locked'), { code: 'EBUSY' }))
          : fsPromises.unlink(file),
    };
    const failure = await fileClip({ sourcePath: source, clipsDir, streamer: 'alice', chatter: 'bob', keyword: 'wow', at, retry: { attempts: 2, delayMs: 1 }, fs }).catch((e: unknown) => e);
    expect(isAppError(failure, 'CLIP_FILE_FAILED')).toBe(true);
    expect(await readFile(source, 'utf8')).toBe('held bytes');
    expect(await readdir(path.join(clipsDir, 'alice'))).toEqual([]);
  });

  it('files the clip once the source can be removed after a short lock', async () => {
    const source = await replay('briefly-held.mp4', 'bytes');
    let refusals = 0;
    const fs: FilerFs = {
      mkdir: fsPromises.mkdir,
      link: fsPromises.link,
      copyFile: fsPromises.copyFile,
      unlink: (file: string) =>
        file === source && refusals++ < 2
          ? Promise.reject(Object.assign(new Error('EPERM: operation not permitted'), { code: 'EPERM' }))
          : fsPromises.unlink(file),
    };
    const filed = await fileClip({ sourcePath: source, clipsDir, streamer: 'alice', chatter: 'bob', keyword: 'wow', at, retry: { attempts: 5, delayMs: 1 }, fs });
    expect(await readFile(filed, 'utf8')).toBe('bytes');
    expect(await readdir(obsDir)).toEqual([]);
    expect(await readdir(path.join(clipsDir, 'alice'))).toEqual([path.basename(filed)]);
  });
});
