import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';

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
});
