import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultClipsDir, loadConfig, secretsOf } from '../../src/config.js';
import { isAppError } from '../../src/util/errors.js';

function configError(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (isAppError(err, 'CONFIG_INVALID')) return err.message;
    throw err;
  }
  throw new Error('expected a configuration error');
}

describe('loadConfig', () => {
  it('applies the documented defaults when only the token is set', () => {
    const config = loadConfig({ DISCORD_TOKEN: 'abc.def.ghi' });
    expect(config).toMatchObject({
      obsUrl: 'ws://127.0.0.1:4455',
      databaseUrl: 'sqlite://data/bot.sqlite',
      ffmpegPath: 'ffmpeg',
      logLevel: 'info',
      clipsDir: defaultClipsDir(),
      obsPassword: undefined,
      discordGuildId: undefined,
    });
    expect(config.clipsDir.endsWith(path.join('Videos', 'tiktok-clips'))).toBe(true);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad key at once', () => {
    const message = configError({ OBS_URL: 'http://localhost:4455', DISCORD_GUILD_ID: 'abc', LOG_LEVEL: 'loud' });
    expect(message).toContain('DISCORD_TOKEN');
    expect(message).toContain('OBS_URL');
    expect(message).toContain('DISCORD_GUILD_ID');
    expect(message).toContain('LOG_LEVEL');
  });

  it('takes an http, https or socks5 TIKTOK_PROXY_URL, refuses others without echoing the password, and keeps its password a secret', () => {
    for (const url of ['http://127.0.0.1:3128', 'https://u:p@proxy.example:443', 'socks5://u:pw@10.0.0.1:1080']) {
      expect(loadConfig({ DISCORD_TOKEN: 'abc.def.ghi', TIKTOK_PROXY_URL: url }).tiktokProxyUrl).toBe(url);
    }
    const message = configError({ DISCORD_TOKEN: 'abc.def.ghi', TIKTOK_PROXY_URL: 'ftp://u:hunter22@host:21', TIKTOK_PROXY_SIGNING: 'maybe' });
    expect(message).toContain('TIKTOK_PROXY_URL must start with http://, https:// or socks5://');
    expect(message).toContain('TIKTOK_PROXY_SIGNING must be true or false');
    expect(message).not.toContain('hunter22');
    expect(configError({ DISCORD_TOKEN: 'abc.def.ghi', TIKTOK_PROXY_SIGNING: 'true' })).toContain('TIKTOK_PROXY_SIGNING=true needs TIKTOK_PROXY_URL');
    const config = loadConfig({ DISCORD_TOKEN: 'abc.def.ghi', TIKTOK_PROXY_URL: 'socks5://u:s3cr%40t@host:1080' });
    expect(secretsOf(config)).toContain('s3cr@t');
    expect(config.tiktokProxySigning).toBe(false);
  });

  it('rejects a malformed OBS_URL', () => {
    expect(configError({ DISCORD_TOKEN: 't0ken', OBS_URL: 'not a url' })).toContain('OBS_URL');
  });

  it('treats blank values as unset', () => {
    const config = loadConfig({ DISCORD_TOKEN: 'tok', OBS_PASSWORD: '  ', CLIPS_DIR: '' });
    expect(config.obsPassword).toBeUndefined();
    expect(config.clipsDir).toBe(defaultClipsDir());
  });

  it('resolves CLIPS_DIR to an absolute path and keeps a guild id', () => {
    const config = loadConfig({ DISCORD_TOKEN: 'tok', CLIPS_DIR: 'clips', DISCORD_GUILD_ID: '123456789012345678' });
    expect(path.isAbsolute(config.clipsDir)).toBe(true);
    expect(config.discordGuildId).toBe('123456789012345678');
  });
});
