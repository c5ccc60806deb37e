import { describe, expect, it } from 'vitest';
import { loadConfig, secretsOf } from '../../src/config.js';

const base = { DISCORD_TOKEN: 'token.value.here', CLIPS_DIR: '/tmp/clips' };

function problems(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('TIKTOK_SESSION_ID, TIKTOK_TT_TARGET_IDC and TIKTOK_AUTHENTICATE_WS', () => {
  it('are off by default', () => {
    const config = loadConfig(base);
    expect(config.tiktokSessionId).toBeUndefined();
    expect(config.tiktokTtTargetIdc).toBeUndefined();
    expect(config.tiktokAuthenticateWs).toBe(false);
  });

  it('take a session with its data centre, and count both as secrets', () => {
    const config = loadConfig({ ...base, TIKTOK_SESSION_ID: 'abcdef0123456789', TIKTOK_TT_TARGET_IDC: 'useast2a', TIKTOK_AUTHENTICATE_WS: 'TRUE' });
    expect(config).toMatchObject({ tiktokSessionId: 'abcdef0123456789', tiktokTtTargetIdc: 'useast2a', tiktokAuthenticateWs: true });
    expect(secretsOf(config)).toEqual(expect.arrayContaining(['abcdef0123456789', 'useast2a']));
  });

  it('refuses one without the other, a value that would split the cookie, and authenticateWs without a session, all at once', () => {
    expect(problems({ TIKTOK_SESSION_ID: 'abcdef0123456789' })).toContain('TIKTOK_SESSION_ID and TIKTOK_TT_TARGET_IDC go together');
    expect(problems({ TIKTOK_TT_TARGET_IDC: 'useast2a' })).toContain('go together');
    const message = problems({ TIKTOK_SESSION_ID: 'abc; other=1', TIKTOK_TT_TARGET_IDC: 'us east', TIKTOK_AUTHENTICATE_WS: 'yes' });
    expect(message).toContain("TIKTOK_SESSION_ID must be the value of tiktok.com's sessionid cookie");
    expect(message).toContain('TIKTOK_TT_TARGET_IDC must be');
    expect(message).toContain('TIKTOK_AUTHENTICATE_WS must be true or false');
    expect(message).not.toContain('abc; other=1');
    expect(problems({ TIKTOK_AUTHENTICATE_WS: 'true' })).toContain('TIKTOK_AUTHENTICATE_WS=true needs TIKTOK_SESSION_ID');
  });
});
