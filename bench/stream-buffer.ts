/**
 * What `stream` capture costs (issue 8): 10 lives (h264, 1 Mbps, 1280x720, AAC) sent at real time by a
 * local FLV server, buffered by the real bot (one `ffmpeg -c copy -f hls` per live).
 *
 *   stream_buffer_cpu_pct_per_live  CPU (utime+stime, /proc/<pid>/stat) of the bot and its children over
 *                                   20 s with the 10 lives buffered, less the same with them watched in
 *                                   `obs` capture (chat connected, nothing buffered), / 10; % of one core
 *   stream_buffer_mem_mb_per_live   the same difference of PSS (/proc/<pid>/smaps_rollup), / 10
 *   stream_clip_ready_ms            from the end of a clip's `after` window to the clip filed (median of 5
 *                                   manual clips, default window 20 s + 5 s; _max_ms the slowest of them)
 *   stream_buffer_disk_mb_per_live  bytes in the buffer folder per live once the 60 s buffer is full
 *
 * Processes, so that only the bot's side is counted:
 *   bench/run.ts (this file): the local FLV server and TikTok server, and the measurements from /proc
 *     -> this file as `bot`: the real bot (createBot) with its local Discord; its ffmpegs are its children
 * The FLV server does not encode: ONE 10 s clip is encoded once, then each request is served by
 * `ffmpeg -re -stream_loop -1 -c copy`, which costs almost nothing and is not the bot's child anyway.
 */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FlvShapeSplitter } from '../src/capture/stream/flv-shapes.js';
import { readPlaylist } from '../src/capture/stream/stream-buffer.js';
import { startFakeFlvServer } from '../tests/fakes/flv-server.js';
import { startFakeTikTok } from '../tests/fakes/tiktok-server.js';
import { endChild, forkBench, startBenchBot } from './flood.js';
import type { BenchResult } from './result.js';
import type { TikTokTransport } from '../src/monitor/types.js';

const SELF = fileURLToPath(import.meta.url);
const run = promisify(execFile);
const LIVES = 10;
const WINDOW_MS = 20_000;
const CLIPS = 5;
/** The bot's default buffer; the disk figure is read once it is full (plus a segment or two). */
const BUFFER_FULL_MS = 64_000;
const MIB = 1024 * 1024;

type Request =
  | { type: 'start'; transport: TikTokTransport; root: string; names: string[] }
  | { type: 'capture'; mode: 'obs' | 'stream' }
  | { type: 'gc' }
  | { type: 'clips'; names: string[] };
type Reply =
  | { type: 'live' }
  | { type: 'captureSet' }
  | { type: 'collected' }
  | { type: 'clipped'; readyMs: number[]; segmentWaitMs: number[]; cutMs: number[]; notes: string[] };

export async function benchStreamBuffer(): Promise<BenchResult[]> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bench-stream-'));
  const clip = path.join(root, 'live.flv');
  await encodeLiveClip(clip);
  const splitMs = await splitterCpuMsPerVideoSecond(clip);
  const flv = await startFakeFlvServer();
  const tiktok = await startFakeTikTok();
  const names = Array.from({ length: LIVES }, (_, i) => `bench.buffer${i}`);
  for (const name of names) {
    flv.addLive(name, { colour: 'testsrc2', file: clip, width: 1280, height: 720, kbps: 1000 });
    tiktok.addUser(name, { live: true });
    tiktok.setVideo(name, { url: () => flv.url(name), codec: 'h264' });
  }
  const child = forkBench(SELF, 'bot');
  const ticksPerSecond = clockTicks();
  try {
    const botPid = child.pid!;
    child.send({ type: 'start', transport: tiktok.transport, root, names } satisfies Request);
    await nextMessage(child, 'live');
    await sleep(3_000);
    const idleCpu = await cpuSplit(botPid, ticksPerSecond);
    const idlePss = await settledPss(child, botPid);

    child.send({ type: 'capture', mode: 'stream' } satisfies Request);
    await nextMessage(child, 'captureSet');
    const bufferDir = path.join(root, 'buffers');
    await waitUntilBuffering(bufferDir, names);
    const bufferingSince = Date.now();
    await sleep(5_000);
    const busyCpu = await cpuSplit(botPid, ticksPerSecond);
    const load = os.loadavg()[0] ?? 0;
    const busyPss = await settledPss(child, botPid);

    child.send({ type: 'clips', names: names.slice(0, CLIPS) } satisfies Request);
    const clipped = await nextMessage<Extract<Reply, { type: 'clipped' }>>(child, 'clipped');
    for (const note of clipped.notes) process.stderr.write(`stream bench: a clip came out short: ${note}\n`);

    await sleep(Math.max(0, bufferingSince + BUFFER_FULL_MS - Date.now()));
    const diskBytes = await segmentBytes(bufferDir);
    const busyBot = busyCpu.botMsPerS - idleCpu.botMsPerS;
    const busyFfmpeg = busyCpu.childrenMsPerS - idleCpu.childrenMsPerS;
    return [
      { name: 'stream_buffer_cpu_pct_per_live', value: round2((busyBot + busyFfmpeg) / 10 / LIVES), unit: '% of a core' },
      // The same CPU time per second of video (the lives are sent at real time), the bot's process and its
      // ffmpegs apart: CPU time, so a loaded machine stretches it far less than a wall-clock share.
      { name: 'stream_buffer_bot_cpu_ms_per_live_s', value: round2(busyBot / LIVES), unit: 'ms' },
      { name: 'stream_buffer_ffmpeg_cpu_ms_per_live_s', value: round2(busyFfmpeg / LIVES), unit: 'ms' },
      { name: 'stream_flv_split_cpu_ms_per_live_s', value: round2(splitMs), unit: 'ms' },
      { name: 'stream_bench_load_avg_1min', value: round2(load), unit: 'runnable tasks (2 cores)' },
      { name: 'stream_buffer_mem_mb_per_live', value: round2((busyPss - idlePss) / MIB / LIVES), unit: 'MiB' },
      { name: 'stream_clip_ready_ms', value: Math.round(median(clipped.readyMs)), unit: 'ms' },
      { name: 'stream_clip_ready_max_ms', value: Math.round(Math.max(...clipped.readyMs)), unit: 'ms' },
      // Where the ready time goes: waiting for ffmpeg to close the segment that holds the window's end (it
      // closes at the next keyframe), then the cut itself (link, ffmpeg -c copy, ffprobe, filing).
      { name: 'stream_clip_segment_wait_ms', value: Math.round(median(clipped.segmentWaitMs)), unit: 'ms' },
      { name: 'stream_clip_cut_ms', value: Math.round(median(clipped.cutMs)), unit: 'ms' },
      { name: 'stream_buffer_disk_mb_per_live', value: round2(diskBytes / MIB / LIVES), unit: 'MiB' },
    ];
  } finally {
    await endChild(child);
    await flv.close();
    await tiktok.close();
    await rm(root, { recursive: true, force: true });
  }
}

/** A 10 s live-like clip: moving 1280x720 picture, h264 at 1 Mbps, a keyframe every 2 s, AAC audio. */
async function encodeLiveClip(file: string): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=s=1280x720:r=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', '10', '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '1000k', '-maxrate', '1000k', '-bufsize', '2000k',
    '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', file]);
}

/**
 * The FLV splitter alone (flv-shapes.ts), in this process: CPU ms per second of video, the 10 s clip pushed
 * through it in 4 KiB reads (a socket's), 30 times over; CPU time, so the machine's load hardly moves it.
 */
async function splitterCpuMsPerVideoSecond(file: string): Promise<number> {
  const bytes = await readFile(file);
  const passes = 30;
  const started = process.cpuUsage();
  for (let pass = 0; pass < passes; pass += 1) {
    const splitter = new FlvShapeSplitter();
    for (let i = 0; i < bytes.length; i += 4_096) splitter.push(bytes.subarray(i, i + 4_096));
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000 / (passes * 10);
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** The bot and every process whose parent it is (its ffmpegs). */
async function processTree(botPid: number): Promise<number[]> {
  const pids = [botPid];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === botPid) pids.push(Number(name));
  }
  return pids;
}

/** utime + stime in ticks, by pid. */
async function cpuTicks(pids: readonly number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (stat === '') continue;
    // Fields after "(comm)": state is [0], utime [11], stime [12].
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(pid, Number(fields[11]) + Number(fields[12]));
  }
  return out;
}

/** CPU of the bot's tree over WINDOW_MS, in ms per wall second: the bot's own process and its children apart. */
interface CpuSplit {
  readonly botMsPerS: number;
  readonly childrenMsPerS: number;
}

async function cpuSplit(botPid: number, ticksPerSecond: number): Promise<CpuSplit> {
  const before = await cpuTicks(await processTree(botPid));
  const started = Date.now();
  await sleep(WINDOW_MS);
  const after = await cpuTicks(await processTree(botPid));
  const seconds = (Date.now() - started) / 1000;
  let bot = 0;
  let children = 0;
  // A child that ended inside the window is not counted (none should: one run per live while it lasts).
  for (const [pid, value] of after) {
    const ticks = value - (before.get(pid) ?? 0);
    if (pid === botPid) bot += ticks;
    else children += ticks;
  }
  const msPerS = (ticks: number) => (ticks / ticksPerSecond) * 1000 / seconds;
  return { botMsPerS: msPerS(bot), childrenMsPerS: msPerS(children) };
}

/** PSS of the bot's tree in bytes, after a full GC in the bot. */
async function settledPss(child: ChildProcess, botPid: number): Promise<number> {
  child.send({ type: 'gc' } satisfies Request);
  await nextMessage(child, 'collected');
  let bytes = 0;
  for (const pid of await processTree(botPid)) {
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
    const kb = /^Pss:\s+(\d+) kB/m.exec(rollup)?.[1];
    if (kb !== undefined) bytes += Number(kb) * 1024;
  }
  return bytes;
}

/** Every live has at least one segment in its buffer (or 60 s pass). */
async function waitUntilBuffering(bufferDir: string, names: readonly string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const counts = await Promise.all(names.map(async (name) => {
      const runs = await readdir(path.join(bufferDir, name)).catch(() => [] as string[]);
      const lists = await Promise.all(runs.map((r) => readPlaylist(path.join(bufferDir, name, r))));
      return lists.reduce((n, l) => n + l.length, 0);
    }));
    if (counts.every((n) => n > 0)) return;
    if (Date.now() > deadline) throw new Error(`buffers not all running after 60 s: ${counts.join(', ')} segments`);
    await sleep(250);
  }
}

/** Bytes of the lives' folders (segments and playlists), not the pid file or cuts in progress. */
async function segmentBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (entry.name === '.cuts') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await segmentBytes(full);
    else if (entry.isFile()) total += (await stat(full).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

function nextMessage<T extends Reply>(child: ChildProcess, type: T['type']): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: Reply) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as T);
    };
    const onExit = (code: number | null) => reject(new Error(`stream bench bot exited (${code}) before ${type}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round2 = (n: number) => Math.round(n * 100) / 100;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

// ---------------------------------------------------------------------------------------------------
// The bot process

/**
 * When the segment holding `to` (the window's end, within half a segment as the cut takes it) was closed:
 * its file's last write, ffmpeg's rename of the finished segment.
 */
async function segmentClosedAt(streamDir: string, to: number): Promise<number | undefined> {
  const runs = (await readdir(streamDir).catch(() => [] as string[])).filter((r) => /^\d+$/.test(r)).sort((a, b) => Number(a) - Number(b));
  for (const run of runs) {
    for (const segment of await readPlaylist(path.join(streamDir, run))) {
      if (segment.start.getTime() + segment.durationSeconds * 1000 < to - segment.durationSeconds * 500) continue;
      return (await stat(segment.path).catch(() => undefined))?.mtimeMs;
    }
  }
  return undefined;
}

async function botChild(request: Extract<Request, { type: 'start' }>): Promise<void> {
  const { root, names } = request;
  const { bot, discord, close } = await startBenchBot(request.transport, {
    root,
    env: { STREAM_BUFFER_DIR: path.join(root, 'buffers'), MAX_STREAM_BUFFERS: String(LIVES) },
  });
  const guildId = discord.guildId;
  for (const name of names) await bot.settings.addStream(guildId, name, discord.channels.general, 'bench');
  while (!names.every((n) => bot.monitor.state(n)?.name === 'live')) await sleep(100);
  const stop = () => void close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  process.on('message', (message: Request) => {
    void handle(message).catch((err: unknown) => {
      process.stderr.write(`stream bench bot failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
  });
  process.send!({ type: 'live' } satisfies Reply);

  async function handle(message: Request): Promise<void> {
    if (message.type === 'capture') {
      await bot.settings.setCaptureMode(guildId, message.mode);
      process.send!({ type: 'captureSet' } satisfies Reply);
    } else if (message.type === 'gc') {
      await sleep(1_000);
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      process.send!({ type: 'collected' } satisfies Reply);
    } else if (message.type === 'clips') {
      // "Filed" is the clip's save event (right after the file lands in CLIPS_DIR, before the alert is queued).
      const filedAt = new Map<string, number>();
      const add = bot.events.add.bind(bot.events);
      bot.events.add = (eventGuild, event) => {
        if (event.kind === 'save' && event.stream !== undefined) filedAt.set(event.stream, Date.now());
        add(eventGuild, event);
      };
      // Staggered, so the window ends fall at different points of the 2 s segments.
      const afterMs = bot.settings.get(guildId).windowAfterSeconds * 1000;
      const results = await Promise.all(message.names.map(async (streamer, i) => {
        await sleep(i * 1_300);
        const at = new Date();
        const outcome = await bot.clips.clipNow({ guildId, streamer, chatter: `bench${i}`, keyword: 'manual', message: 'bench', at, isManual: true });
        const to = at.getTime() + afterMs;
        const filed = filedAt.get(streamer) ?? Date.now();
        const closedAt = await segmentClosedAt(path.join(root, 'buffers', streamer), to);
        const segmentWaitMs = closedAt === undefined ? Number.NaN : Math.max(0, closedAt - to);
        return { readyMs: filed - to, segmentWaitMs, cutMs: filed - Math.max(to, closedAt ?? to), note: outcome.captureNote };
      }));
      process.send!({
        type: 'clipped',
        readyMs: results.map((r) => r.readyMs),
        segmentWaitMs: results.map((r) => r.segmentWaitMs),
        cutMs: results.map((r) => r.cutMs),
        notes: results.flatMap((r) => (r.note ? [r.note] : [])),
      } satisfies Reply);
    }
  }
}

if (process.argv[1] === SELF && process.argv[2] === 'bot') {
  process.once('message', (request: Request) => {
    if (request.type !== 'start') return;
    void botChild(request).catch((err: unknown) => {
      process.stderr.write(`stream bench bot failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
  });
}

/** `npx tsx bench/stream-buffer.ts`: this bench alone. */
if (process.argv[1] === SELF && process.argv[2] === undefined) {
  void benchStreamBuffer().then((results) => {
    for (const { name, value, unit } of results) process.stdout.write(`${name}: ${value} ${unit}\n`);
  });
}
