import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Duration in seconds as ffprobe reads it; throws when ffprobe cannot read the file as media. */
export async function probeDuration(filePath: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', filePath]);
  const seconds = Number.parseFloat(stdout.trim());
  if (!Number.isFinite(seconds)) throw new Error(`ffprobe gave no duration for ${filePath}: ${stdout}`);
  return seconds;
}

/** A small real mp4 of `seconds` (solid colour, silent), for a stand-in OBS to save. */
export async function makeSampleVideo(file: string, seconds: number, colour = 'green'): Promise<void> {
  await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=${colour}:s=160x90:r=10:d=${seconds}`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', file]);
}
