/**
 * The whole-process version of stream-capture-leftovers.test.ts: the real bot runs in a process of its own
 * (tests/support/bot-process.ts, the way src/main.ts runs it) with a live in `stream` capture against the
 * local TikTok, FLV and Discord servers. Killed with SIGKILL, it leaves no ffmpeg behind: the bot reads the
 * live's video itself and feeds it to ffmpeg's stdin, so ffmpeg meets the end of its input and finishes on
 * its own. (One that hangs instead is ended at the next start by its recorded pid:
 * stream-capture-leftovers.test.ts.) Started again, the bot resumes the buffer and does not touch an ffmpeg
 * of someone else with a look-alike command line writing into the same buffer folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PID_FILE_NAME } from '../../src/capture/stream/ffmpeg-pids.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord-server.js';
import { startFakeFlvServer, type FakeFlvServer } from '../fakes/flv-server.js';
import { startFakeTikTok, type FakeTikTok } from '../fakes/tiktok-server.js';
import { BOT_TOKEN, FAST_TUNING, waitFor } from '../support/bot-harness.js';
import { killLeftovers, startBotChild, botChildEnv } from '../support/bot-child.js';
import type { BotOverrides } from '../../src/app.js';

const STREAMER = 'kilo.live';

/** The other processes this test started (the bots are bot-child.ts's), ended by pid whatever happened. */
const started: ChildProcess[] = [];
/** The killed bot's ffmpegs: if the test fails before the next start ends them, afterAll does (by pid). */
const orphans: number[] = [];

/** Synchronous, so waitFor can poll it; a zombie (exited, not yet reaped) is not running. */
function isRunning(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function cmdline(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ');
}

describe('a bot killed with SIGKILL, started again', () => {
  let discord: FakeDiscord;
  let tiktok: FakeTikTok;
  let flv: FakeFlvServer;
  let dir: string;
  let bufferDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'stream-sigkill-'));
    bufferDir = path.join(dir, 'buffers');
    discord = await startFakeDiscord({ token: BOT_TOKEN });
    tiktok = await startFakeTikTok();
    flv = await startFakeFlvServer();
    flv.addLive(STREAMER, { colour: 'green', codec: 'h264' });
    tiktok.addUser(STREAMER, { live: true });
    tiktok.setVideo(STREAMER, { url: () => flv.url(STREAMER), codec: 'h264' });
    env = {
      ...botChildEnv({ dir, token: BOT_TOKEN, guildId: discord.guildId, databaseUrl: `sqlite://${path.join(dir, 'bot.sqlite')}` }),
      STREAM_BUFFER_DIR: bufferDir,
      CLIP_BOT_TEST_OVERRIDES: JSON.stringify({
        adapters: {
          discordApiUrl: discord.apiUrl,
          tiktokTransport: { ...tiktok.transport, requestTimeoutMs: 2_000, operationTimeoutMs: 5_000, heartbeatIntervalMs: 1_000 },
        },
        tuning: { ...FAST_TUNING, streamBuffer: { bufferSeconds: 10, segmentSeconds: 1 } },
      } satisfies BotOverrides),
    };
  }, 30_000);

  afterAll(async () => {
    for (const pid of orphans) if (isRunning(pid) && (await cmdline(pid)).includes(bufferDir)) process.kill(pid, 'SIGKILL');
    await killLeftovers();
    for (const child of started) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await flv?.close();
    await tiktok?.close();
    await discord?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Starts the bot process and resolves once it says it is ready (commands registered, streams resumed). */
  const startBot = () => startBotChild({ cwd: dir, env, timeoutMs: 30_000 });

  /** The ffmpeg the bot recorded and that is running and writing this live's buffer. */
  async function recordedFfmpeg(): Promise<number> {
    let found: number | undefined;
    const deadline = Date.now() + 20_000;
    while (found === undefined) {
      if (Date.now() > deadline) throw new Error('the bot never recorded a running buffer ffmpeg');
      const pids = JSON.parse(await readFile(path.join(bufferDir, PID_FILE_NAME), 'utf8').catch(() => '[]')) as number[];
      for (const pid of pids) {
        const line = await cmdline(pid);
        if (isRunning(pid) && line.startsWith('ffmpeg') && line.includes(path.join(bufferDir, STREAMER))) found = pid;
      }
      if (found === undefined) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return found;
  }

  it('leaves no ffmpeg running, and leaves a look-alike ffmpeg alone at the next start', async () => {
    const first = await startBot();
    await discord.interact({ command: 'settings', subcommand: 'capture', options: { mode: 'stream' } }).final(15_000);
    await discord.interact({ command: 'stream', subcommand: 'add', options: { username: STREAMER } }).final(15_000);
    const orphan = await recordedFfmpeg();
    orphans.push(orphan);

    // Someone else's ffmpeg, with a command line like ours and writing into the same buffer folder.
    await mkdir(path.join(bufferDir, 'not-the-bots'), { recursive: true });
    const stranger = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi', '-i', 'color=c=red:s=64x64:r=5',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'hls', '-hls_time', '1', '-hls_flags', 'delete_segments',
      path.join(bufferDir, 'not-the-bots', 'index.m3u8')], { stdio: 'ignore' });
    started.push(stranger);

    await first.kill();
    // Its input (the bot's pipe) is closed: ffmpeg writes its last segment and exits by itself.
    await waitFor(() => !isRunning(orphan), 15_000, () => `the killed bot's ffmpeg ${orphan} to end with its input`);

    const second = await startBot();
    expect(isRunning(stranger.pid!), 'the look-alike ffmpeg is not the bot\'s').toBe(true);
    // The stream is resumed with a buffer of its own again.
    const fresh = await recordedFfmpeg();
    orphans.push(fresh); // ended in afterAll should the test fail before the bot's own stop
    expect(fresh).not.toBe(orphan);

    expect(await second.stop()).toBe(0);
    expect(isRunning(fresh), 'a clean stop ends the buffer ffmpeg').toBe(false);
    expect(isRunning(stranger.pid!)).toBe(true);
  }, 120_000);
});
