import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/util/errors.js';
import { defaultSettings, readSettingsRow, toSettingsRow } from '../../src/store/settings-schema.js';
import { listTriggers } from '../../src/commands/trigger.js';

describe('trigger settings in the store', () => {
  it('reads a row written before gift and hype triggers existed with both off and no repair noted', () => {
    const { value, problems } = readSettingsRow('g1', { v: 1, streams: [], keywords: [], cooldownSeconds: 30, delaySeconds: 0, notifyLive: false });
    expect(value.giftMinDiamonds).toBe(0);
    expect(value.hypeSensitivity).toBe('off');
    expect(problems).toEqual([]);
  });

  it('repairs stored values it cannot use, saying so', () => {
    const { value, problems } = readSettingsRow('g1', { v: 1, giftMinDiamonds: -3, hypeSensitivity: 'extreme' });
    expect(value.giftMinDiamonds).toBe(0);
    expect(value.hypeSensitivity).toBe('off');
    expect(problems.join('\n')).toMatch(/giftMinDiamonds is invalid[\s\S]*hypeSensitivity is invalid/);
  });

  it('writes and reads back the triggers unchanged', () => {
    const next = { ...defaultSettings('g1'), giftMinDiamonds: 500, hypeSensitivity: 'high' as const };
    const { row } = toSettingsRow('g1', next);
    const { value, problems } = readSettingsRow('g1', JSON.parse(JSON.stringify(row)));
    expect(problems).toEqual([]);
    expect(value).toMatchObject({ giftMinDiamonds: 500, hypeSensitivity: 'high' });
  });

  it('refuses to write a fractional threshold or an unknown sensitivity', () => {
    expect(() => toSettingsRow('g1', { ...defaultSettings('g1'), giftMinDiamonds: 1.5 })).toThrow(AppError);
    // @ts-expect-error: an unknown sensitivity is what the check is for
    expect(() => toSettingsRow('g1', { ...defaultSettings('g1'), hypeSensitivity: 'max' })).toThrow(/hypeSensitivity/);
  });
});

describe('/trigger list', () => {
  it('says both triggers are off for a new server, and names the thresholds once set', () => {
    expect(listTriggers(defaultSettings('g1'))).toMatch(/Gift: off[\s\S]*Hype: off/);
    const set = listTriggers({ ...defaultSettings('g1'), giftMinDiamonds: 1000, hypeSensitivity: 'medium' });
    expect(set).toContain('at least 1000 💎');
    expect(set).toContain("2x the stream's usual pace and at least 5 msgs/s");
  });

  it('tallies each trigger as /keyword list does, says nothing of an off trigger that never fired, and claims nothing when the counts cannot be read', () => {
    const counts = { gift: { fired: 4, kept: 2, falsePositive: 1 }, 'keyword:wow': { fired: 9, kept: 0, falsePositive: 0 } };
    const on = listTriggers({ ...defaultSettings('g1'), giftMinDiamonds: 1000, hypeSensitivity: 'medium' }, counts);
    expect(on).toMatch(/Gift: .* — fired 4, kept 2, false positive 1\n/);
    expect(on).toMatch(/Hype: medium: .* — fired 0\n/);
    const off = listTriggers(defaultSettings('g1'), counts);
    expect(off).toContain('Gift: off — `/trigger gift` — fired 4, kept 2, false positive 1');
    expect(off).toContain('Hype: off — `/trigger hype`\n');
    expect(listTriggers({ ...defaultSettings('g1'), giftMinDiamonds: 1000 }, undefined)).not.toContain('fired');
  });
});
