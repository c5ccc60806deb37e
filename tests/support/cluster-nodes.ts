/**
 * Bot processes as nodes of one cluster (CLUSTER=true on a shared Redis or Postgres), each its own process
 * (tests/support/bot-process.ts, the way src/main.ts runs it) with its own clips folder and HTTP port,
 * started, SIGKILLed and stopped by pid. Each node's /healthz says which lives it holds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FakeDiscord, PostedMessage } from '../fakes/discord-server.js';
import type { InteractionInput } from '../fakes/discord-interactions.js';
import type { FakeTikTok } from '../fakes/tiktok-server.js';
import { waitFor } from './bot-harness.js';
import { findFreePort } from './obs-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ClusterHealthz {
  readonly status: string;
  readonly cluster?: { readonly node: string; readonly gateway: boolean; readonly lives: readonly string[]; readonly states: Readonly<Record<string, string>> };
}

export interface NodeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly clipsDir: string;
  /** Its /healthz, or undefined while it does not answer (dead, starting). */
  health(): Promise<ClusterHealthz | undefined>;
  isRunning(): boolean;
}

/** What every node's `.env` shares: CLUSTER on, one Redis or Postgres, one Discord bot, no OBS listening. */
export function clusterNodeEnv({ token, guildId, databaseUrl }: { token: string; guildId: string; databaseUrl: string }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    CLUSTER: 'true',
    DATABASE_URL: databaseUrl,
    DISCORD_TOKEN: token,
    DISCORD_GUILD_ID: guildId,
    OBS_URL: 'ws://127.0.0.1:1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
}

/** Every node started, so a failed test still ends them (by pid) in afterAll. */
export class ClusterNodes {
  readonly nodes: NodeProcess[] = [];

  constructor(
    private readonly dir: string,
    /** The environment every node shares (the same .env: token, DATABASE_URL, CLUSTER=true). */
    private readonly env: Record<string, string>,
  ) {}

  /** Starts one node and resolves once it says `ready` (it has joined the cluster). */
  async start(name: string): Promise<NodeProcess> {
    const clipsDir = path.join(this.dir, name, 'clips');
    await mkdir(clipsDir, { recursive: true });
    const port = await findFreePort();
    const child = spawn(process.execPath, ['--import', pathToFileURL(path.join(root, 'node_modules/tsx/dist/esm/index.mjs')).href, path.join(root, 'tests/support/bot-process.ts')], {
      cwd: path.join(this.dir, name),
      env: { ...this.env, CLIPS_DIR: clipsDir, STREAM_BUFFER_DIR: path.join(this.dir, name, 'buffers'), HTTP_PORT: String(port), HOME: path.join(this.dir, name) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-8_000);
      if (process.env.TEST_NODE_LOGS) process.stderr.write(`[${name}] ${chunk.toString()}`);
    });
    const node: NodeProcess = {
      name,
      child,
      clipsDir,
      isRunning: () => child.exitCode === null && child.signalCode === null,
      health: async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
          return (await res.json()) as ClusterHealthz;
        } catch {
          return undefined;
        }
      },
    };
    this.nodes.push(node);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${name} did not start within 60 s: ${stderr}`)), 60_000);
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`node ${name} exited (${code ?? signal}) before it was ready: ${stderr}`));
      });
    });
    return node;
  }

  /** SIGKILL: no goodbye, its locks simply stop being renewed (a power cut, as far as the others know). */
  async kill(node: NodeProcess): Promise<void> {
    if (!node.isRunning()) return;
    const exited = new Promise((resolve) => node.child.once('exit', resolve));
    process.kill(node.child.pid!, 'SIGKILL');
    await exited;
  }

  running(): NodeProcess[] {
    return this.nodes.filter((n) => n.isRunning());
  }

  /** Each held live's state on the node holding it, by /healthz. */
  async states(): Promise<Map<string, string>> {
    const states = new Map<string, string>();
    for (const node of this.running()) for (const [live, state] of Object.entries((await node.health())?.cluster?.states ?? {})) states.set(live, state);
    return states;
  }

  /** Which running node holds each live, by /healthz (a live held twice is listed twice). */
  async placement(): Promise<Map<string, string[]>> {
    const holders = new Map<string, string[]>();
    for (const node of this.running()) {
      for (const live of (await node.health())?.cluster?.lives ?? []) holders.set(live, [...(holders.get(live) ?? []), node.name]);
    }
    return holders;
  }

  async gatewayNode(): Promise<NodeProcess | undefined> {
    for (const node of this.running()) if ((await node.health())?.cluster?.gateway) return node;
    return undefined;
  }

  /** SIGKILL to every node still running (afterAll). */
  async killAll(): Promise<void> {
    await Promise.all(this.running().map((n) => this.kill(n)));
  }
}

/** Every live held by exactly one running node, and joined on TikTok exactly once; else what is wrong. */
export async function placementProblem(cluster: ClusterNodes, tiktok: FakeTikTok, lives: readonly string[]): Promise<string | undefined> {
  const placement = await cluster.placement();
  const wrong = lives.filter((l) => placement.get(l)?.length !== 1 || tiktok.stats.openSockets(l) !== 1);
  if (wrong.length === 0) return undefined;
  const states = await cluster.states();
  return `${wrong.length} lives not joined once: ${wrong.map((l) => `${l}: ${placement.get(l)?.join('+') ?? 'nobody'} (${states.get(l) ?? '-'}, ${tiktok.stats.openSockets(l)} sockets)`).join(', ')}`;
}

/** A command answered by whichever node holds the gateway (none connected: tried again until `timeoutMs`). */
export async function clusterCommand(discord: FakeDiscord, input: InteractionInput, timeoutMs: number): Promise<PostedMessage> {
  // Right after a SIGKILL the fake may still count the dead node's socket for a moment: a user whose
  // command met no bot sends it again, and so does this.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await waitFor(() => discord.connectedClients === 1, timeoutMs, () => 'a node to hold the gateway');
    try {
      return await discord.interact(input).final(15_000);
    } catch (err) {
      if (Date.now() > deadline || !String(err).includes('no client is logged in')) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Polls an async condition every 250 ms until true; fails with `describe()` after `timeoutMs`. */
export async function waitForAsync(condition: () => Promise<boolean>, timeoutMs: number, describe: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${await describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
