import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BotOverrides } from '../src/app.js';
import { startFakeDiscord } from '../tests/fakes/discord-server.js';
import { startFakeTikTok } from '../tests/fakes/tiktok-server.js';
import { BOT_TOKEN, FAST_TUNING } from '../tests/support/bot-harness.js';
import { ClusterNodes, clusterNodeEnv, placementProblem } from '../tests/support/cluster-nodes.js';
import { postgresMissing, startPostgres } from '../tests/support/postgres-process.js';
import { redisMissing, startRedis } from '../tests/support/redis-process.js';
import type { BenchResult } from './result.js';

/**
 * Three real bot processes with CLUSTER=true on a real redis-server (or, with `database: 'postgres'`, a
 * real PostgreSQL server through BullMQ's Postgres backend), the cluster's default timings, the local
 * TikTok and Discord. cluster_join_60_streams_s: from the first of 60 `/stream add`s until every live is
 * joined on TikTok by exactly one node. cluster_failover_s: from a SIGKILL of the node holding the most
 * lives until the last of them is joined again by the others (goal: under 30 s). On Postgres the figures
 * end in `_postgres`, with cluster_postgres_connections_per_node: the server's client connections while
 * the three nodes run, divided by three.
 */
export async function benchCluster(options: { lives?: number; database?: 'redis' | 'postgres' } = {}): Promise<BenchResult[]> {
  const onPostgres = options.database === 'postgres';
  const missing = onPostgres ? postgresMissing() : redisMissing();
  if (missing) {
    process.stderr.write(`cluster figures${onPostgres ? ' on postgres' : ''} skipped: ${missing}\n`);
    return [];
  }
  const suffix = onPostgres ? '_postgres' : '';
  const lives = Array.from({ length: options.lives ?? 60 }, (_, i) => `bench.cluster${i}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-cluster-'));
  const server = onPostgres ? await startPostgres() : await startRedis();
  const discord = await startFakeDiscord({ token: BOT_TOKEN });
  const tiktok = await startFakeTikTok();
  for (const live of lives) tiktok.addUser(live, { live: true });
  const cluster = new ClusterNodes(dir, {
    ...clusterNodeEnv({ token: BOT_TOKEN, guildId: discord.guildId, databaseUrl: server.url }),
    CLIP_BOT_TEST_OVERRIDES: JSON.stringify({
      adapters: { discordApiUrl: discord.apiUrl, tiktokTransport: { ...tiktok.transport, requestTimeoutMs: 5_000, heartbeatIntervalMs: 1_000 } },
      tuning: { ...FAST_TUNING, budgets: { connects: [{ limit: 600, windowMs: 60_000 }], checks: [{ limit: 100, windowMs: 1_000 }] } },
    } satisfies BotOverrides),
  });
  const joinedOnce = async () => (await placementProblem(cluster, tiktok, lives)) === undefined;
  const until = async (condition: () => Promise<boolean>) => {
    const deadline = Date.now() + 180_000;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error('the cluster did not settle within 3 minutes');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  try {
    for (const name of ['node-a', 'node-b', 'node-c']) await cluster.start(name);
    await until(async () => discord.connectedClients === 1);
    const joinStart = performance.now();
    for (const live of lives) await discord.interact({ command: 'stream', subcommand: 'add', options: { username: live } }).final(15_000);
    await until(joinedOnce);
    const joinSeconds = (performance.now() - joinStart) / 1000;
    const connections = onPostgres ? await clientConnections(server.url) : 0;

    let victim = cluster.running()[0]!;
    let most = -1;
    for (const node of cluster.running()) {
      const held = (await node.health())?.cluster?.lives.length ?? 0;
      if (held > most) [victim, most] = [node, held];
    }
    const killStart = performance.now();
    await cluster.kill(victim);
    await until(joinedOnce);
    const failoverSeconds = (performance.now() - killStart) / 1000;
    return [
      { name: `cluster_join_${lives.length}_streams${suffix}_s`, value: Number(joinSeconds.toFixed(2)), unit: 's' },
      { name: `cluster_failover${suffix}_s`, value: Number(failoverSeconds.toFixed(2)), unit: 's' },
      ...(onPostgres ? [{ name: 'cluster_postgres_connections_per_node', value: Number((connections / 3).toFixed(1)), unit: 'connections' }] : []),
    ];
  } finally {
    await cluster.killAll();
    await tiktok.close();
    await discord.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Client connections the server has open (this query's own left out), read through BullMQ's own pg pool. */
async function clientConnections(url: string): Promise<number> {
  const { PostgresConnection } = await import('bullmq');
  const connection = new PostgresConnection({ connectionString: url, max: 1 });
  try {
    const { rows } = await connection.pool.query("select count(*) as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()");
    return Number((rows[0] as { n?: string } | undefined)?.n ?? 0);
  } finally {
    await connection.close();
  }
}
