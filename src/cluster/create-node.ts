import type { Client } from 'discord.js';
import type { Logger } from 'pino';
import type { Command } from '../discord/command.js';
import type { InteractionRouting } from '../discord/routed.js';
import type { FiledOn } from '../store/settings-schema.js';
import { logIn } from '../discord/discord-client.js';
import { registerCommandsAtStart } from '../discord/register-commands.js';
import { acquireInstanceLock } from '../instance-lock.js';
import type { ClusterView } from '../discord/cluster-view.js';
import type { ClusterNode, NodeParts } from './cluster-node.js';
import type { ClusterTimings } from './defaults.js';

/** What the rest of the bot sees of how it runs: alone (the default) or as one node of a cluster. */
export interface BotNode {
  /** What the settings service tells when a guild's streams change (alone: the monitor itself). */
  readonly watcher: {
    watch(guildId: string, username: string): void;
    unwatch(guildId: string, username: string): Promise<void>;
  };
  /** A guild's settings changed here (a cluster tells the other nodes). */
  guildChanged(guildId: string): void;
  /** Alone: logs in to the gateway. In a cluster: REST only; the gateway goes to whichever node holds its job. */
  connectDiscord(): Promise<void>;
  /** In a cluster: takes part (its share of the lives, a turn at the gateway). Alone: nothing. */
  join(): Promise<void>;
  /** In a cluster: hands its lives and the gateway to the other nodes. Alone: nothing. */
  leave(): Promise<void>;
  /** Releases the clips folder's instance lock (the last step of a stop). */
  release(): Promise<void>;
  /** A connect budget shared with the other nodes (after this process's own); undefined when alone. */
  readonly connectGate: ((signal: AbortSignal) => Promise<void>) | undefined;
  /** /healthz: Discord can be used from here. */
  isDiscordReady(): boolean;
  /** /healthz: this node in its cluster; undefined when alone. */
  health(): ReturnType<ClusterNode['health']> | undefined;
  /** The cluster for /status; undefined when alone. */
  readonly cluster: ClusterView | undefined;
  /** Sends /clip and the buttons to the node that must do them; undefined when alone (all runs here). */
  readonly routing: InteractionRouting | undefined;
  /** This node, recorded on each clip it files; undefined when alone. */
  readonly filedOn: FiledOn | undefined;
}

/**
 * How this process runs. Alone, as before clusters: one bot per clips folder (the instance lock), the
 * monitor watching every stored stream. With CLUSTER=true: a node of the cluster on the shared Redis or
 * Postgres DATABASE_URL (cluster-node.ts); each node still has its own clips folder, so it still takes the lock.
 */
export async function createNode(
  config: { readonly cluster: boolean; readonly databaseUrl: string; readonly clipsDir: string; readonly discordToken: string; readonly discordGuildId: string | undefined },
  deps: { readonly parts: () => NodeParts; readonly commands: readonly Command[]; readonly timings?: Partial<ClusterTimings> | undefined; readonly log: Logger },
): Promise<BotNode> {
  // First, before anything connects: a second copy on the same clips folder must change nothing.
  const lock = await acquireInstanceLock(config.clipsDir, deps.log.child({ component: 'instance-lock' }));
  const openGateway = async () => {
    const { client } = deps.parts();
    await logIn(client, config.discordToken);
    await registerCommandsAtStart(client as Client<true>, deps.commands, config.discordGuildId, deps.log);
  };
  if (!config.cluster) {
    return {
      watcher: { watch: (g, u) => deps.parts().monitor.watch(g, u), unwatch: (g, u) => deps.parts().monitor.unwatch(g, u) },
      guildChanged: () => undefined,
      connectDiscord: openGateway,
      join: async () => undefined,
      leave: async () => undefined,
      release: () => lock.release(),
      connectGate: undefined,
      isDiscordReady: () => deps.parts().client.isReady(),
      health: () => undefined,
      cluster: undefined,
      routing: undefined,
      filedOn: undefined,
    };
  }
  // BullMQ and ioredis (about 20 MB of memory) only for a node of a cluster, never for a bot alone.
  const { ClusterNode } = await import('./cluster-node.js');
  const node = new ClusterNode({
    databaseUrl: config.databaseUrl,
    clipsDir: config.clipsDir,
    discordToken: config.discordToken,
    openGateway,
    parts: deps.parts,
    ...(deps.timings ? { timings: deps.timings } : {}),
    log: deps.log.child({ component: 'cluster' }),
  });
  return {
    watcher: node.watcher,
    guildChanged: (guildId) => node.guildChanged(guildId),
    connectDiscord: () => node.connectDiscord(),
    join: () => node.join(),
    leave: () => node.leave(),
    release: () => lock.release(),
    connectGate: node.connectGate,
    isDiscordReady: () => node.isDiscordReady(),
    health: () => node.health(),
    cluster: node,
    routing: node.routing,
    filedOn: node.filedOn,
  };
}
