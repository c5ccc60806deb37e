import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWithStandInObs, waitFor, type StandInObsHarness } from '../support/bot-harness.js';

const run = promisify(execFile);

/**
 * A bot stopped (SIGTERM) while it re-encodes a clip for Discord's upload limit: the re-encode's ffmpeg
 * ends with it instead of running on (or holding the stop up) for minutes, and the alert stays queued.
 */
describe.runIf(process.platform === 'linux')('stopping the bot during a re-encode', () => {
  let h: StandInObsHarness;
  let dir: string;
  let bigClip: string;
  const pidFile = () => path.join(dir, 'encode.pid');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fit-shutdown-'));
    // ffmpeg as installed, except that the encode (the run with -c:v) records its pid and hangs, as a
    // long re-encode of a big clip on a busy machine would. ffprobe is the real one beside it.
    const tools = path.join(dir, 'tools');
    await run('mkdir', ['-p', tools]);
    const { stdout: realFfmpeg } = await run('sh', ['-c', 'command -v ffmpeg']);
    const { stdout: realFfprobe } = await run('sh', ['-c', 'command -v ffprobe']);
    const ffmpeg = path.join(tools, 'ffmpeg');
    await writeFile(
      ffmpeg,
      `#!/bin/sh\ncase " $* " in *" -c:v "*) echo $$ > '${pidFile()}'; exec sleep 600;; esac\nexec '${realFfmpeg.trim()}' "$@"\n`,
    );
    await chmod(ffmpeg, 0o755);
    await symlink(realFfprobe.trim(), path.join(tools, 'ffprobe'));
    // Noise does not compress: about 12 MiB for 4 s, over the default 10 MiB upload limit.
    bigClip = path.join(dir, 'big.mp4');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'nullsrc=s=640x360:d=4,geq=random(1)*255:128:128', '-f', 'lavfi', '-i', 'sine=d=4',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '24M', '-minrate', '24M', '-maxrate', '24M', '-bufsize', '24M', '-c:a', 'aac', '-shortest', bigClip]);
    h = await startWithStandInObs({ env: { FFMPEG_PATH: ffmpeg }, liveStreams: ['fit.user'], keywords: ['clip it'], cooldownSeconds: 0 });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ends the re-encode ffmpeg by its pid and keeps the alert queued', async () => {
    const save = h.obs.save.bind(h.obs);
    h.obs.save = async (onSaved) => save(async (replay) => {
      await copyFile(bigClip, replay.path);
      return onSaved(replay);
    });
    h.tiktok.sendChat('fit.user', { handle: 'big.clip', text: 'clip it' });
    await waitFor(() => existsSync(pidFile()), 30_000, () => 'the re-encode to start');
    const pid = Number((await readFile(pidFile(), 'utf8')).trim());
    expect(existsSync(`/proc/${pid}`)).toBe(true);

    // The test's own timeout is far shorter than the 10 minutes the stand-in encode would run.
    await h.bot.stop();
    await waitFor(() => !existsSync(`/proc/${pid}`), 5_000, () => `ffmpeg ${pid} to end`);
    expect(h.bot.delivery.pendingCount).toBe(1);
    // Not posted without its file either: it waits for the next start.
    expect(h.discord.channelMessages.filter((m) => m.files.length > 0 || JSON.stringify(m.embeds).includes('big'))).toEqual([]);
  }, 60_000);
});
