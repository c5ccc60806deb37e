/**
 * A local CDN for fake LIVEs: each streamer's video is a real FLV stream that ffmpeg encodes in real time
 * (`-re`, lavfi colour source, libx264 or libx265), one solid colour per streamer so a clip's frames show
 * whose live they came from. URLs are signed the way TikTok's are (`expire=<unix>&sign=<token>`):
 * `expireUrls()` makes every URL handed out so far answer 403, as TikTok's CDN does once a URL is old.
 *
 * The HEVC variant is sent as MPEG-TS (see encoderArgs).
 *
 * Every ffmpeg this server starts is tracked by its pid and ended by that pid (close() ends them all).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spliceFlv, type FlvPhase } from './flv-splice.js';

export type FakeVideoCodec = 'h264' | 'hevc';

export interface FakeLiveVideo {
  /** An ffmpeg colour name or 0xRRGGBB. */
  readonly colour: string;
  readonly codec?: FakeVideoCodec;
  readonly width?: number;
  readonly height?: number;
  /** Video bitrate in kbit/s; unset lets the encoder choose (a solid colour needs very little). */
  readonly kbps?: number;
  /**
   * A pre-encoded FLV served looped in real time with `-c copy` instead of encoding per request (the
   * benchmark: serving ten 720p lives then costs almost nothing, so the figures are the reader's).
   * `colour`, `codec` and the size are then only what the test says the file holds.
   */
  readonly file?: string;
  /**
   * Epoch ms: from then on the picture is white for one second (each connection works out when that is in
   * its own stream time), so a test can see where a wall-clock moment lands in a clip.
   */
  readonly flashAt?: number;
  /**
   * The live changes shape mid-stream, as TikTok's does when a guest joins, a battle starts or the
   * streamer pauses: each connection plays these phases in turn (each encoded by its own real ffmpeg and
   * spliced into one FLV, new sequence headers at each switch; see flv-splice.ts), the last one until the
   * connection ends. `colour`, `codec` and the size above are then unused.
   */
  readonly phases?: readonly FlvPhase[];
}

export interface FlvServerStats {
  /** GET requests per streamer, any answer. */
  readonly requests: Map<string, number>;
  /** 403s answered for old or bad signatures. */
  readonly refused: number;
}

export interface FakeFlvServer {
  readonly port: number;
  /** A fresh signed URL of this streamer's FLV (what room info hands out). */
  url(streamer: string): string;
  addLive(streamer: string, video: FakeLiveVideo): void;
  /** Ends this streamer's open connections mid-live (the encoder dies, the socket closes): an EOF for the reader. */
  dropConnections(streamer: string): number;
  /** Every URL handed out so far answers 403 from now on. */
  expireUrls(streamer: string): void;
  /** Wall-clock ms at which each phase began on this streamer's newest connection (phased lives only). */
  phaseStartedAt(streamer: string): readonly number[];
  /** The live is over: open connections end and new requests get 404. */
  endLive(streamer: string): void;
  readonly stats: FlvServerStats;
  close(): Promise<void>;
}

interface Live {
  readonly video: FakeLiveVideo;
  /** Signatures still accepted; expireUrls() empties it. */
  readonly signs: Set<string>;
  readonly encoders: Set<ChildProcess>;
  isEnded: boolean;
  phaseStartedAt: readonly number[];
}

const GOP_FRAMES = 15;
const FPS = 15;

export async function startFakeFlvServer(): Promise<FakeFlvServer> {
  const lives = new Map<string, Live>();
  const encoders = new Set<ChildProcess>();
  const requests = new Map<string, number>();
  let refused = 0;

  const server = createServer((req, res) => serve(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  function serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const match = /^\/stage\/([^/]+)\.flv$/.exec(url.pathname);
    const streamer = match?.[1];
    if (!streamer) return void res.writeHead(404).end();
    requests.set(streamer, (requests.get(streamer) ?? 0) + 1);
    const live = lives.get(streamer);
    if (!live || live.isEnded) return void res.writeHead(404).end();
    const sign = url.searchParams.get('sign') ?? '';
    const expire = Number(url.searchParams.get('expire'));
    if (!live.signs.has(sign) || !(expire * 1000 > Date.now())) {
      refused++;
      return void res.writeHead(403, { 'content-type': 'text/plain' }).end('expired');
    }
    if (live.video.phases) return void servePhases(live, live.video.phases, res);
    const encoder = spawn('ffmpeg', encoderArgs(live.video), { stdio: ['ignore', 'pipe', 'ignore'] });
    encoders.add(encoder);
    live.encoders.add(encoder);
    const forget = () => {
      encoders.delete(encoder);
      live.encoders.delete(encoder);
    };
    encoder.on('exit', () => {
      forget();
      res.end();
    });
    encoder.on('error', () => {
      forget();
      res.destroy();
    });
    res.writeHead(200, { 'content-type': 'video/x-flv', connection: 'close' });
    encoder.stdout?.pipe(res);
    res.on('close', () => {
      if (encoder.exitCode === null && encoder.pid !== undefined) encoder.kill('SIGKILL');
    });
  }

  function servePhases(live: Live, phases: readonly FlvPhase[], res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'video/x-flv', connection: 'close' });
    // Phase encoders are tracked like any other while they run: dropConnections/endLive/close end them by pid.
    const track = {
      started(e: ChildProcess) {
        encoders.add(e);
        live.encoders.add(e);
      },
      ended(e: ChildProcess) {
        encoders.delete(e);
        live.encoders.delete(e);
      },
    };
    const splice = spliceFlv(phases, res, track, () => res.end());
    live.phaseStartedAt = splice.phaseStartedAt;
    res.on('close', () => splice.stop());
  }

  function endEncoders(set: Iterable<ChildProcess>): number {
    let n = 0;
    for (const encoder of [...set]) {
      if (encoder.exitCode === null && encoder.signalCode === null) {
        encoder.kill('SIGKILL');
        n++;
      }
    }
    return n;
  }

  function mustGet(streamer: string): Live {
    const live = lives.get(streamer);
    if (!live) throw new Error(`no fake live video for ${streamer}`);
    return live;
  }

  return {
    port,
    stats: {
      requests,
      get refused() {
        return refused;
      },
    },
    url(streamer) {
      const live = mustGet(streamer);
      const sign = randomBytes(8).toString('hex');
      live.signs.add(sign);
      const expire = Math.floor(Date.now() / 1000) + 3600;
      return `http://127.0.0.1:${port}/stage/${streamer}.flv?expire=${expire}&sign=${sign}`;
    },
    addLive(streamer, video) {
      lives.set(streamer, { video, signs: new Set(), encoders: new Set(), isEnded: false, phaseStartedAt: [] });
    },
    phaseStartedAt: (streamer) => mustGet(streamer).phaseStartedAt,
    dropConnections: (streamer) => endEncoders(mustGet(streamer).encoders),
    expireUrls(streamer) {
      mustGet(streamer).signs.clear();
    },
    endLive(streamer) {
      const live = mustGet(streamer);
      live.isEnded = true;
      endEncoders(live.encoders);
    },
    async close() {
      const exits = [...encoders].map((e) => new Promise<void>((resolve) => {
        if (e.exitCode !== null || e.signalCode !== null) resolve();
        else e.once('exit', () => resolve());
      }));
      endEncoders(encoders);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(exits);
    },
  };
}

/** A live-like FLV: real time, a keyframe every second, h264 (or HEVC) video and AAC audio. */
function encoderArgs(video: FakeLiveVideo): string[] {
  if (video.file !== undefined) {
    return ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', video.file, '-c', 'copy', '-f', 'flv', 'pipe:1'];
  }
  const size = `${video.width ?? 320}x${video.height ?? 180}`;
  const codec = video.codec === 'hevc'
    ? ['-c:v', 'libx265', '-preset', 'ultrafast', '-tune', 'zerolatency', '-x265-params', `keyint=${GOP_FRAMES}:min-keyint=${GOP_FRAMES}:log-level=none`]
    : ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(GOP_FRAMES)];
  const rate = video.kbps === undefined ? [] : ['-b:v', `${video.kbps}k`, '-maxrate', `${video.kbps}k`, '-bufsize', `${video.kbps * 2}k`];
  const flashFrom = video.flashAt === undefined ? undefined : ((video.flashAt - Date.now()) / 1000).toFixed(3);
  const flash = flashFrom === undefined ? [] : ['-vf', `drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(t,${flashFrom},${flashFrom}+1)'`];
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    '-re', '-f', 'lavfi', '-i', `color=c=${video.colour}:s=${size}:r=${FPS}`,
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    ...flash, ...codec, ...rate, '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k',
    // Debian's ffmpeg 5.1 cannot put HEVC in FLV (enhanced FLV came in 6.1), so the HEVC variant goes out
    // as MPEG-TS on the same URL; readers probe the container, as ffmpeg does.
    '-f', video.codec === 'hevc' ? 'mpegts' : 'flv', 'pipe:1',
  ];
}
