import { describe, expect, it } from 'vitest';
import { FlvShapeSplitter, type FlvEvent } from '../../src/capture/stream/flv-shapes.js';

/** One FLV tag: 11-byte header, body, PreviousTagSize. */
function tag(type: number, ms: number, body: number[]): Buffer {
  const out = Buffer.alloc(11 + body.length + 4);
  out.writeUInt8(type, 0);
  out.writeUIntBE(body.length, 1, 3);
  out.writeUIntBE(ms & 0xffffff, 4, 3);
  Buffer.from(body).copy(out, 11);
  out.writeUInt32BE(11 + body.length, 11 + body.length);
  return out;
}

const FILE_HEADER = Buffer.from([0x46, 0x4c, 0x56, 0x01, 0x05, 0, 0, 0, 9, 0, 0, 0, 0]);
const avcHeader = (ms: number, sps: number) => tag(9, ms, [0x17, 0, 0, 0, 0, 1, 0x64, sps, 0x1f]);
const keyframe = (ms: number) => tag(9, ms, [0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]);
const interframe = (ms: number) => tag(9, ms, [0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41]);
const aacHeader = (ms: number) => tag(8, ms, [0xaf, 0, 0x12, 0x10]);
const aacFrame = (ms: number) => tag(8, ms, [0xaf, 1, 0x21, 0x00]);

/** Feeds the bytes in small pieces (as a socket does) and returns what the splitter made of them. */
function split(...parts: Buffer[]): FlvEvent[] {
  const splitter = new FlvShapeSplitter();
  const bytes = Buffer.concat(parts);
  const events: FlvEvent[] = [];
  for (let i = 0; i < bytes.length; i += 7) events.push(...splitter.push(bytes.subarray(i, i + 7)));
  return events;
}

const runs = (events: FlvEvent[]) => events.flatMap((e) => (e.kind === 'run' ? [e.reason] : []));

describe('FlvShapeSplitter', () => {
  it('keeps one run while the live repeats the same sequence headers, audio pauses and all', () => {
    const events = split(FILE_HEADER, aacHeader(0), avcHeader(0, 1), keyframe(0), aacFrame(20), interframe(66),
      aacFrame(5_000), aacFrame(9_000), avcHeader(10_000, 1), keyframe(10_000), aacFrame(10_010));
    expect(runs(events)).toEqual(['start']);
  });

  it('starts a new run at new SPS/PPS, whose prefix holds the file header and the new headers', () => {
    const events = split(FILE_HEADER, aacHeader(0), avcHeader(0, 1), keyframe(0), interframe(66), avcHeader(8_000, 2), keyframe(8_000));
    expect(runs(events)).toEqual(['start', 'the video parameters changed (new SPS/PPS)']);
    const second = events.filter((e) => e.kind === 'run')[1]!;
    expect(second.kind === 'run' && second.prefix.subarray(0, 3).toString()).toBe('FLV');
    // The new run's prefix carries the audio header too, stamped at the switch, so ffmpeg finds both tracks.
    expect(second.kind === 'run' && second.prefix.includes(Buffer.from([0xaf, 0, 0x12, 0x10]))).toBe(true);
    expect(second.kind === 'run' && second.shape.videoConfig).not.toBe(events[0]?.kind === 'run' && events[0].shape.videoConfig);
  });

  it('restarts at the next keyframe when audio shows up in a run that began muted', () => {
    const events = split(FILE_HEADER, avcHeader(0, 1), keyframe(0), interframe(66), aacHeader(5_000), aacFrame(5_000), interframe(5_066), keyframe(6_000));
    expect(runs(events)).toEqual(['start', 'audio started']);
  });

  it('drops frames before the first video sequence header (nothing could decode them)', () => {
    const events = split(FILE_HEADER, interframe(0), aacFrame(10), avcHeader(100, 1), keyframe(100));
    expect(runs(events)).toEqual(['start']);
    const written = Buffer.concat(events.map((e) => (e.kind === 'run' ? e.prefix : e.bytes)));
    expect(written.includes(Buffer.from([0x27, 1]))).toBe(false);
  });

  it('passes input that is not FLV through as one run', () => {
    const ts = Buffer.alloc(188 * 3, 0x47);
    const events = split(ts);
    expect(runs(events)).toEqual(['start']);
    expect(Buffer.concat(events.flatMap((e) => (e.kind === 'data' ? [e.bytes] : []))).equals(ts)).toBe(true);
  });

  it('gives the same runs and bytes however the socket cuts the stream, frames passed through unchanged', () => {
    const big = (ms: number, key: boolean) => tag(9, ms, [key ? 0x17 : 0x27, 1, 0, 0, 0, ...Array.from({ length: 3_000 }, (_, i) => i & 0xff)]);
    const stream = Buffer.concat([FILE_HEADER, tag(18, 0, [2, 0, 10]), aacHeader(0), avcHeader(0, 1), big(0, true), aacFrame(20),
      big(33, false), interframe(66), avcHeader(4_000, 2), big(4_000, true), aacFrame(4_010), big(4_033, false), aacFrame(4_050)]);
    const written = (step: number) => {
      const splitter = new FlvShapeSplitter();
      const events: FlvEvent[] = [];
      for (let i = 0; i < stream.length; i += step) events.push(...splitter.push(stream.subarray(i, i + step)));
      const perRun: Buffer[][] = [];
      for (const e of events) {
        if (e.kind === 'run') perRun.push([e.prefix]);
        else perRun.at(-1)?.push(e.bytes);
      }
      return { runs: runs(events), bytes: perRun.map((parts) => Buffer.concat(parts).toString('hex')) };
    };
    const whole = written(stream.length);
    expect(whole.runs).toEqual(['start', 'the video parameters changed (new SPS/PPS)']);
    // The second run holds the frames after the switch exactly as they came.
    expect(whole.bytes[1]!.includes(big(4_033, false).toString('hex'))).toBe(true);
    for (const step of [1, 5, 11, 15, 16, 17, 1_000, 4_096]) expect(written(step)).toEqual(whole);
  });
});
