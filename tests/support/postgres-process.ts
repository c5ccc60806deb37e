import { spawn, spawnSync } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from './obs-process.js';
import { stopChild, waitForOutput } from './redis-process.js';

/** A real PostgreSQL on a free loopback port, its data in a temp folder, started and stopped by its pid. */
export interface PostgresInstance {
  readonly url: string;
  readonly pid: number;
  readonly stop: () => Promise<void>;
}

export const POSTGRES_INSTALL = 'apt-get install -y --no-install-recommends postgresql';

/** Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<major>/bin. */
function binDir(): string | undefined {
  const onPath = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const fromConfig = onPath.status === 0 ? onPath.stdout.trim() : undefined;
  if (fromConfig !== undefined && existsSync(join(fromConfig, 'initdb'))) return fromConfig;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return majors.map((major) => join(root, major, 'bin')).find((dir) => existsSync(join(dir, 'initdb')));
}

/** Why Postgres tests cannot run here, or undefined when they can. */
export function postgresMissing(): string | undefined {
  if (binDir() === undefined) return 'initdb/postgres not found (pg_config --bindir, /usr/lib/postgresql/*/bin)';
  if (process.getuid?.() === 0 && postgresUser() === undefined) return 'running as root but there is no "postgres" user';
  return undefined;
}

/** Postgres refuses to run as root: as root, run it as the `postgres` user Debian's package creates. */
function postgresUser(): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function startPostgres(): Promise<PostgresInstance> {
  const bin = binDir();
  if (bin === undefined) throw new Error('postgres binaries not found');
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'postgres-test-'));
  if (user !== undefined) await chown(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const asUser = user === undefined ? {} : { uid: user.uid, gid: user.gid };
  const env = { ...process.env, LANG: 'C', LC_ALL: 'C' };
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'bot', '--auth=trust', '--no-sync', '-E', 'UTF8'], {
    encoding: 'utf8',
    cwd: dir,
    env,
    ...asUser,
  });
  if (init.status !== 0) throw new Error(`initdb failed (${init.status ?? init.signal}):\n${init.stderr}`);
  const port = await findFreePort();
  const child = spawn(
    join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, env, ...asUser },
  );
  await waitForOutput(child, /ready to accept connections/, 'postgres');
  return {
    url: `postgresql://bot@127.0.0.1:${port}/postgres`,
    pid: child.pid ?? 0,
    stop: async () => {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
