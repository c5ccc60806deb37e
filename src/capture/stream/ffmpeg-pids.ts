/**
 * The ffmpeg processes stream capture started, on disk (`STREAM_BUFFER_DIR/ffmpeg-pids.json`), so a bot
 * killed with SIGKILL or a power cut leaves nothing running after its next start: `endLeftovers()` ends each
 * recorded pid that still runs, but only after /proc says it really is an ffmpeg writing into our buffer
 * folder (a pid can be reused by anything once ours died). Never by name.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, sep } from 'node:path';

export const PID_FILE_NAME = 'ffmpeg-pids.json';

export class FfmpegPidFile {
  private readonly pids = new Set<number>();
  private readonly path: string;
  /** What a previous run recorded, kept in the file until endLeftovers() has dealt with it. */
  private leftovers: number[];

  constructor(private readonly bufferDir: string) {
    this.path = join(bufferDir, PID_FILE_NAME);
    // Read now, so a buffer started before endLeftovers() runs cannot write the old pids out of the file.
    this.leftovers = readPids(this.path);
  }

  /** Written synchronously: the record must be on disk before the process can outlive us. */
  add(pid: number): void {
    this.pids.add(pid);
    this.write();
  }

  remove(pid: number): void {
    if (this.pids.delete(pid)) this.write();
  }

  /**
   * Ends what a previous run left behind and forgets the old list. Returns the pids it ended. Where /proc
   * does not exist (not Linux) nothing can be verified, so nothing is ended.
   */
  async endLeftovers(): Promise<number[]> {
    const ended: number[] = [];
    const leftovers = this.leftovers;
    this.leftovers = [];
    for (const pid of leftovers) {
      if (this.pids.has(pid)) continue;
      if (!(await this.isOurFfmpeg(pid))) continue;
      try {
        process.kill(pid, 'SIGKILL');
        ended.push(pid);
      } catch {
        // Gone between the check and the kill: nothing to end.
      }
    }
    this.write();
    return ended;
  }

  private async isOurFfmpeg(pid: number): Promise<boolean> {
    try {
      const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      // Inside our folder, not a sibling that merely starts with its name (`…-buffers2`).
      return /ffmpeg/.test(args[0] ?? '') && args.some((a) => a.startsWith(this.bufferDir + sep));
    } catch {
      return false;
    }
  }

  private write(): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify([...new Set([...this.leftovers, ...this.pids])]));
    renameSync(tmp, this.path);
  }
}

function readPids(path: string): number[] {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return Array.isArray(parsed) ? parsed.filter((p): p is number => Number.isInteger(p) && p > 1) : [];
  } catch {
    return [];
  }
}
