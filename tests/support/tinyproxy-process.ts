/**
 * A real HTTP proxy (Debian's tinyproxy) on a free loopback port with a config file of its own, started in
 * the foreground and ended by its pid. It logs every tunnel it opens (`LogLevel Connect`), so a test can
 * count what passed through it: `tunnels()` lists the `host:port` of each CONNECT, in order.
 *
 * Skips loudly when tinyproxy is not installed; with REQUIRE_SERVERS=1 or REQUIRE_OBS=1 (as .ci/run sets)
 * its absence fails the run instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TinyproxyProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** `host:port` of every CONNECT tunnel the proxy opened so far. */
  tunnels(): Promise<string[]>;
  stop(): Promise<void>;
}

export function hasTinyproxy(): boolean {
  return spawnSync('tinyproxy', ['-v'], { stdio: 'ignore' }).status === 0;
}

export const TINYPROXY_REQUIRED = process.env.REQUIRE_SERVERS === '1' || process.env.REQUIRE_OBS === '1';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startTinyproxy(): Promise<TinyproxyProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tinyproxy-'));
  const logFile = path.join(dir, 'tinyproxy.log');
  const port = await freePort();
  const config = path.join(dir, 'tinyproxy.conf');
  // No ConnectPort line: tunnels to any port are allowed (the fakes listen on random ones).
  await writeFile(config, [`Port ${port}`, 'Listen 127.0.0.1', 'Timeout 60', `LogFile "${logFile}"`, 'LogLevel Connect',
    'MaxClients 200', 'Allow 127.0.0.1', ''].join('\n'));
  const child: ChildProcess = spawn('tinyproxy', ['-d', '-c', config], { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('tinyproxy did not start');
  const pid = child.pid;
  const read = () => readFile(logFile, 'utf8').catch(() => '');
  const deadline = Date.now() + 10_000;
  // Ready once it listens: a CONNECT to itself is the surest sign (its log says little at this level).
  for (;;) {
    const isUp = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(true)); // the port is taken: tinyproxy holds it
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
    });
    if (isUp) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`tinyproxy did not listen on ${port}: ${await read()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid,
    async tunnels() {
      return [...(await read()).matchAll(/Request \(file descriptor \d+\): CONNECT (\S+) HTTP/g)].map((m) => m[1]!);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        process.kill(pid, 'SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
