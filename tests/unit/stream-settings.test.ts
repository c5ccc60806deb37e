import { describe, expect, it } from 'vitest';
import { defaultSettings, readSettingsRow, toSettingsRow } from '../../src/store/settings-schema.js';
import { defaultMaxStreamBuffers } from '../../src/capture/stream/stream-buffers.js';
import { describeCapture } from '../../src/discord/format.js';

const GUILD = '123456789012345678';

describe('stream capture settings', () => {
  it('reads a row from before stream capture with OBS capture and the 20 s / 5 s window', () => {
    const { value, problems } = readSettingsRow(GUILD, {
      v: 1,
      streams: [{ username: 'bert', addedChannelId: '223456789012345678', addedBy: '323456789012345678', addedAt: '2026-01-01T00:00:00.000Z' }],
      keywords: [],
      cooldownSeconds: 30,
      delaySeconds: 0,
    });
    expect(problems).toEqual([]);
    expect(value).toMatchObject({ captureMode: 'obs', windowBeforeSeconds: 20, windowAfterSeconds: 5 });
    expect(value.streams[0]?.capture).toBeUndefined();
  });

  it('keeps a stream capture and window through a write and a read, and refuses bad values', () => {
    const base = defaultSettings(GUILD);
    const next = {
      ...base,
      captureMode: 'stream' as const,
      windowBeforeSeconds: 3,
      windowAfterSeconds: 1,
      streams: [{ username: 'alba', addedChannelId: '223456789012345678', addedBy: 'x', addedAt: '2026-01-01T00:00:00.000Z', capture: 'obs' as const }],
    };
    const { row } = toSettingsRow(GUILD, next);
    const back = readSettingsRow(GUILD, JSON.parse(JSON.stringify(row))).value;
    expect(back).toMatchObject({ captureMode: 'stream', windowBeforeSeconds: 3, windowAfterSeconds: 1 });
    expect(back.streams[0]?.capture).toBe('obs');
    expect(() => toSettingsRow(GUILD, { ...base, captureMode: 'vhs' as never })).toThrow(/captureMode must be obs or stream/);
    expect(() => toSettingsRow(GUILD, { ...base, windowBeforeSeconds: 600 })).toThrow(/windowBeforeSeconds/);
    expect(readSettingsRow(GUILD, { captureMode: 'vhs' }).problems).toContain('captureMode is invalid; default obs used');
  });

  it('chooses MAX_STREAM_BUFFERS from cores and memory', () => {
    expect(defaultMaxStreamBuffers(2, 24 * 1024 ** 3)).toBe(50);
    expect(defaultMaxStreamBuffers(8, 1024 ** 3)).toBe(6);
    expect(defaultMaxStreamBuffers(1, 64 * 1024 ** 2)).toBe(1);
  });

  it('describes each capture and buffer state for /stream list and /status', () => {
    expect(describeCapture('obs', undefined)).toBe(' · capture obs');
    expect(describeCapture('stream', { kind: 'ready', seconds: 58 })).toBe(' · capture stream, buffer ready (58 s)');
    expect(describeCapture('stream', { kind: 'waiting-for-slot' })).toBe(' · capture stream, waiting for a buffer slot');
    expect(describeCapture('stream', { kind: 'failed', reason: 'No video' })).toBe(' · capture stream, buffer failed: No video');
  });
});
