import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, secretsOf } from '../../src/config.js';
import { isAppError } from '../../src/util/errors.js';

const TOKEN = { DISCORD_TOKEN: 'abc.def.ghi' };

describe('LOG_FORMAT, LOG_FILE and HTTP_PORT', () => {
  it('are off or automatic by default', () => {
    expect(loadConfig(TOKEN)).toMatchObject({ logFormat: undefined, logFile: undefined, httpPort: undefined });
  });

  it('are read when set, the log file as an absolute path', () => {
    const config = loadConfig({ ...TOKEN, LOG_FORMAT: 'JSON', LOG_FILE: 'logs/bot.log', HTTP_PORT: '9464' });
    expect(config).toMatchObject({ logFormat: 'json', logFile: path.resolve('logs/bot.log'), httpPort: 9464 });
  });

  it('name a bad format and a bad port together, and nothing starts', () => {
    let message = '';
    try {
      loadConfig({ ...TOKEN, LOG_FORMAT: 'colour', HTTP_PORT: '99999' });
    } catch (err) {
      if (isAppError(err, 'CONFIG_INVALID')) message = err.message;
    }
    expect(message).toContain('LOG_FORMAT');
    expect(message).toContain('HTTP_PORT');
    for (const port of ['-1', '80a', '1.5']) expect(() => loadConfig({ ...TOKEN, HTTP_PORT: port })).toThrow(/HTTP_PORT/);
  });
});

describe('secretsOf', () => {
  it('includes the password inside DATABASE_URL, decoded', () => {
    const config = loadConfig({ ...TOKEN, DATABASE_URL: 'redis://:p%40ss%2Fword@127.0.0.1:6379' });
    expect(secretsOf(config)).toContain('p@ss/word');
    expect(secretsOf(loadConfig(TOKEN))).toEqual(['abc.def.ghi']);
  });
});

describe('CLUSTER', () => {
  it('is off by default, and on with a Redis or Postgres DATABASE_URL', () => {
    expect(loadConfig(TOKEN).cluster).toBe(false);
    expect(loadConfig({ ...TOKEN, CLUSTER: 'true', DATABASE_URL: 'redis://127.0.0.1:6379' }).cluster).toBe(true);
    expect(loadConfig({ ...TOKEN, CLUSTER: 'true', DATABASE_URL: 'postgres://u:p@127.0.0.1/bot' }).cluster).toBe(true);
    expect(loadConfig({ ...TOKEN, CLUSTER: 'true', DATABASE_URL: 'postgresql://u:p@127.0.0.1/bot' }).cluster).toBe(true);
  });

  it('refuses to start on a database the nodes cannot share through BullMQ, and a value that is not a yes or no', () => {
    // The default DATABASE_URL is a SQLite file.
    expect(() => loadConfig({ ...TOKEN, CLUSTER: 'true' })).toThrow(/CLUSTER=true needs a shared Redis or Postgres DATABASE_URL.*SQLite file cannot be shared/);
    expect(() => loadConfig({ ...TOKEN, CLUSTER: 'true', DATABASE_URL: 'sqlite:///srv/bot.sqlite' })).toThrow(/CLUSTER=true needs a shared Redis or Postgres/);
    expect(() => loadConfig({ ...TOKEN, CLUSTER: 'maybe' })).toThrow(/CLUSTER must be true or false/);
  });
});
