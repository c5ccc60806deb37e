import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/util/errors.js';
import { parseTikTokUsername } from '../../src/monitor/tiktok-username.js';

describe('parseTikTokUsername', () => {
  it.each([
    ['streamer', 'streamer'],
    ['@Streamer_1', 'streamer_1'],
    ['  @some.name  ', 'some.name'],
    ['https://www.tiktok.com/@cool.cat/live', 'cool.cat'],
    ['tiktok.com/@cool_cat', 'cool_cat'],
    ['https://m.tiktok.com/@abc/live?lang=en', 'abc'],
  ])('accepts %s', (input, expected) => {
    expect(parseTikTokUsername(input)).toBe(expected);
  });

  it.each(['a', '', '@', 'x'.repeat(25), 'bad name', '../etc', 'a/b', 'emoji🔥', 'https://evil.com/@abc', 'na\nme', '@@abc'])(
    'refuses %j with a short user-facing error',
    (input) => {
      try {
        parseTikTokUsername(input);
        expect.unreachable();
      } catch (err) {
        expect(isAppError(err, 'INVALID_USERNAME')).toBe(true);
        expect((err as Error).message.length).toBeLessThan(200);
      }
    },
  );
});
