import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig, secretsOf } from '../../src/config.js';
import { EventLog } from '../../src/events/event-log.js';
import { createLogger, openLogOutputs } from '../../src/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  const secrets = ['discord-token-value-123', 'obs-pass-456', 'sign-key-789'];

  it('never writes a secret, whether as a field, inside an error or inside a message', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', secrets, destination });
    log.info({ token: 'discord-token-value-123', nested: { password: 'obs-pass-456' } }, 'fields');
    log.error({ err: new Error('request to https://sign?apiKey=sign-key-789 failed') }, 'error');
    log.warn(`connecting with obs-pass-456`);
    const output = lines.join('');
    expect(output).toContain('fields');
    expect(output).toContain('failed');
    for (const secret of secrets) expect(output).not.toContain(secret);
    expect(output).toContain('[redacted]');
  });

  it('respects the level', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'warn', secrets, destination });
    log.info('hidden');
    log.warn('shown');
    expect(lines.join('')).not.toContain('hidden');
    expect(lines.join('')).toContain('shown');
  });

  it('scrubs a secret written URL-encoded, and the password inside DATABASE_URL', () => {
    const config = loadConfig({
      DISCORD_TOKEN: 'tok/with+odd=chars&more',
      OBS_PASSWORD: 'pa ss/wörd',
      DATABASE_URL: 'postgres://bot:db%40secret%2Fpw@127.0.0.1:5432/bot',
    });
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', secrets: secretsOf(config), destination });
    log.warn({ url: `https://sign.example/?token=${encodeURIComponent(config.discordToken)}` }, 'query string');
    log.warn({ err: new Error(`connect failed: ${config.databaseUrl}`) }, 'store');
    log.warn(`obs at ws://x/?p=${encodeURIComponent('pa ss/wörd')} and a form: ${new URLSearchParams({ p: 'pa ss/wörd' }).toString()}`);
    log.warn(`decoded db password db@secret/pw`);
    const output = lines.join('');
    for (const leak of ['tok/with+odd=chars&more', encodeURIComponent('tok/with+odd=chars&more'), 'pa ss/wörd', encodeURIComponent('pa ss/wörd'), 'pa+ss', 'db%40secret%2Fpw', 'db@secret/pw']) {
      expect(output).not.toContain(leak);
    }
    expect(output).toContain('postgres://bot:[redacted]@127.0.0.1:5432/bot');
  });
});

describe('openLogOutputs', () => {
  it('writes JSON when stdout is not a terminal, and the same lines to LOG_FILE', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'log-file-'));
    try {
      const { lines, destination: stdout } = capture();
      const outputs = await openLogOutputs({ format: undefined, file: path.join(dir, 'logs', 'bot.log'), isTerminal: false, stdout });
      const log = createLogger({ level: 'info', secrets: ['file-secret-123'], destination: outputs.destination });
      log.info({ stream: 'alice' }, 'went live with file-secret-123');
      await outputs.close();
      expect(JSON.parse(lines.join('').trim())).toMatchObject({ level: 30, stream: 'alice', msg: 'went live with [redacted]' });
      // pino-roll numbers the files: bot.1.log first, bot.2.log after the first roll.
      const files = await readdir(path.join(dir, 'logs'));
      expect(files).toEqual(['bot.1.log']);
      const written = await readFile(path.join(dir, 'logs', 'bot.1.log'), 'utf8');
      expect(JSON.parse(written.trim())).toMatchObject({ stream: 'alice', msg: 'went live with [redacted]' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes readable lines without colour codes when LOG_FORMAT=pretty is asked outside a terminal', async () => {
    const { lines, destination: stdout } = capture();
    const outputs = await openLogOutputs({ format: 'pretty', file: undefined, isTerminal: false, stdout });
    createLogger({ level: 'info', secrets: [], destination: outputs.destination }).info({ stream: 'alice' }, 'clip filed');
    const output = lines.join('');
    expect(output).toMatch(/INFO.*clip filed/);
    expect(output).not.toContain('\u001b[');
    expect(() => JSON.parse(output) as unknown).toThrow();
  });
});

describe('EventLog with a logger', () => {
  it('logs every event once with the guild, the stream and the kind, and binds no key twice', () => {
    const { lines, destination } = capture();
    const root = createLogger({ level: 'info', secrets: [], destination });
    const events = new EventLog({ log: root.child({ component: 'events' }) });
    events.add('111', { kind: 'trigger', stream: 'alice', text: 'bob said wow' });
    events.add('111', { kind: 'failure', stream: 'alice', text: 'clip failed: OBS is not connected' });
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toMatchObject([
      { level: 30, component: 'events', guild: '111', stream: 'alice', kind: 'trigger', detail: 'bob said wow', msg: 'clip triggered' },
      { level: 40, guild: '111', stream: 'alice', kind: 'failure', detail: 'clip failed: OBS is not connected' },
    ]);
    for (const line of lines) expect(line.match(/"component"/g)).toHaveLength(1);
    expect(events.recent('111')).toHaveLength(2);
  });
});
