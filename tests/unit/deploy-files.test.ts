import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { describeRequiring } from '../support/server-suite.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);
const hasSystemdAnalyze = await run('systemd-analyze', ['--version']).then(() => true, () => false);
const read = (file: string) => readFile(path.join(root, file), 'utf8');

/**
 * No Docker engine runs where the tests do, so the Dockerfile is linted instead of built: parsed with
 * dockerfile-ast (the parser behind the Docker language server) and held to hadolint's main rules.
 */
describe('Dockerfile (linted, not built: no Docker engine here)', () => {
  const parse = async () => DockerfileParser.parse(await read('Dockerfile'));
  const args = (i: Instruction) => i.getArgumentsContent() ?? '';

  it('parses, with every instruction known and every stage from a pinned image', async () => {
    const dockerfile = await parse();
    const known = ['FROM', 'RUN', 'COPY', 'WORKDIR', 'ENV', 'USER', 'VOLUME', 'HEALTHCHECK', 'CMD', 'ARG', 'LABEL', 'EXPOSE'];
    for (const instruction of dockerfile.getInstructions()) expect(known).toContain(instruction.getKeyword());
    const froms = dockerfile.getFROMs();
    expect(froms.length).toBeGreaterThan(0);
    for (const from of froms) {
      expect(from.getImageTag()).toBeTruthy(); // DL3006: tag the image
      expect(from.getImageTag()).not.toBe('latest'); // DL3007
    }
  });

  it('installs with npm ci and apt-get --no-install-recommends, cleaning the apt lists', async () => {
    const runs = (await parse()).getInstructions().filter((i) => i.getKeyword() === 'RUN').map(args);
    expect(runs.some((r) => r.includes('npm ci'))).toBe(true);
    for (const run of runs.filter((r) => r.includes('apt-get install'))) {
      expect(run).toContain('--no-install-recommends'); // DL3015
      expect(run).toMatch(/-y\b/); // DL3014
      expect(run).toContain('rm -rf /var/lib/apt/lists'); // DL3009
    }
    expect(runs.join('\n')).not.toMatch(/\bsudo\b/); // DL3004
  });

  it('runs as a non-root user, in exec form, with a health check on /healthz', async () => {
    const dockerfile = await parse();
    const instructions = dockerfile.getInstructions();
    const users = instructions.filter((i) => i.getKeyword() === 'USER');
    expect(args(users.at(-1)!)).not.toMatch(/^(root|0)$/); // DL3002
    const cmd = dockerfile.getCMDs();
    expect(cmd).toHaveLength(1); // DL4003
    expect(args(cmd[0]!).trim().startsWith('[')).toBe(true);
    expect(args(dockerfile.getHEALTHCHECKs()[0]!)).toContain('/healthz');
    // The clips folder is where the compose file mounts the host's.
    expect(instructions.filter((i) => i.getKeyword() === 'ENV').map(args).join(' ')).toContain('CLIPS_DIR=/clips');
  });

  it('keeps secrets and local state out of the image', async () => {
    const ignored = (await read('.dockerignore')).split('\n').map((l) => l.trim());
    for (const entry of ['.env', 'node_modules', 'data', '.git']) expect(ignored).toContain(entry);
    const copies = (await parse()).getInstructions().filter((i) => i.getKeyword() === 'COPY').map(args);
    expect(copies.join('\n')).not.toMatch(/\.env\b/);
  });
});

describe('compose.yaml', () => {
  it('mounts the clips folder and OBS recordings at the same path, and reaches OBS on the host', async () => {
    const compose = await read('compose.yaml');
    expect(compose).toMatch(/:\/clips\s*$/m);
    expect(compose).toContain('${OBS_RECORDINGS_DIR');
    expect(compose).toMatch(/}:\$\{OBS_RECORDINGS_DIR}\s*$/m);
    expect(compose).toContain('host.docker.internal:host-gateway');
    expect(compose).toContain('OBS_URL: ws://host.docker.internal:4455');
  });
});

describe('start-on-boot recipes', () => {
  it('the pm2 file runs one forked copy of dist/main.js (the clips folder lock allows one)', async () => {
    const { apps } = JSON.parse(await read('deploy/pm2/ecosystem.json')) as { apps: Array<Record<string, unknown>> };
    expect(apps).toHaveLength(1);
    expect(apps[0]).toMatchObject({ script: 'dist/main.js', exec_mode: 'fork', instances: 1 });
  });

  it('the systemd unit is a user unit that restarts on failure and stops with SIGTERM', async () => {
    const unit = await read('deploy/systemd/tiktok-clip-bot.service');
    expect(unit).toMatch(/^ExecStart=.*node dist\/main\.js$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    expect(unit).toMatch(/^WantedBy=default\.target$/m);
  });

});

// Without a running user manager (containers, CI) `--user` cannot start; the system-mode check
// still parses every directive and resolves ExecStart's binary.
describeRequiring('the systemd unit', hasSystemdAnalyze ? undefined : 'systemd-analyze is not installed', 'apt-get install -y systemd', () => {
  it('passes systemd-analyze verify', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'unit-'));
    try {
      const unit = path.join(dir, 'tiktok-clip-bot.service');
      await copyFile(path.join(root, 'deploy/systemd/tiktok-clip-bot.service'), unit);
      const { stderr } = await run('systemd-analyze', ['verify', unit]);
      expect(stderr).not.toMatch(/tiktok-clip-bot\.service:\d+:/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
