/**
 * Every default of the cluster (src/cluster/): what a user gets with CLUSTER=true. The takeover of a dead
 * node's lives is BullMQ's stalled-job recovery, so its bound is lockDurationMs + stalledIntervalMs (a dead
 * node's lock lapses, the next stalled check moves its jobs back to wait), well under the 30 s promised.
 */
export const CLUSTER_DEFAULTS = {
  /** Key prefix (Redis) or schema (Postgres) of every BullMQ queue in the shared database. */
  prefix: 'clipbot',
  timings: {
    /** A job's lock; BullMQ renews it every half of this while the node's worker lives. */
    lockDurationMs: 10_000,
    /** How often every worker looks for jobs whose lock lapsed (a node gone) and hands them on. */
    stalledIntervalMs: 5_000,
    /** How often a node rewrites its record (lives, load) and re-reads the others'. */
    heartbeatMs: 3_000,
    /** A node record not rewritten for this long is a node gone: the others' shares grow at once. */
    nodeTtlMs: 10_000,
    /** A live refused by a node at its share waits this long before any node may take it. */
    refuseDelayMs: 1_000,
    /** How often every stored stream is checked to have its watch job (a job lost to a failure comes back). */
    reconcileMs: 30_000,
  },
  /**
   * A watch job never fails for stalling: it stalls each time its node dies, which over months is many
   * times. (BullMQ fails a job that stalled more than maxStalledCount times.)
   */
  maxStalledCount: 1_000_000_000,
  /** Each window of the cluster's connect budget is this much longer than the signing service's. */
  connectWindowMarginMs: 2_000,
  /** A /clip or a press the gateway node sends to the node that must do it (node-tasks.ts). */
  routing: {
    /** A node that has not taken the work by then is not answering: the work is taken back, never done. */
    takeMs: 8_000,
    /** The longest the gateway waits for the answer: well under the 15 minutes an interaction's token lives. */
    answerMs: 10 * 60_000,
    /** How often the gateway looks at the work's state (and whether its node is still in the cluster). */
    checkMs: 1_000,
  },
} as const;

export type ClusterTimings = { readonly [K in keyof typeof CLUSTER_DEFAULTS.timings]: number };
export type RoutingTimings = { readonly [K in keyof typeof CLUSTER_DEFAULTS.routing]: number };
