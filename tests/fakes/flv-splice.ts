/**
 * One FLV connection whose video changes shape mid-live, the way TikTok's does when a guest joins, a battle
 * starts or the streamer pauses: the picture switches size (a new AVC sequence header, i.e. new SPS/PPS, in
 * the middle of the same FLV), or only audio (or only video) flows for a while.
 *
 * Each phase is encoded by its own real ffmpeg (in real time, `-re`); their FLV outputs are spliced into one
 * FLV as TikTok's edge sends it: one FLV header (audio and video flagged), one onMetaData, then every tag of
 * every phase with its timestamp moved onto one running clock. Each phase starts with its own sequence
 * headers, exactly what a reader meets at a real switch. FLV layout: https://rtmp.veriskope.com/pdf/video_file_format_spec_v10.pdf
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';

export interface FlvPhase {
  /** How long this phase runs; the last phase runs until the connection ends whatever it says. */
  readonly seconds: number;
  /** What the phase carries: both (default), audio only (a pause), or video only (muted). */
  readonly tracks?: 'both' | 'audio' | 'video';
  readonly width?: number;
  readonly height?: number;
  /** An ffmpeg colour name or 0xRRGGBB. */
  readonly colour?: string;
}

const FPS = 15;
const GOP_FRAMES = 15;
const TAG_HEADER = 11;
const SCRIPT_TAG = 18;

/** One encoder's FLV: everything after the file header, as tags. */
class FlvTagReader {
  private pending = Buffer.alloc(0);
  private isHeaderSkipped = false;

  constructor(private readonly onTag: (tag: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    if (!this.isHeaderSkipped) {
      if (this.pending.length < 13) return;
      // 9-byte header ('FLV', version, flags, header size) and PreviousTagSize0.
      this.pending = this.pending.subarray(this.pending.readUInt32BE(5) + 4);
      this.isHeaderSkipped = true;
    }
    while (this.pending.length >= TAG_HEADER) {
      const dataSize = this.pending.readUIntBE(1, 3);
      const total = TAG_HEADER + dataSize + 4;
      if (this.pending.length < total) return;
      this.onTag(Buffer.from(this.pending.subarray(0, total)));
      this.pending = this.pending.subarray(total);
    }
  }
}

function tagTimestamp(tag: Buffer): number {
  return (tag.readUIntBE(4, 3) | (tag.readUInt8(7) << 24)) >>> 0;
}

function setTagTimestamp(tag: Buffer, ms: number): void {
  tag.writeUIntBE(ms & 0xffffff, 4, 3);
  tag.writeUInt8((ms >>> 24) & 0xff, 7);
}

/** onMetaData's `duration` (an AMF number: marker 0, 8-byte double after the key) set to 0, as a live's is. */
function zeroDuration(tag: Buffer): void {
  const key = tag.indexOf('duration', TAG_HEADER);
  if (key !== -1 && tag.length >= key + 8 + 9 && tag.readUInt8(key + 8) === 0) tag.writeDoubleBE(0, key + 9);
}

function phaseArgs(phase: FlvPhase, isLast: boolean): string[] {
  const tracks = phase.tracks ?? 'both';
  const size = `${phase.width ?? 320}x${phase.height ?? 180}`;
  const duration = isLast ? [] : ['-t', String(phase.seconds)];
  const video = tracks === 'audio' ? [] : ['-re', '-f', 'lavfi', '-i', `color=c=${phase.colour ?? 'gray'}:s=${size}:r=${FPS}`];
  const audio = tracks === 'video' ? [] : ['-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'];
  const videoCodec = tracks === 'audio' ? [] : ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(GOP_FRAMES), '-pix_fmt', 'yuv420p'];
  const audioCodec = tracks === 'video' ? [] : ['-c:a', 'aac', '-b:a', '64k'];
  return ['-hide_banner', '-loglevel', 'error', '-nostdin', ...video, ...audio, ...duration, ...videoCodec, ...audioCodec, '-f', 'flv', 'pipe:1'];
}

export interface SplicedFlv {
  /** Wall-clock ms at which each phase's first tag went out (index = phase), filled in as they start. */
  readonly phaseStartedAt: number[];
  /** Ends the current encoder (by its pid) and writes nothing more. */
  stop(): void;
}

/**
 * Writes the spliced FLV of `phases` to `out` (an HTTP response), running one ffmpeg per phase in turn.
 * Each encoder is handed to `track.started` when it starts and `track.ended` when it is gone, so the server
 * can end them by pid; `onEnd` runs once when the last phase ends or an encoder dies.
 */
export function spliceFlv(
  phases: readonly FlvPhase[],
  out: Writable,
  track: { started(encoder: ChildProcess): void; ended(encoder: ChildProcess): void },
  onEnd: () => void,
): SplicedFlv {
  const phaseStartedAt: number[] = [];
  const startedAt = Date.now();
  let current: ChildProcess | undefined;
  let isStopped = false;
  let lastTimestamp = -1;
  let isScriptSent = false;
  // Both tracks flagged, as TikTok's header always says: a reader must not drop a track it has not met yet.
  out.write(Buffer.from([0x46, 0x4c, 0x56, 0x01, 0x05, 0, 0, 0, 9, 0, 0, 0, 0]));

  const runPhase = (index: number): void => {
    const phase = phases[index];
    if (!phase || isStopped) return finish();
    const isLast = index === phases.length - 1;
    const encoder = spawn('ffmpeg', phaseArgs(phase, isLast), { stdio: ['ignore', 'pipe', 'ignore'] });
    current = encoder;
    track.started(encoder);
    // The phase's own clock starts at 0: it continues the connection's clock, never earlier than the wall
    // time already spent (the encoder took a moment to start, as a real switch does).
    let offset: number | undefined;
    const reader = new FlvTagReader((tag) => {
      if (isStopped) return;
      if (tag.readUInt8(0) === SCRIPT_TAG) {
        if (isScriptSent) return; // one onMetaData per connection, like the edge
        isScriptSent = true;
        // A live's metadata has no duration, and sits at time 0 (ffmpeg reads a timed one as subtitles).
        zeroDuration(tag);
        setTagTimestamp(tag, 0);
        out.write(tag);
        return;
      }
      if (offset === undefined) {
        const floor = index === 0 ? 0 : Math.max(lastTimestamp + Math.round(1000 / FPS), Date.now() - startedAt);
        offset = floor - tagTimestamp(tag);
        phaseStartedAt[index] = Date.now();
      }
      const ms = Math.max(0, tagTimestamp(tag) + offset);
      setTagTimestamp(tag, ms);
      lastTimestamp = Math.max(lastTimestamp, ms);
      out.write(tag);
    });
    encoder.stdout?.on('data', (chunk: Buffer) => reader.push(chunk));
    encoder.once('error', () => {
      track.ended(encoder);
      finish();
    });
    encoder.once('close', (code) => {
      track.ended(encoder);
      if (isStopped || code !== 0) return finish();
      runPhase(index + 1);
    });
  };

  let isEnded = false;
  const finish = (): void => {
    if (isEnded) return;
    isEnded = true;
    onEnd();
  };

  runPhase(0);
  return {
    phaseStartedAt,
    stop() {
      isStopped = true;
      const encoder = current;
      if (encoder?.pid !== undefined && encoder.exitCode === null && encoder.signalCode === null) encoder.kill('SIGKILL');
    },
  };
}
