import { constants as fsConstants } from 'node:fs';
import * as fsPromises from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../util/errors.js';
import { sleep } from '../util/sleep.js';
import { errorMessage } from '../util/text.js';
import { clipBaseName, streamerFolderName } from './clip-name.js';
import { CLIP_DEFAULTS } from './defaults.js';

/** The file operations the filer needs; tests inject failures (a locked file) through it. */
export interface FilerFs {
  mkdir(dir: string, options: { recursive: true }): Promise<unknown>;
  link(existing: string, target: string): Promise<void>;
  copyFile(source: string, target: string, mode: number): Promise<void>;
  unlink(file: string): Promise<void>;
}

export interface FileClipInput {
  readonly sourcePath: string;
  readonly clipsDir: string;
  readonly streamer: string;
  readonly chatter: string;
  readonly keyword: string;
  readonly at: Date;
  /**
   * The source is another moment's filed clip (one OBS save shared by several streams): link or copy it,
   * never remove it.
   */
  readonly keepSource?: boolean;
  /** While the file is locked (Windows: OBS or antivirus still holds it). The old app retried 5 × 0.5 s. */
  readonly retry?: { readonly attempts: number; readonly delayMs: number };
  readonly fs?: FilerFs;
}

const LOCKED = new Set(['EBUSY', 'EPERM', 'EACCES']);
/** link() cannot work here (another drive, FAT/exFAT, some network shares): copy exclusively instead. */
const NO_LINK = new Set(['EXDEV', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EINVAL']);

/**
 * Moves a saved replay to `clipsDir/{streamer}/{chatter}_{keyword}_{time}.mp4` and returns the new path.
 * A name is claimed atomically (hard link, or an exclusive copy), so concurrent filings never clobber
 * each other and an existing file is never overwritten: a collision gets ` (2)`, ` (3)`…
 * On failure the source stays where OBS wrote it: a clip is never lost. With `keepSource` the source
 * stays in any case (it is another moment's clip).
 */
export async function fileClip(input: FileClipInput): Promise<string> {
  const fs = input.fs ?? fsPromises;
  const retry = input.retry ?? CLIP_DEFAULTS.filing.retry;
  const root = path.resolve(input.clipsDir);
  const folder = path.join(root, streamerFolderName(input.streamer));
  const base = clipBaseName(input);
  if (path.dirname(path.join(folder, `${base}.mp4`)) !== folder || !folder.startsWith(root + path.sep)) {
    throw new AppError('CLIP_FILE_FAILED', 'the clip name would leave the clips folder');
  }

  let lastError: unknown;
  for (let attempt = 0; attempt < retry.attempts; attempt += 1) {
    if (attempt > 0) await sleep(retry.delayMs);
    try {
      await fs.mkdir(folder, { recursive: true });
      const { target, isHardLink } = await claim(fs, input.sourcePath, folder, base);
      // Two names for one filed clip are fine: OBS never writes into the clips folder.
      if (input.keepSource) return target;
      const isSourceGone = await removeSource(fs, input.sourcePath, retry);
      if (!isSourceGone && isHardLink) {
        // Two names for ONE file: when OBS later writes a replay under the same source name it
        // truncates that file, and the filed clip with it. Undo the link (ours: the link call created
        // it) and retry; the source still holds the clip.
        await fs.unlink(target);
        throw Object.assign(new Error(`could not remove ${input.sourcePath} after linking it`), { code: 'EBUSY' });
      }
      return target;
    } catch (err) {
      lastError = err;
      if (!LOCKED.has(codeOf(err))) break;
    }
  }
  throw new AppError(
    'CLIP_FILE_FAILED',
    `could not move ${path.basename(input.sourcePath)} into ${folder} (${codeOf(lastError) || errorMessage(lastError)}); it is still at ${input.sourcePath}`,
    { cause: lastError },
  );
}

/** Claims the first free name and puts the clip's bytes there. */
async function claim(
  fs: FilerFs,
  source: string,
  folder: string,
  base: string,
): Promise<{ target: string; isHardLink: boolean }> {
  for (let n = 1; n <= CLIP_DEFAULTS.filing.maxSuffix; n += 1) {
    const target = path.join(folder, n === 1 ? `${base}.mp4` : `${base} (${n}).mp4`);
    try {
      await fs.link(source, target);
      return { target, isHardLink: true };
    } catch (err) {
      const code = codeOf(err);
      if (code === 'EEXIST') continue;
      // EPERM/EACCES can also mean "no hard links on this file system": the copy below tells which.
      if (!NO_LINK.has(code) && !LOCKED.has(code)) throw err;
    }
    try {
      await fs.copyFile(source, target, fsConstants.COPYFILE_EXCL);
      return { target, isHardLink: false };
    } catch (err) {
      if (codeOf(err) === 'EEXIST') continue;
      // No unlink(target) here: the copy may have failed before creating it (source locked or gone)
      // while a concurrent filing claimed the name, and that would delete someone else's clip. libuv
      // removes a half-written destination itself, only when it was the one that created it.
      throw err;
    }
  }
  throw new AppError('CLIP_FILE_FAILED', `more than ${CLIP_DEFAULTS.filing.maxSuffix} clips named ${base}`);
}

/**
 * The clip is safe under its new name; removing OBS's name may still meet a lock, so retry it too.
 * Returns whether the source is gone.
 */
async function removeSource(fs: FilerFs, source: string, retry: { attempts: number; delayMs: number }): Promise<boolean> {
  for (let attempt = 0; attempt < retry.attempts; attempt += 1) {
    try {
      await fs.unlink(source);
      return true;
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return true;
      if (!LOCKED.has(codeOf(err))) return false;
      if (attempt < retry.attempts - 1) await sleep(retry.delayMs);
    }
  }
  // After a copy, both files existing is wasteful but loses nothing; the caller decides.
  return false;
}

function codeOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : '';
}
