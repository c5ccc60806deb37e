/**
 * Splits a live FLV into runs of one "shape" each. TikTok switches the picture inside one FLV when a guest
 * joins, a battle starts or the streamer pauses: a new AVC (or HEVC) sequence header with other SPS/PPS,
 * often another size, in the middle of the stream. ffmpeg 5.1's `-c copy` to MPEG-TS keeps writing the first
 * SPS/PPS before every keyframe (h264_mp4toannexb ignores the new one), so every segment after the switch is
 * undecodable. So the bot reads the FLV itself and gives each shape its own ffmpeg: at a switch the current
 * one is ended and a new one starts with the FLV header, the metadata and the new sequence headers.
 *
 * A run also restarts when audio shows up in a run that started without it (a live that was muted when we
 * joined): ffmpeg fixes its streams when it starts and would drop audio arriving later.
 *
 * Input that is not FLV (TikTok's HEVC as MPEG-TS in our tests) passes through as one run.
 * FLV layout: https://veovera.org/docs/legacy/video-file-format-v10-1-spec.pdf (tags, AVC/AAC packet types).
 */
import { createHash } from 'node:crypto';

export interface FlvShape {
  /** `avc`, `hevc`, an enhanced-FLV FourCC, `codec-N`, or `unknown` for input that is not FLV. */
  readonly videoCodec: string;
  /** Hash of the video sequence header (SPS/PPS): another value is another shape. */
  readonly videoConfig: string;
  /** Hash of the audio sequence header, or `none`. */
  readonly audioConfig: string;
}

export type FlvEvent =
  /** A new run begins: start a new ffmpeg and write `prefix` to it first. `reason` is why (first run: `start`). */
  | { readonly kind: 'run'; readonly shape: FlvShape; readonly prefix: Buffer; readonly reason: string }
  /** Bytes for the current run. */
  | { readonly kind: 'data'; readonly bytes: Buffer };

const TAG_HEADER = 11;
/** A tag's header and the body bytes that say what it is (codec, packet type, enhanced FLV's FourCC). */
const HEAD = TAG_HEADER + 5;
const AUDIO = 8;
const VIDEO = 9;
const SCRIPT = 18;
/** ffmpeg probes its input for 2 s (-analyzeduration): audio first seen later than this is dropped. */
const AUDIO_PROBE_MS = 1_500;

export class FlvShapeSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private mode: 'sniffing' | 'flv' | 'passthrough' = 'sniffing';
  private fileHeader: Buffer = Buffer.alloc(0);
  private metadata: Buffer | undefined;
  private audioHeader: Buffer | undefined;
  private shape: FlvShape | undefined;
  private runStartedAtMs = 0;
  private hasRunAudio = false;
  /** Stream time (ms) of the last video tag: a pause shows as a gap here. */
  lastVideoTagMs: number | undefined;
  /** Wall-clock ms of the last video tag (an audio-only pause is not a stalled pull). */
  lastVideoAt: number | undefined;

  /** Whether the input is FLV (known once the first run starts). */
  get isFlv(): boolean {
    return this.mode === 'flv';
  }

  /**
   * The events `chunk` makes. Most of a live is frames passed through as they are: only each tag's first
   * bytes are read, and the data events are slices of `chunk` itself (no copy, one slice for a run of
   * passed tags). Only the few tags the splitter keeps or decides on (metadata, sequence headers, the
   * keyframe a restart begins at) are gathered whole.
   */
  push(chunk: Buffer): FlvEvent[] {
    if (this.mode === 'passthrough') return [{ kind: 'data', bytes: chunk }];
    if (this.mode === 'sniffing') {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      if (this.pending.length < 13) return [];
      if (this.pending.toString('latin1', 0, 3) !== 'FLV') {
        this.mode = 'passthrough';
        this.lastVideoAt = Date.now();
        const bytes = this.pending;
        this.pending = Buffer.alloc(0);
        const shape = { videoCodec: 'unknown', videoConfig: 'unknown', audioConfig: 'unknown' };
        return [{ kind: 'run', shape, prefix: Buffer.alloc(0), reason: 'start' }, { kind: 'data', bytes }];
      }
      const headerSize = this.pending.readUInt32BE(5);
      if (this.pending.length < headerSize + 4) return [];
      // Both tracks flagged: the header of the live may say so only for what it had when it started.
      this.fileHeader = Buffer.concat([this.pending.subarray(0, headerSize), Buffer.alloc(4)]);
      this.fileHeader.writeUInt8(0x05, 4);
      chunk = this.pending.subarray(headerSize + 4);
      this.pending = Buffer.alloc(0);
      this.mode = 'flv';
    }
    return this.pushTags(chunk);
  }

  /** Bytes of the tag being passed through or dropped that are still to come, after its head. */
  private rest = 0;
  private isRestPassed = false;
  /** The tag being gathered whole: its pieces so far and how many bytes it still lacks. */
  private held: Buffer[] = [];
  private heldMissing = 0;

  private pushTags(chunk: Buffer): FlvEvent[] {
    const events: FlvEvent[] = [];
    const out: Buffer[] = [];
    /** Start in `chunk` of the passed bytes not yet in `out`, or -1. */
    let passFrom = -1;
    const endPass = (at: number) => {
      if (passFrom >= 0 && at > passFrom) out.push(chunk.subarray(passFrom, at));
      passFrom = -1;
    };
    const flush = () => {
      for (const bytes of out.splice(0)) events.push({ kind: 'data', bytes });
    };
    let i = 0;
    while (i < chunk.length) {
      if (this.rest > 0) {
        const n = Math.min(this.rest, chunk.length - i);
        if (this.isRestPassed && passFrom < 0) passFrom = i;
        if (!this.isRestPassed) endPass(i);
        this.rest -= n;
        i += n;
        continue;
      }
      if (this.heldMissing > 0) {
        const n = Math.min(this.heldMissing, chunk.length - i);
        this.held.push(chunk.subarray(i, i + n));
        this.heldMissing -= n;
        i += n;
        if (this.heldMissing === 0) {
          const tag = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held);
          this.held = [];
          const started = this.onTag(tag, out);
          if (started) {
            flush();
            events.push(started);
          }
        }
        continue;
      }
      // A tag begins: its header and first body bytes (HEAD), which may straddle chunks.
      let head: Buffer | undefined;
      let take = 0;
      const isInChunk = this.pending.length === 0 && chunk.length - i >= TAG_HEADER;
      if (isInChunk) {
        const need = Math.min(HEAD, TAG_HEADER + chunk.readUIntBE(i + 1, 3) + 4);
        if (chunk.length - i >= need) [head, take] = [chunk.subarray(i, i + need), need];
      } else {
        const joined = Buffer.concat([this.pending, chunk.subarray(i, i + HEAD)]);
        const need = joined.length < TAG_HEADER ? HEAD + 1 : Math.min(HEAD, TAG_HEADER + joined.readUIntBE(1, 3) + 4);
        if (joined.length >= need) [head, take] = [joined.subarray(0, need), need - this.pending.length];
      }
      if (!head) {
        // The chunk ends inside this head: keep a copy of its last bytes (the chunk itself is not kept).
        endPass(i);
        this.pending = Buffer.concat([this.pending, chunk.subarray(i)]);
        i = chunk.length;
        continue;
      }
      this.pending = Buffer.alloc(0);
      const total = TAG_HEADER + head.readUIntBE(1, 3) + 4;
      const decision = this.peek(head, total);
      if (decision === 'hold') {
        endPass(i);
        this.held = [head];
        this.heldMissing = total - head.length;
        i += take;
        if (this.heldMissing === 0) {
          this.held = [];
          const started = this.onTag(head, out);
          if (started) {
            flush();
            events.push(started);
          }
        }
        continue;
      }
      if (decision === 'pass') {
        if (isInChunk) {
          if (passFrom < 0) passFrom = i;
        } else {
          endPass(i);
          out.push(head); // began in the last chunk: its head is a copy already
          passFrom = -1;
        }
      } else {
        endPass(i);
      }
      this.rest = total - head.length;
      this.isRestPassed = decision === 'pass';
      i += take;
    }
    endPass(chunk.length);
    flush();
    return events;
  }

  /**
   * From a tag's head alone: `hold` when onTag must see it whole (it keeps or decides on it), else whether
   * its bytes go to the current run (`pass`) or nowhere (`drop`), with onTag's bookkeeping for such tags.
   */
  private peek(head: Buffer, total: number): 'hold' | 'pass' | 'drop' {
    const type = head.readUInt8(0) & 0x1f;
    const size = total - TAG_HEADER - 4;
    const body = head.subarray(TAG_HEADER, Math.min(head.length, TAG_HEADER + size));
    if (type === SCRIPT) return 'hold';
    if (type === AUDIO) {
      if (isAudioSequenceHeader(body)) return 'hold';
      if (!this.shape) return 'drop';
      this.noteAudio(timestampOf(head));
      return 'pass';
    }
    if (type !== VIDEO || size < 2) return this.shape ? 'pass' : 'drop';
    if (mayBeVideoSequenceHeader(body, size)) return 'hold';
    this.lastVideoTagMs = timestampOf(head);
    this.lastVideoAt = Date.now();
    if (!this.shape) return 'drop';
    if (this.pendingRestart && isKeyframe(body)) return 'hold';
    return 'pass';
  }

  /** An audio frame of the current run at `ms`: does it come early enough for ffmpeg's probe to see? */
  private noteAudio(ms: number): void {
    if (ms - this.runStartedAtMs <= AUDIO_PROBE_MS) this.hasRunAudio = true;
    else if (!this.hasRunAudio && this.audioHeader) this.pendingRestart ??= 'audio started';
  }

  /** Handles one tag: appends it to `out`, or returns the run it starts (the tag then is in its prefix). */
  private onTag(tag: Buffer, out: Buffer[]): FlvEvent | undefined {
    const type = tag.readUInt8(0) & 0x1f;
    const body = tag.subarray(TAG_HEADER, tag.length - 4);
    const ms = timestampOf(tag);
    if (type === SCRIPT) {
      this.metadata ??= Buffer.from(tag);
      if (this.shape) out.push(tag);
      return undefined;
    }
    if (type === AUDIO) {
      if (isAudioSequenceHeader(body)) {
        const isChanged = this.audioHeader !== undefined && !sameBody(this.audioHeader, tag);
        this.audioHeader = Buffer.from(tag);
        if (isChanged && this.shape) this.pendingRestart ??= 'the audio format changed';
      }
      if (!this.shape) return undefined; // nothing to decode it with yet: a run starts at a video header
      this.noteAudio(ms);
      out.push(tag);
      return undefined;
    }
    if (type !== VIDEO || body.length < 2) {
      if (this.shape) out.push(tag);
      return undefined;
    }
    this.lastVideoTagMs = ms;
    this.lastVideoAt = Date.now();
    const header = videoSequenceHeader(body);
    if (header) {
      const shape: FlvShape = { videoCodec: header.codec, videoConfig: hash(header.config), audioConfig: this.audioConfig() };
      if (this.shape && this.shape.videoCodec === shape.videoCodec && this.shape.videoConfig === shape.videoConfig) {
        return undefined; // the same headers again: nothing changed, and the running ffmpeg has them
      }
      const why = !this.shape ? 'start' : this.shape.videoCodec !== shape.videoCodec
        ? `the video codec changed (${this.shape.videoCodec} -> ${shape.videoCodec})`
        : 'the video parameters changed (new SPS/PPS)';
      return this.startRun(ms, tag, why, shape);
    }
    if (!this.shape) return undefined; // frames before any sequence header cannot be decoded
    // A restart for audio waits for a keyframe: a run must begin with a picture that decodes on its own.
    if (this.pendingRestart && isKeyframe(body)) return this.startRun(ms, tag, this.pendingRestart);
    out.push(tag);
    return undefined;
  }

  /**
   * A new run from `tag` on. With `shape` the tag is the new video sequence header; without, the run keeps
   * the current video shape and `tag` is the keyframe it starts at (after the current video header).
   */
  private startRun(ms: number, tag: Buffer, reason: string, shape?: FlvShape): FlvEvent | undefined {
    const next = shape ?? (this.shape ? { ...this.shape, audioConfig: this.audioConfig() } : undefined);
    if (!next) return undefined;
    if (shape) this.videoHeader = Buffer.from(tag);
    const parts = [this.metadata, this.audioHeader, this.videoHeader, shape ? undefined : tag]
      .filter((b): b is Buffer => b !== undefined)
      .map((b) => retimed(b, ms));
    this.shape = next;
    this.runStartedAtMs = ms;
    this.hasRunAudio = false;
    this.pendingRestart = undefined;
    return { kind: 'run', shape: next, prefix: Buffer.concat([this.fileHeader, ...parts]), reason };
  }

  private videoHeader: Buffer | undefined;
  /** Why the next keyframe starts a new run (audio appeared or changed), if it must. */
  private pendingRestart: string | undefined;

  private audioConfig(): string {
    return this.audioHeader ? hash(this.audioHeader.subarray(TAG_HEADER + 2, this.audioHeader.length - 4)) : 'none';
  }
}

function timestampOf(tag: Buffer): number {
  return (tag.readUIntBE(4, 3) | (tag.readUInt8(7) << 24)) >>> 0;
}

/** A copy of `tag` stamped `ms`: a new run's headers must not be older than its first frame. */
function retimed(tag: Buffer, ms: number): Buffer {
  const copy = Buffer.from(tag);
  const at = (tag.readUInt8(0) & 0x1f) === SCRIPT ? 0 : ms;
  copy.writeUIntBE(at & 0xffffff, 4, 3);
  copy.writeUInt8((at >>> 24) & 0xff, 7);
  return copy;
}

/** Same tag body (type, payload): timestamps aside. */
function sameBody(a: Buffer, b: Buffer): boolean {
  return a.subarray(TAG_HEADER, a.length - 4).equals(b.subarray(TAG_HEADER, b.length - 4));
}

/** FrameType 1 (keyframe), legacy or enhanced FLV alike (bits 4-6 of the first byte). */
function isKeyframe(body: Buffer): boolean {
  return ((body.readUInt8(0) >> 4) & 0x07) === 1;
}

function isAudioSequenceHeader(body: Buffer): boolean {
  return body.length >= 2 && body.readUInt8(0) >> 4 === 10 && body.readUInt8(1) === 0; // AAC, AACPacketType 0
}

/** From a video tag's first body bytes (`size` in all): whether videoSequenceHeader may find one in it. */
function mayBeVideoSequenceHeader(start: Buffer, size: number): boolean {
  const first = start.readUInt8(0);
  if (first & 0x80) return size >= 5 && (first & 0x0f) === 0;
  const codecId = first & 0x0f;
  return (codecId === 7 || codecId === 12) && start.readUInt8(1) === 0 && size > 5;
}

/** The codec and the decoder configuration when this video tag is a sequence header. */
function videoSequenceHeader(body: Buffer): { codec: string; config: Buffer } | undefined {
  const first = body.readUInt8(0);
  if (first & 0x80) {
    // Enhanced FLV: [IsExHeader | FrameType(3) | PacketType(4)] FourCC; PacketType 0 = SequenceStart.
    if (body.length < 5 || (first & 0x0f) !== 0) return undefined;
    return { codec: body.toString('latin1', 1, 5), config: body.subarray(5) };
  }
  const codecId = first & 0x0f;
  // AVC (7) and the HEVC extension (12) share the layout: AVCPacketType 0 = sequence header, then CTS(3).
  if ((codecId === 7 || codecId === 12) && body.readUInt8(1) === 0 && body.length > 5) {
    return { codec: codecId === 7 ? 'avc' : 'hevc', config: body.subarray(5) };
  }
  return undefined;
}

function hash(bytes: Buffer): string {
  return createHash('sha1').update(bytes).digest('hex').slice(0, 16);
}
