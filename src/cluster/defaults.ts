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
} as const;

export type ClusterTimings = { readonly [K in keyof typeof CLUSTER_DEFAULTS.timings]: number };
