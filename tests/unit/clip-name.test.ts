import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clipFileName, formatClipTime, MAX_PART_BYTES, sanitizeNamePart, streamerFolderName } from '../../src/clips/clip-name.js';

const WINDOWS_FORBIDDEN = /[<>:"/\\|?*\u0000-\u001f]/;

function assertSafe(part: string): void {
  expect(part).not.toMatch(WINDOWS_FORBIDDEN);
  expect(part).not.toContain('..');
  expect(part).not.toMatch(/^[\s.]|[\s.]$/);
  expect(part).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i);
  expect(Buffer.byteLength(part)).toBeLessThanOrEqual(MAX_PART_BYTES);
  expect(part.length).toBeGreaterThan(0);
  expect(path.basename(part)).toBe(part);
}

describe('sanitizeNamePart', () => {
  it.each([
    '../../etc/passwd',
    '..\\..\\Windows\\System32',
    'CON',
    'nul.txt',
    'Com1',
    'LPT9.mp4',
    '  ..  ',
    'a/b\\c:d*e?f"g<h>i|j',
    'bell\u0007tab\tnew\nline',
    'right\u202Eto-left',
    '...',
    '',
    '🔥'.repeat(300),
    'é'.repeat(300),
  ])('makes %j safe', (hostile) => {
    assertSafe(sanitizeNamePart(hostile, 'fallback'));
  });

  it('keeps readable names readable', () => {
    expect(sanitizeNamePart('viewer.one', 'x')).toBe('viewer.one');
    expect(sanitizeNamePart('Clip It', 'x')).toBe('Clip It');
    expect(sanitizeNamePart('日本語の名前', 'x')).toBe('日本語の名前');
    expect(sanitizeNamePart('fire 🔥', 'x')).toBe('fire 🔥');
    expect(sanitizeNamePart('a/b', 'x')).toBe('a-b');
  });

  it('uses the fallback when nothing is left', () => {
    expect(sanitizeNamePart(' . . ', 'fallback')).toBe('fallback');
    expect(sanitizeNamePart('\u0000\u0001', 'fallback')).toBe('fallback');
  });

  it('never splits a character when cutting', () => {
    const cut = sanitizeNamePart('😀'.repeat(100), 'x');
    expect(cut).toBe('😀'.repeat(MAX_PART_BYTES / 4));
    // A split surrogate pair would not survive a UTF-8 round trip.
    expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut);
  });

  it('cuts between emoji sequences, never inside one', () => {
    const family = '👨‍👩‍👧'; // 18 bytes: three emoji joined by zero-width joiners
    const cut = sanitizeNamePart(family.repeat(10), 'x');
    expect(cut).toBe(family.repeat(Math.floor(MAX_PART_BYTES / Buffer.byteLength(family))));
    expect(sanitizeNamePart(`${'a'.repeat(MAX_PART_BYTES - 4)}👍🏽`, 'x')).toBe('a'.repeat(MAX_PART_BYTES - 4));
  });

  it('drops lone surrogates and zero-width characters, falling back when nothing visible is left', () => {
    expect(sanitizeNamePart('a\uD800b', 'x')).toBe('ab');
    expect(sanitizeNamePart('\u200B\uFEFF', 'fallback')).toBe('fallback');
  });

  it('disarms reserved device names with a prefix', () => {
    expect(sanitizeNamePart('con', 'x')).toBe('_con');
    expect(sanitizeNamePart('nul.txt', 'x')).toBe('_nul.txt');
    expect(streamerFolderName('aux')).toBe('_aux');
  });
});

describe('clip names', () => {
  it.each([
    [new Date(2026, 0, 5, 0, 7, 9), '2026-01-05_12-07-09_AM'],
    [new Date(2026, 0, 5, 9, 30, 0), '2026-01-05_09-30-00_AM'],
    [new Date(2026, 0, 5, 12, 0, 1), '2026-01-05_12-00-01_PM'],
    [new Date(2026, 11, 31, 13, 59, 59), '2026-12-31_01-59-59_PM'],
    [new Date(2026, 11, 31, 23, 0, 0), '2026-12-31_11-00-00_PM'],
  ])('formats %s in local time as %s', (at, expected) => {
    expect(formatClipTime(at)).toBe(expected);
  });

  it('follows {chatter}_{keyword}_{time}.mp4 with each part sanitized', () => {
    const at = new Date(2026, 10, 25, 14, 3, 4);
    expect(clipFileName({ chatter: 'viewer.one', keyword: 'wow', at })).toBe('viewer.one_wow_2026-11-25_02-03-04_PM.mp4');
    const hostile = clipFileName({ chatter: '../../x', keyword: 'CON', at });
    expect(path.basename(hostile)).toBe(hostile);
    expect(hostile).toBe('-.-x__CON_2026-11-25_02-03-04_PM.mp4');
    expect(Buffer.byteLength(clipFileName({ chatter: '😀'.repeat(500), keyword: 'ж'.repeat(500), at }))).toBeLessThan(255);
  });
});
