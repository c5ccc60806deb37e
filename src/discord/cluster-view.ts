/**
 * What the commands see of a cluster (CLUSTER=true): declared here, beside the command context, so the
 * Discord stage never imports the cluster; src/cluster/ implements it (cluster-node.ts, node-registry.ts).
 */

/** A node as /status shows it. */
export interface NodeRecord {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** Holds the Discord gateway (commands, buttons). */
  readonly isGateway: boolean;
  /** The lives this node watches, with each one's state. */
  readonly lives: Readonly<Record<string, string>>;
  /** Stream-capture buffers running on this node (its capture load). */
  readonly buffers: number;
  readonly clipsDir: string;
  /** ISO time of its last heartbeat. */
  readonly seenAt: string;
}

/** The cluster as /status shows it. */
export interface ClusterView {
  readonly nodeId: string;
  nodes(): Promise<NodeRecord[]>;
}
