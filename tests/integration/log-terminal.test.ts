import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TOKEN = 'probe-token.with/odd+chars';
const probe = [process.execPath, '--import', pathToFileURL(path.join(root, 'node_modules/tsx/dist/esm/index.mjs')).href, path.join(root, 'tests/support/log-probe.ts')];
const ANSI_COLOUR = /\u001b\[\d+m/;

/** `script` (util-linux) gives the probe a pseudo-terminal as stdout, as a person's console would. */
const hasScript = await run('script', ['--version']).then(() => true, () => false);

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), DISCORD_TOKEN: TOKEN, ...extra };
}

describe('the console log as a person sees it', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'log-tty-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it.skipIf(!hasScript)('is pretty and coloured in a terminal, with no secret in any form', async () => {
    const command = probe.map((part) => `'${part}'`).join(' ');
    const { stdout } = await run('script', ['-qec', command, '/dev/null'], { env: env({}), cwd: dir });
    expect(stdout).toMatch(ANSI_COLOUR);
    const plain = stdout.replace(/\u001b\[[\d;]*m/g, '');
    expect(plain).toMatch(/INFO.*clip filed/);
    expect(plain).toMatch(/WARN.*request failed for \[redacted\]/);
    expect(plain).toContain('probe.user');
    expect(stdout).not.toMatch(/^\{"level"/m);
    expect(stdout).not.toContain(TOKEN);
    expect(stdout).not.toContain(encodeURIComponent(TOKEN));
  }, 30_000);

  it('is one JSON object a line through a pipe, and LOG_FORMAT=json keeps it JSON in a terminal too', async () => {
    const piped = await run(probe[0]!, probe.slice(1), { env: env({}), cwd: dir });
    const lines = piped.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ level: 30, component: 'events', stream: 'probe.user', guild: '123', msg: 'clip filed' });
    expect(piped.stdout).not.toMatch(ANSI_COLOUR);
    expect(piped.stdout).not.toContain(TOKEN);
    if (!hasScript) return;
    const command = probe.map((part) => `'${part}'`).join(' ');
    const { stdout } = await run('script', ['-qec', command, '/dev/null'], { env: env({ LOG_FORMAT: 'json' }), cwd: dir });
    expect(JSON.parse(stdout.trim().split(/\r?\n/)[0]!)).toMatchObject({ msg: 'clip filed' });
  }, 30_000);

  it('also writes the lines, scrubbed, to LOG_FILE', async () => {
    await run(probe[0]!, probe.slice(1), { env: env({ LOG_FILE: path.join(dir, 'logs', 'bot.log') }), cwd: dir });
    const written = await readFile(path.join(dir, 'logs', 'bot.1.log'), 'utf8');
    expect(written).toContain('"msg":"clip filed"');
    expect(written).toContain('request failed for [redacted]');
    expect(written).not.toContain(TOKEN);
  }, 30_000);
});
