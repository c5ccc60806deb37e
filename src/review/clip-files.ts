import { constants as fsConstants } from 'node:fs';
import { access, copyFile, link, mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AppError } from '../util/errors.js';

const run = promisify(execFile);

/** The folder a streamer's discarded clips move to: `CLIPS_DIR/{streamer}/discarded/`. */
export const DISCARDED_FOLDER = 'discarded';

/**
 * The first free path for `fileName` in `dir` (`name.mp4`, then `name (2).mp4`…). Only a guess until the
 * file is placed there: placeFile claims the name atomically and moves on to the next one if it was taken.
 */
export async function freePath(dir: string, fileName: string): Promise<string> {
  const { name, ext } = splitName(fileName);
  for (let n = 1; n < 1_000; n += 1) {
    const candidate = path.join(dir, n === 1 ? fileName : `${name} (${n})${ext}`);
    if (!(await exists(candidate))) return candidate;
  }
  throw new AppError('CLIP_FILE_FAILED', `no free name for ${fileName} in ${dir}`);
}

/**
 * Moves `source` to `target` without ever overwriting: a hard link claims the name (EEXIST when taken),
 * or an exclusive copy where links fail, then the old name goes. A move already done (source gone, target
 * there) is fine: a press retried after a crash. Resolves with where the file is now.
 */
export async function moveFile(source: string, target: string): Promise<string> {
  if (!(await exists(source))) {
    if (await exists(target)) return target;
    throw new AppError('CLIP_FILE_FAILED', `${path.basename(source)} is not where the bot filed it (${path.dirname(source)})`);
  }
  await mkdir(path.dirname(target), { recursive: true });
  let placed = target;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await link(source, placed);
      break;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EEXIST') {
        placed = await freePath(path.dirname(target), path.basename(target));
        if (attempt > 20) throw err;
        continue;
      }
      // Another file system or no hard links there: an exclusive copy never overwrites either.
      await copyFile(source, placed, fsConstants.COPYFILE_EXCL);
      break;
    }
  }
  await unlink(source);
  return placed;
}

/** Where a file of the streamer's folder goes on Discard, and back on Restore. */
export function discardedDirOf(clipPath: string): string {
  return path.join(path.dirname(clipPath), DISCARDED_FOLDER);
}

export function restoredDirOf(discardedPath: string): string {
  return path.dirname(path.dirname(discardedPath));
}

export async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

function splitName(fileName: string): { name: string; ext: string } {
  const match = /^(.*?)((?:\.chat\.srt|\.original\.mp4|\.[^.]+))$/i.exec(fileName);
  return match ? { name: match[1]!, ext: match[2]! } : { name: fileName, ext: '' };
}

/** A video's length in seconds by ffprobe; rejects when it cannot be read as media. */
export async function probeSeconds(ffprobePath: string, file: string): Promise<number> {
  const { stdout } = await run(ffprobePath, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], {
    timeout: 30_000,
    killSignal: 'SIGKILL',
  });
  const seconds = Number.parseFloat(stdout.trim());
  if (!Number.isFinite(seconds) || seconds <= 0) throw new AppError('FFMPEG_FAILED', `ffprobe found no duration in ${path.basename(file)}`);
  return seconds;
}
