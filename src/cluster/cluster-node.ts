/**
 * One node of a cluster (CLUSTER=true): several bot processes on one shared Redis or Postgres run as one bot.
 *
 * - Each watched live is one BullMQ job (id: the TikTok user), held by the node that watches it for as
 *   long as it does (held-jobs.ts). A node takes at most its share, ceil(lives / nodes), so lives spread
 *   evenly; a node above its share (one joined) hands the extra back to wait and another takes them.
 * - The Discord gateway is one more held job: the node holding it logs in and answers commands; every
 *   node posts its own clips' alerts through Discord's REST API and the shared outbox.
 * - A guild's settings changed on the gateway node reach every node as a BullMQ custom event, and each
 *   node reads that guild again from the store.
 * - A /clip or a review button the gateway received runs on the node watching the live or that filed the
 *   clip: a job on that node's own queue (interaction-routing.ts, node-tasks.ts).
 * A node that dies stops renewing its locks: BullMQ's stalled check hands its jobs to the others.
 */
import type { QueueEvents, QueueEventsProducer } from 'bullmq';
import type { Client } from 'discord.js';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import { webhookAnswer, type InteractionAnswer, type RoutedTask } from '../discord/routed.js';
import type { StoreRows } from '../store/bot-store.js';
import type { FiledOn } from '../store/settings-schema.js';
import { errorMessage } from '../util/text.js';
import { CLUSTER_DEFAULTS, type ClusterTimings } from './defaults.js';
import { openEngine, type ClusterEngine } from './engine.js';
import { HeldJobs, type ReleaseReason } from './held-jobs.js';
import { ClusterRouting } from './interaction-routing.js';
import type { ClusterView } from '../discord/cluster-view.js';
import { NodeRegistry, type NodeRecord } from './node-registry.js';
import { NodeTasks } from './node-tasks.js';
import { SharedConnectBudget } from './shared-connect-budget.js';

/** The parts of the bot a node drives (built after the node, so handed over as a getter). */
export interface NodeParts {
  readonly client: Client;
  /** This process's own stream monitor. */
  readonly monitor: {
    watch(guildId: string, username: string): void;
    unwatch(guildId: string, username: string): Promise<void>;
    state(username: string): { readonly name: string } | undefined;
    connectBudgetInfo(): { readonly windows: ReadonlyArray<{ readonly limit: number; readonly windowMs: number }> };
  };
  readonly settings: {
    /** Reads a guild again from the store (another node changed it). */
    refresh(guildId: string): Promise<void>;
    /** Guilds known here whose streams include this user. */
    guildsWatching(username: string): string[];
    knownGuildIds(): string[];
    get(guildId: string): { readonly streams: ReadonlyArray<{ readonly username: string }> };
  };
  readonly store: { guildIds(): Promise<string[]>; rows(): StoreRows };
  /** Stream capture's buffers here (the node's capture load). */
  readonly streamBuffers: { state(username: string): unknown };
  /** Carries out a /clip or a press the gateway node routed here, answering through its webhook. */
  readonly interactions: { runRouted(task: RoutedTask, answer: InteractionAnswer): Promise<boolean> };
}

const GUILD_CHANGED = 'guild-changed';

export class ClusterNode implements ClusterView {
  readonly nodeId = `${os.hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  private readonly engine: ClusterEngine;
  private readonly registry: NodeRegistry;
  private readonly lives: HeldJobs<{ username: string }>;
  private readonly gateway: HeldJobs<Record<string, never>>;
  private readonly broadcast: QueueEventsProducer;
  private readonly connects: SharedConnectBudget;
  private readonly tasks: NodeTasks;
  /** Where this node's clips are filed, recorded on each (the buttons and /clips find the node by it). */
  readonly filedOn: FiledOn;
  /** Sends a /clip or a press the gateway received to the node that must do it. */
  readonly routing: ClusterRouting;
  private events: QueueEvents | undefined;
  /** The guilds each held live is watched for here. */
  private readonly liveGuilds = new Map<string, Set<string>>();
  private share = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private reconcile: NodeJS.Timeout | undefined;
  private isLeaving = false;
  private readonly timings: ClusterTimings;

  constructor(
    private readonly options: {
      /** The shared Redis or Postgres (engine.ts). */
      readonly databaseUrl: string;
      readonly clipsDir: string;
      readonly discordToken: string;
      /** Logs in to the gateway and registers the commands (this node now answers them). */
      readonly openGateway: () => Promise<void>;
      readonly parts: () => NodeParts;
      readonly timings?: Partial<ClusterTimings>;
      readonly log: Logger;
    },
  ) {
    const log = options.log;
    this.timings = { ...CLUSTER_DEFAULTS.timings, ...options.timings };
    this.engine = openEngine(options.databaseUrl, log);
    this.registry = new NodeRegistry(() => this.options.parts().store.rows(), this.timings.nodeTtlMs);
    const common = { engine: this.engine, nodeId: this.nodeId, timings: this.timings };
    this.lives = new HeldJobs({
      ...common,
      name: 'watch',
      // The share below is the real limit; this only bounds a node that sees no others (MAX share).
      concurrency: 10_000,
      log: log.child({ component: 'cluster-lives' }),
      work: {
        mayTake: () => !this.isLeaving && this.lives.held().length < this.share,
        begin: (username) => this.beginLive(username),
        end: (username, _data, reason) => this.endLive(username, reason),
      },
    });
    this.gateway = new HeldJobs({
      ...common,
      name: 'gateway',
      concurrency: 1,
      log: log.child({ component: 'cluster-gateway' }),
      work: {
        mayTake: () => !this.isLeaving,
        begin: async () => {
          await this.options.openGateway();
          log.info({ node: this.nodeId }, 'this node holds the Discord gateway');
          return true;
        },
        end: async () => {
          const { client } = this.options.parts();
          await client.destroy();
          // Alerts still go out from here through REST.
          client.rest.setToken(this.options.discordToken);
        },
      },
    });
    this.connects = new SharedConnectBudget({
      engine: this.engine,
      nodeId: this.nodeId,
      windows: () => this.options.parts().monitor.connectBudgetInfo().windows,
      log: log.child({ component: 'cluster-connects' }),
    });
    this.broadcast = this.engine.producer('settings');
    this.filedOn = { node: this.nodeId, host: os.hostname(), clipsDir: options.clipsDir };
    this.tasks = new NodeTasks({
      engine: this.engine,
      nodeId: this.nodeId,
      run: (work) => {
        const parts = this.options.parts();
        return parts.interactions.runRouted(work.task, webhookAnswer(parts.client, work.interaction));
      },
      timings: { ...CLUSTER_DEFAULTS.routing, lockDurationMs: this.timings.lockDurationMs },
      log: log.child({ component: 'cluster-tasks' }),
    });
    this.routing = new ClusterRouting({ nodeId: this.nodeId, tasks: this.tasks, nodes: () => this.registry.nodes(), holderOf: (live) => this.lives.holder(live) });
  }

  /** The StreamWatcher the settings service drives: a watched stream has its job, somewhere. */
  readonly watcher = {
    watch: (_guildId: string, username: string): void => {
      void this.lives.ensure(username, { username }).catch((err: unknown) => this.options.log.error({ err: errorMessage(err), stream: username }, 'could not queue the live for the cluster'));
    },
    // The node holding it learns of the change through the guild's broadcast (guildChanged).
    unwatch: async (): Promise<void> => undefined,
  };

  /** Every connect of this node's monitor passes the cluster's one connect budget too. */
  readonly connectGate = (signal: AbortSignal): Promise<void> => this.connects.pass(signal);

  /** A guild's settings were changed here: every node reads them again. */
  guildChanged(guildId: string): void {
    void this.broadcast.publishEvent({ eventName: GUILD_CHANGED, guildId }).catch((err: unknown) => this.options.log.error({ err: errorMessage(err), guildId }, 'could not tell the other nodes about a settings change'));
  }

  /** Discord's REST API (alerts, notices) from any node; the gateway is the gateway job's. */
  async connectDiscord(): Promise<void> {
    const { client, store } = this.options.parts();
    client.rest.setToken(this.options.discordToken);
    await this.fetchGuilds(await store.guildIds());
  }

  isDiscordReady(): boolean {
    return !this.isLeaving;
  }

  isGateway(): boolean {
    return this.gateway.held().length > 0;
  }

  health(): { readonly node: string; readonly gateway: boolean; readonly lives: readonly string[]; readonly states: Readonly<Record<string, string>> } {
    const lives = this.lives.held().sort();
    const { monitor } = this.options.parts();
    return { node: this.nodeId, gateway: this.isGateway(), lives, states: Object.fromEntries(lives.map((u) => [u, monitor.state(u)?.name ?? 'idle'])) };
  }

  async nodes(): Promise<NodeRecord[]> {
    return this.registry.nodes();
  }

  async join(): Promise<void> {
    const log = this.options.log;
    this.events = this.engine.events('settings');
    this.events.on('error', (err) => log.warn({ err: err.message }, 'cluster events trouble'));
    (this.events as unknown as NodeJS.EventEmitter).on(GUILD_CHANGED, (args: { guildId?: unknown }) => {
      if (typeof args.guildId === 'string') void this.onGuildChanged(args.guildId).catch((err: unknown) => log.error({ err: errorMessage(err) }, 'could not apply a settings change'));
    });
    await this.events.waitUntilReady();
    this.tasks.start();
    // Known to the others (and our share known) before taking any live.
    await this.beat();
    await this.gateway.ensure('gateway', {});
    this.lives.start();
    this.gateway.start();
    this.heartbeat = setInterval(() => void this.beat().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'cluster heartbeat failed')), this.timings.heartbeatMs);
    this.reconcile = setInterval(() => void this.ensureEveryLive().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'cluster reconcile failed')), this.timings.reconcileMs);
    log.info({ node: this.nodeId, share: this.share }, 'joined the cluster');
  }

  /** Hands every live and the gateway on to the other nodes at once, then closes. */
  async leave(): Promise<void> {
    if (this.isLeaving) return;
    this.isLeaving = true;
    clearInterval(this.heartbeat);
    clearInterval(this.reconcile);
    // Gone from the others' count first, so their shares grow before our lives come back to wait.
    await this.registry.leave(this.nodeId).catch(() => undefined);
    await this.gateway.stop();
    await this.lives.stop();
    await this.tasks.close();
    await this.connects.close();
    await this.events?.close();
    await this.broadcast.close();
    await this.engine.close();
  }

  private async beat(): Promise<void> {
    const parts = this.options.parts();
    const held = this.lives.held();
    const lives: Record<string, string> = {};
    for (const username of held) lives[username] = parts.monitor.state(username)?.name ?? 'idle';
    await this.registry.beat({
      id: this.nodeId,
      host: os.hostname(),
      pid: process.pid,
      isGateway: this.isGateway(),
      lives,
      buffers: held.filter((u) => parts.streamBuffers.state(u) !== undefined).length,
      clipsDir: this.options.clipsDir,
      seenAt: new Date().toISOString(),
    });
    const others = await this.registry.nodes();
    const nodes = Math.max(1, others.length);
    await this.tasks.forget(new Set(others.map((n) => n.id)));
    this.share = Math.ceil((await this.lives.total()) / nodes);
    // Above our share (a node joined): the extra go back to wait for a node with room.
    for (const username of held.slice(this.share)) this.lives.release(username, 'handover');
    await this.gateway.ensure('gateway', {});
  }

  private async ensureEveryLive(): Promise<void> {
    const parts = this.options.parts();
    const usernames = new Set<string>();
    for (const guildId of await parts.store.guildIds()) await parts.settings.refresh(guildId);
    for (const guildId of parts.settings.knownGuildIds()) for (const s of parts.settings.get(guildId).streams) usernames.add(s.username);
    for (const username of usernames) await this.lives.ensure(username, { username });
  }

  private async beginLive(username: string): Promise<boolean> {
    const parts = this.options.parts();
    const guildIds = await parts.store.guildIds();
    for (const guildId of guildIds) await parts.settings.refresh(guildId);
    const watching = parts.settings.guildsWatching(username);
    if (watching.length === 0) return false;
    await this.fetchGuilds(watching);
    this.liveGuilds.set(username, new Set(watching));
    for (const guildId of watching) parts.monitor.watch(guildId, username);
    this.options.log.info({ stream: username, node: this.nodeId }, 'watching this live for the cluster');
    return true;
  }

  private async endLive(username: string, reason: ReleaseReason): Promise<void> {
    const guilds = this.liveGuilds.get(username) ?? new Set<string>();
    this.liveGuilds.delete(username);
    const { monitor } = this.options.parts();
    for (const guildId of guilds) await monitor.unwatch(guildId, username);
    this.options.log.info({ stream: username, reason }, 'stopped watching this live here');
  }

  /** Another node (or this one) changed a guild: read it again, and follow it on the lives held here. */
  private async onGuildChanged(guildId: string): Promise<void> {
    const parts = this.options.parts();
    await parts.settings.refresh(guildId);
    await this.fetchGuilds([guildId]);
    for (const [username, guilds] of this.liveGuilds) {
      const now = new Set(parts.settings.guildsWatching(username));
      if (now.size === 0) {
        this.lives.release(username, 'unwanted');
        continue;
      }
      for (const g of now) if (!guilds.has(g)) parts.monitor.watch(g, username);
      for (const g of guilds) if (!now.has(g)) await parts.monitor.unwatch(g, username);
      this.liveGuilds.set(username, now);
    }
  }

  /** Delivery through REST finds a channel only when its guild is known to the client. */
  private async fetchGuilds(guildIds: readonly string[]): Promise<void> {
    const { client } = this.options.parts();
    for (const guildId of guildIds) {
      if (client.guilds.cache.has(guildId)) continue;
      await client.guilds.fetch(guildId).catch((err: unknown) => this.options.log.warn({ guildId, err: errorMessage(err) }, 'could not read the guild from Discord'));
    }
  }
}
